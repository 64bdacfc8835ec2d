"""The artifact's piece list: how an agent checks each ranged read on its own, before the whole is there.

The build worker computes the same two functions when it stores an artifact: the piece list travels next to
the artifact in the bucket, and the piece root (one hash over the list) goes into the goal the control
plane writes. A piece list is only believed once its root matches the goal's.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass


def piece_hashes(data: bytes, piece_bytes: int) -> list[str]:
    """The hex sha256 of each piece_bytes-long slice of data, in order; the last piece may be short."""
    if piece_bytes <= 0:
        raise ValueError("piece_bytes must be positive")
    return [hashlib.sha256(data[start : start + piece_bytes]).hexdigest() for start in range(0, len(data), piece_bytes)]


def piece_root(hashes: list[str]) -> str:
    """The hex sha256 of the raw 32-byte piece digests concatenated in order."""
    return hashlib.sha256(b"".join(bytes.fromhex(digest) for digest in hashes)).hexdigest()


def piece_count(artifact_bytes: int, piece_bytes: int) -> int:
    return -(-artifact_bytes // piece_bytes)


def piece_span(index: int, piece_bytes: int, artifact_bytes: int) -> tuple[int, int]:
    """The piece's first and last byte (inclusive, as an HTTP Range says it)."""
    start = index * piece_bytes
    return start, min(start + piece_bytes, artifact_bytes) - 1


class PieceListRejected(Exception):
    """The piece list is not the one the goal vouches for (or not a piece list at all)."""


@dataclass(frozen=True)
class PieceList:
    piece_bytes: int
    pieces: tuple[str, ...]

    @classmethod
    def parse(cls, raw: bytes, *, piece_bytes: int, root: str, artifact_bytes: int) -> PieceList:
        """The piece list in raw, once it matches the goal: its piece size, its root, its length."""
        try:
            document = json.loads(raw)
            listed_bytes = int(document["pieceBytes"])
            pieces = tuple(str(digest).lower() for digest in document["pieces"])
            computed_root = piece_root(list(pieces))
        except (ValueError, KeyError, TypeError) as error:
            raise PieceListRejected(f"not a piece list: {error}") from error
        if listed_bytes != piece_bytes:
            raise PieceListRejected(f"piece list says {listed_bytes}-byte pieces, the goal {piece_bytes}")
        if computed_root != root.lower():
            raise PieceListRejected(f"piece list root {computed_root} is not the goal's {root}")
        if len(pieces) != piece_count(artifact_bytes, piece_bytes):
            raise PieceListRejected(f"{len(pieces)} pieces listed for {artifact_bytes} bytes")
        return cls(piece_bytes, pieces)
