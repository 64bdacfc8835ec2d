"""`deployctl push <dir>`: an application's directory as the zip a build is made of, and the commit it is
filed under.

The zip is deterministic: entries in sorted order, each with its file mode (hooks stay executable) and one
fixed time, so the same directory always makes the same bytes, and a directory outside git is named by
their hash. `.git` and `__pycache__` directories are left out, and symlinked directories are not followed
(a symlinked file is zipped as the file it points to).
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import subprocess
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from deployctl.api import DeployctlError

HOOKS_FILE = "deploy.yaml"
LEFT_OUT = frozenset({".git", "__pycache__"})
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the zip format's earliest: no entry's time changes the bytes
_COMMIT = re.compile(r"^[0-9a-f]{7,64}$")
COMMIT_HASH_DIGITS = 40  # a content hash stands for a commit: as long as a SHA-1 commit's name


@dataclass(frozen=True)
class Package:
    files: int
    size: int  # bytes of the zip
    sha256: str  # of the zip


def application_files(directory: Path) -> list[str]:
    """The directory's files to zip, as paths relative to it, sorted; DeployctlError without a hooks file."""
    if not directory.is_dir():
        raise DeployctlError(f"{directory}: not a directory")
    if not (directory / HOOKS_FILE).is_file():
        raise DeployctlError(
            f"{directory} has no {HOOKS_FILE}: an application's directory holds its hooks file at its top "
            "(its format: docs/agent.md; an example: examples/hello)"
        )
    found = []
    for parent, subdirectories, names in os.walk(directory):
        subdirectories[:] = [name for name in subdirectories if name not in LEFT_OUT]
        for name in names:
            path = Path(parent, name)
            if path.is_file():  # a symlink to a file counts as the file; a dangling one, a socket ... do not
                found.append(path.relative_to(directory).as_posix())
    return sorted(found)


def package(directory: Path, into: BinaryIO) -> Package:
    """Zips the application's directory into a file; its size and sha256."""
    names = application_files(directory)
    with zipfile.ZipFile(into, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in names:
            path = directory / name
            entry = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
            # The mode in the high 16 bits of the external attributes, as unzip and the host agent read it.
            entry.external_attr = (stat.S_IFREG | stat.S_IMODE(path.stat().st_mode)) << 16
            entry.compress_type = zipfile.ZIP_DEFLATED
            with path.open("rb") as source, archive.open(entry, "w") as target:
                while chunk := source.read(1024 * 1024):
                    target.write(chunk)
    size = into.tell()
    into.seek(0)
    digest = hashlib.sha256()
    while chunk := into.read(1024 * 1024):
        digest.update(chunk)
    into.seek(0)
    return Package(files=len(names), size=size, sha256=digest.hexdigest())


def default_commit(directory: Path, sha256: str) -> str:
    """The commit checked out where the directory is (git HEAD), else the zip's content hash (its first 40
    hex digits): what the build is filed under when --commit does not say."""
    try:
        head = subprocess.run(
            ["git", "-C", str(directory), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        head = None
    commit = head.stdout.strip() if head and head.returncode == 0 else ""
    return commit if _COMMIT.fullmatch(commit) else sha256[:COMMIT_HASH_DIGITS]
