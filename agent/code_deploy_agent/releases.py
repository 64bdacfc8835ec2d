"""Releases on the host's disk: `releases/<buildId>/` each, `current` a symlink to one of them.

A release only ever gets its name once it is complete: it is unpacked into `releases/.staging-<buildId>`,
every file synced, then renamed. `current` changes in one step: a new symlink next to it, renamed over it
(rename is atomic), so whoever follows `current` finds a whole release, the old one or the new one.
"""

from __future__ import annotations

import os
import shutil
import stat
import zipfile
from pathlib import Path, PurePosixPath

from code_deploy_agent.state import AgentPaths, fsync_directory

STAGING_PREFIX = ".staging-"


def current_build(paths: AgentPaths) -> str | None:
    """The build whose release `current` points at; None without `current`, or when it points anywhere but
    at a release (a change by hand can make it so)."""
    try:
        target = os.readlink(paths.current)
    except OSError:
        return None
    resolved = Path(os.path.realpath(paths.root / target))
    if resolved.parent != Path(os.path.realpath(paths.releases)) or resolved.name.startswith("."):
        return None
    return resolved.name if resolved.is_dir() else None


def has_release(paths: AgentPaths, build_id: str) -> bool:
    return paths.release(build_id).is_dir()


def cached_builds(paths: AgentPaths) -> list[str]:
    if not paths.releases.is_dir():
        return []
    return sorted(entry.name for entry in paths.releases.iterdir() if entry.is_dir() and not entry.name.startswith("."))


def _member_path(root: Path, name: str) -> Path:
    """Where a zip member goes: inside root, whatever its name says (no absolute paths, no `..`)."""
    parts = [part for part in PurePosixPath(name).parts if part not in ("", ".", "..", "/")]
    return root.joinpath(*parts) if parts else root


def _sync_tree(root: Path) -> None:
    for directory, _, files in os.walk(root, topdown=False):
        for name in files:
            descriptor = os.open(os.path.join(directory, name), os.O_RDONLY)
            try:
                os.fsync(descriptor)
            finally:
                os.close(descriptor)
        fsync_directory(Path(directory))


def unpack_to_staging(paths: AgentPaths, build_id: str, zip_path: Path) -> Path:
    """Unpacks the artifact into the build's staging directory, keeping each file's Unix mode (hook scripts
    stay executable), every file synced to disk."""
    staging = paths.staging(build_id)
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    with zipfile.ZipFile(zip_path) as archive:
        for member in archive.infolist():
            destination = _member_path(staging, member.filename)
            if member.is_dir():
                destination.mkdir(parents=True, exist_ok=True)
                continue
            destination.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(member) as source, open(destination, "wb") as target:
                shutil.copyfileobj(source, target)
            mode = member.external_attr >> 16
            if mode and stat.S_ISREG(mode):
                os.chmod(destination, stat.S_IMODE(mode))
    _sync_tree(staging)
    return staging


def move_into_place(paths: AgentPaths, build_id: str) -> Path:
    """Gives the complete staging directory the release's name (replacing a leftover of the same build
    that is neither current nor running)."""
    release = paths.release(build_id)
    if release.exists():
        shutil.rmtree(release)
    os.rename(paths.staging(build_id), release)
    fsync_directory(paths.releases)
    touch_release(paths, build_id)
    return release


def switch_current(paths: AgentPaths, build_id: str) -> None:
    """Points `current` at the build's release in one atomic rename."""
    temporary = paths.root / ".current.tmp"
    temporary.unlink(missing_ok=True)
    os.symlink(f"{paths.releases.name}/{build_id}", temporary)
    os.replace(temporary, paths.current)
    fsync_directory(paths.root)


def clear_current(paths: AgentPaths) -> None:
    """No release is current any more (a first install that failed after its switch)."""
    paths.current.unlink(missing_ok=True)
    fsync_directory(paths.root)


def touch_release(paths: AgentPaths, build_id: str) -> None:
    """Marks the release as just used: pruning keeps the most recently installed or activated ones."""
    os.utime(paths.release(build_id))


def remove_release(paths: AgentPaths, build_id: str) -> None:
    release = paths.release(build_id)
    if release.exists():
        shutil.rmtree(release)


def discard_staging(paths: AgentPaths) -> None:
    if not paths.releases.is_dir():
        return
    for entry in paths.releases.iterdir():
        if entry.name.startswith(STAGING_PREFIX):
            shutil.rmtree(entry)


def prune(paths: AgentPaths, keep: int, protected: set[str]) -> list[str]:
    """Deletes all but the `keep` most recently used releases, never a protected one (current, previous).
    Returns the builds deleted."""
    builds = sorted(cached_builds(paths), key=lambda build: paths.release(build).stat().st_mtime, reverse=True)
    kept = [build for build in builds if build in protected]
    deleted = []
    for build in builds:
        if build in kept:
            continue
        if len(kept) < keep:
            kept.append(build)
        else:
            remove_release(paths, build)
            deleted.append(build)
    return deleted
