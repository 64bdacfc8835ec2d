"""Fetching an artifact from the region's bucket: ranged reads, piece by piece, each checked before it counts.

The hashes come from the goal (written by the control plane from the build's record), never from the bucket
alone: the piece list is believed only once its root is the goal's pieceRoot, and the whole file must have
the goal's sha256, so a tampered copy cannot vouch for itself. Pieces land in `downloads/<buildId>.part` and
the indexes of those verified in `downloads/<buildId>.verified.json`, each synced to disk before the next
read: an agent killed mid-download resumes with what it has.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from code_deploy_agent.host_item import ARTIFACT_MISSING, CHECKSUM
from code_deploy_agent.pieces import PieceList, PieceListRejected, piece_span
from code_deploy_agent.region import Goal, RegionLink
from code_deploy_agent.state import AgentPaths, write_json_atomically

HASH_CHUNK_BYTES = 1024 * 1024


class ArtifactRefused(Exception):
    """The artifact cannot be installed; reason is the report's (checksum, artifact-missing)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class DownloadStopped(Exception):
    """The agent is stopping: the pieces verified so far stay on disk for the next start."""


@dataclass(frozen=True)
class Downloaded:
    path: Path
    seconds: float
    bytes_fetched: int  # what this attempt read from the bucket (a resumed download reads only the rest)
    peer_bytes: int = 0  # what it got from other hosts (code_deploy_agent.p2p)
    resumed_bytes: int = 0  # what an earlier attempt had verified on disk (p2p)


def partial_path(paths: AgentPaths, build_id: str) -> Path:
    return paths.downloads / f"{build_id}.part"


def progress_path(paths: AgentPaths, build_id: str) -> Path:
    return paths.downloads / f"{build_id}.verified.json"


def discard_download(paths: AgentPaths, build_id: str) -> None:
    partial_path(paths, build_id).unlink(missing_ok=True)
    progress_path(paths, build_id).unlink(missing_ok=True)


def write_at(descriptor: int, data: bytes, offset: int) -> None:
    """Writes data at offset in full (os.pwrite may write less than asked)."""
    view = memoryview(data)
    while view:
        written = os.pwrite(descriptor, view, offset)
        view, offset = view[written:], offset + written


def _sha256_of_range(descriptor: int, first: int, last: int) -> str:
    digest = hashlib.sha256()
    offset = first
    while offset <= last:
        chunk = os.pread(descriptor, min(HASH_CHUNK_BYTES, last + 1 - offset), offset)
        if not chunk:
            break
        digest.update(chunk)
        offset += len(chunk)
    return digest.hexdigest()


def _piece_list(region: RegionLink, goal: Goal) -> PieceList:
    raw = region.read_object(goal.pieces_key)
    if raw is None:
        raise ArtifactRefused(ARTIFACT_MISSING, f"no piece list at {goal.pieces_key}")
    try:
        return PieceList.parse(
            raw, piece_bytes=goal.piece_bytes, root=goal.piece_root, artifact_bytes=goal.artifact_bytes
        )
    except PieceListRejected as error:
        raise ArtifactRefused(CHECKSUM, str(error)) from error


def _verified_so_far(paths: AgentPaths, goal: Goal, descriptor: int, pieces: PieceList) -> set[int]:
    """The pieces a previous attempt verified that still hash right on disk (a progress file for another
    artifact, or a piece torn by a crash, counts for nothing)."""
    try:
        progress = json.loads(progress_path(paths, goal.build_id).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return set()
    if progress.get("sha256") != goal.sha256 or progress.get("pieceRoot") != goal.piece_root:
        return set()
    verified = set()
    for index in progress.get("verified", []):
        if isinstance(index, int) and 0 <= index < len(pieces.pieces):
            first, last = piece_span(index, goal.piece_bytes, goal.artifact_bytes)
            if _sha256_of_range(descriptor, first, last) == pieces.pieces[index]:
                verified.add(index)
    return verified


def _save_progress(paths: AgentPaths, goal: Goal, verified: set[int]) -> None:
    write_json_atomically(
        progress_path(paths, goal.build_id),
        {"sha256": goal.sha256, "pieceRoot": goal.piece_root, "verified": sorted(verified)},
    )


class Pace:
    """Keeps a download at or under a rate: after each piece, waits until the bytes read so far are no more
    than the rate allows since the start (0: no cap). Waits on the stop event, so a stopping agent is not held."""

    def __init__(self, bytes_per_second: float, stop: threading.Event) -> None:
        self.bytes_per_second = bytes_per_second
        self.stop = stop
        self.started = time.monotonic()
        self.bytes_read = 0

    def read(self, count: int) -> None:
        self.bytes_read += count
        if self.bytes_per_second > 0:
            ahead = self.bytes_read / self.bytes_per_second - (time.monotonic() - self.started)
            if ahead > 0:
                self.stop.wait(ahead)


def fetch_artifact(
    region: RegionLink, goal: Goal, paths: AgentPaths, stop: threading.Event, *, bytes_per_second: float = 0.0
) -> Downloaded:
    """The goal's artifact, complete and verified, in downloads/; ArtifactRefused when it is missing or does
    not hash to what the goal says (nothing of a refused artifact is kept). bytes_per_second caps the rate
    (0: no cap)."""
    started = time.monotonic()
    pieces = _piece_list(region, goal)
    size = region.object_size(goal.artifact_key)
    if size is None:
        raise ArtifactRefused(ARTIFACT_MISSING, f"no artifact at {goal.artifact_key}")
    if size != goal.artifact_bytes:
        raise ArtifactRefused(CHECKSUM, f"{goal.artifact_key} has {size} bytes, the goal says {goal.artifact_bytes}")
    paths.downloads.mkdir(parents=True, exist_ok=True)
    partial = partial_path(paths, goal.build_id)
    try:
        descriptor = os.open(partial, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            pace = Pace(bytes_per_second, stop)
            fetched = _fetch_missing_pieces(region, goal, paths, pieces, descriptor, pace)
            if _sha256_of_range(descriptor, 0, goal.artifact_bytes - 1) != goal.sha256:
                raise ArtifactRefused(CHECKSUM, f"{goal.artifact_key} does not hash to the goal's sha256")
        finally:
            os.close(descriptor)
    except ArtifactRefused:
        discard_download(paths, goal.build_id)
        raise
    return Downloaded(partial, time.monotonic() - started, fetched)


def _fetch_missing_pieces(
    region: RegionLink, goal: Goal, paths: AgentPaths, pieces: PieceList, descriptor: int, pace: Pace
) -> int:
    """Reads and writes every piece not verified yet, recording each once it is on disk; the bytes read."""
    verified = _verified_so_far(paths, goal, descriptor, pieces)
    fetched = 0
    for index in range(len(pieces.pieces)):
        if index in verified:
            continue
        if pace.stop.is_set():
            raise DownloadStopped(f"stopped with {len(verified)} of {len(pieces.pieces)} pieces")
        first, last = piece_span(index, goal.piece_bytes, goal.artifact_bytes)
        data = region.read_range(goal.artifact_key, first, last)
        fetched += len(data)
        pace.read(len(data))
        if len(data) != last + 1 - first or hashlib.sha256(data).hexdigest() != pieces.pieces[index]:
            raise ArtifactRefused(CHECKSUM, f"piece {index} of {goal.artifact_key} does not match its hash")
        write_at(descriptor, data, first)
        os.fsync(descriptor)
        verified.add(index)
        _save_progress(paths, goal, verified)
    os.ftruncate(descriptor, goal.artifact_bytes)
    return fetched
