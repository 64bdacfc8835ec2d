"""The build artifact: a real application in a zip (an HTTP server answering GET /health with its build,
its lifecycle hooks in deploy.yaml, a manifest that describes it), padded to the stack's payload size;
and the hashes a host checks it by before anything of it runs.

A host fetches the artifact piece by piece and checks each piece against a piece list that travels with
the artifact (`<key>.pieces.json` beside it in each bucket), and the list against its root, which the
build's record keeps: a tampered copy in a bucket cannot vouch for itself (docs/agent.md, the contract).
"""

from __future__ import annotations

import hashlib
import io
import json
import random
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

MANIFEST_NAME = "manifest.json"
PAYLOAD_NAME = "payload.bin"
HOOKS_FILE = "deploy.yaml"
PIECES_SUFFIX = ".pieces.json"
DEFAULT_PIECE_BYTES = 1024 * 1024
# The application every build deploys, as files of this package (builds/application/).
APPLICATION = Path(__file__).parent / "application"
APPLICATION_FILES = ("deploy.yaml", "server.py", "hooks/start.sh", "hooks/stop.sh", "hooks/validate.sh")
# A zip entry's mode lives in the high 16 bits of its external attributes: the hooks are executable.
_EXECUTABLE, _READABLE = 0o100755 << 16, 0o100644 << 16
_FIXED_TIME = (2020, 1, 1, 0, 0, 0)  # keeps the zip byte-identical across retries of the same build


@dataclass(frozen=True)
class Artifact:
    content: bytes  # the zip file
    payload_sha256: str
    payload_size: int
    manifest: dict

    @property
    def sha256(self) -> str:
        """The whole zip's: what a host checks the artifact it assembled against."""
        return hashlib.sha256(self.content).hexdigest()


@dataclass(frozen=True)
class PieceList:
    """The artifact's pieces' hashes, in order; the last piece may be short."""

    piece_bytes: int
    pieces: tuple[str, ...]  # hex sha256 of each piece

    @classmethod
    def of(cls, content: bytes, piece_bytes: int) -> PieceList:
        if piece_bytes < 1:
            raise ValueError("piece_bytes must be at least 1")
        return cls(piece_bytes, tuple(piece_hashes(content, piece_bytes)))

    @property
    def root(self) -> str:
        return piece_root(self.pieces)

    def to_json(self) -> str:
        return json.dumps({"pieceBytes": self.piece_bytes, "pieces": list(self.pieces)}, separators=(",", ":"))


def hash_file(content: BinaryIO, piece_bytes: int) -> tuple[str, PieceList]:
    """A file's sha256 and its piece list, read a piece at a time from its start: the same hashes as
    `sha256(content)` and `PieceList.of(content)`, for an upload that need not fit in memory."""
    if piece_bytes < 1:
        raise ValueError("piece_bytes must be at least 1")
    whole = hashlib.sha256()
    pieces = []
    content.seek(0)
    while piece := content.read(piece_bytes):
        whole.update(piece)
        pieces.append(hashlib.sha256(piece).hexdigest())
    return whole.hexdigest(), PieceList(piece_bytes, tuple(pieces) or (hashlib.sha256(b"").hexdigest(),))


def piece_hashes(content: bytes, piece_bytes: int) -> list[str]:
    """The hex sha256 of each piece of `content` (the agent computes the same: code_deploy_agent.pieces)."""
    return [
        hashlib.sha256(content[start : start + piece_bytes]).hexdigest()
        for start in range(0, len(content), piece_bytes)
    ] or [hashlib.sha256(b"").hexdigest()]


def piece_root(hashes: tuple[str, ...] | list[str]) -> str:
    """The hex sha256 of the pieces' raw 32-byte digests, in order: one value that vouches for the list."""
    return hashlib.sha256(b"".join(bytes.fromhex(digest) for digest in hashes)).hexdigest()


def pieces_key(artifact_key: str) -> str:
    """Where an artifact's piece list lies beside it, in every bucket it is in."""
    return f"{artifact_key}{PIECES_SUFFIX}"


def is_piece_list(key: str) -> bool:
    return key.endswith(PIECES_SUFFIX)


def simulated_payload(commit: str, build_id: str, size: int) -> bytes:
    """Stands in for the compiled binary. Seeded by commit and build id so that a retried build
    (an SQS message delivered again) produces the very same bytes."""
    return random.Random(f"{commit}:{build_id}").randbytes(size)


def _entry(name: str, mode: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
    info.external_attr = mode
    return info


def build_artifact(commit: str, build_id: str, created_at: str, payload_size: int) -> Artifact:
    payload = simulated_payload(commit, build_id, payload_size)
    payload_sha256 = hashlib.sha256(payload).hexdigest()
    manifest = {
        "commit": commit,
        "buildId": build_id,
        "createdAt": created_at,
        "payload": PAYLOAD_NAME,
        "payloadSize": payload_size,
        "sha256": payload_sha256,
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr(_entry(MANIFEST_NAME, _READABLE), json.dumps(manifest, indent=2, sort_keys=True))
        for name in APPLICATION_FILES:
            mode = _EXECUTABLE if name.endswith(".sh") else _READABLE
            archive.writestr(_entry(name, mode), (APPLICATION / name).read_bytes())
        archive.writestr(_entry(PAYLOAD_NAME, _READABLE), payload)
    return Artifact(buffer.getvalue(), payload_sha256, payload_size, manifest)


def read_manifest(zip_bytes: bytes) -> dict:
    """The manifest of an artifact, after checking the payload against the sha256 it declares."""
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as archive:
        manifest = json.loads(archive.read(MANIFEST_NAME))
        payload = archive.read(manifest["payload"])
    if hashlib.sha256(payload).hexdigest() != manifest["sha256"]:
        raise ValueError("artifact payload does not match the sha256 in its manifest")
    return manifest
