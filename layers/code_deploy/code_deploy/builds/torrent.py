"""The artifact's torrent: what lets a region's hosts fetch it from each other (the agent's peer to peer
download, docs/p2p.md), the bucket only their origin.

BitTorrent v1 metainfo (BEP 3) for the one file, beside the artifact as `<key>.torrent` in every bucket.
The engine checks every piece a peer sends against the SHA-1 hashes in its info dictionary; the info
dictionary is believed only when its hash is the goal's `infoHash` (from the build's record, as the piece
root is); and the whole file must still have the goal's sha256 before anything of it is installed. So a
peer, like a tampered bucket, can send bad bytes but never get them installed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import BinaryIO

from code_deploy.builds.artifact import is_piece_list, pieces_key

TORRENT_SUFFIX = ".torrent"
# Small pieces spread through a swarm fast (a piece is passed on once it is whole); big artifacts get
# bigger pieces so the info dictionary stays small (at most MAX_PIECES hashes of 20 bytes: 640 KB).
MIN_PIECE_BYTES = 128 * 1024
MAX_PIECES = 32768


def torrent_key(artifact_key: str) -> str:
    """Where an artifact's torrent lies beside it, in every bucket it is in."""
    return f"{artifact_key}{TORRENT_SUFFIX}"


def is_torrent(key: str) -> bool:
    return key.endswith(TORRENT_SUFFIX)


def companion_keys(artifact_key: str) -> tuple[str, str]:
    """What travels beside an artifact in every bucket: its piece list and its torrent."""
    return pieces_key(artifact_key), torrent_key(artifact_key)


def is_companion(key: str) -> bool:
    """Whether the key is an artifact's piece list or torrent: copied with its artifact, never on its own."""
    return is_piece_list(key) or is_torrent(key)


def torrent_piece_bytes(artifact_bytes: int) -> int:
    """The smallest power of two, MIN_PIECE_BYTES or more, that keeps the artifact to MAX_PIECES pieces."""
    piece_bytes = MIN_PIECE_BYTES
    while -(-artifact_bytes // piece_bytes) > MAX_PIECES:
        piece_bytes *= 2
    return piece_bytes


def bencode(value: int | bytes | str | list | dict) -> bytes:
    """BEP 3's encoding: integers, byte strings, lists, and dictionaries with sorted byte-string keys."""
    if isinstance(value, bool) or not isinstance(value, int | bytes | str | list | dict):
        raise TypeError(f"cannot bencode {type(value).__name__}")
    if isinstance(value, int):
        return b"i%de" % value
    if isinstance(value, str):
        value = value.encode()
    if isinstance(value, bytes):
        return b"%d:%s" % (len(value), value)
    if isinstance(value, list):
        return b"l" + b"".join(bencode(item) for item in value) + b"e"
    keys = sorted((key.encode() if isinstance(key, str) else key, item) for key, item in value.items())
    return b"d" + b"".join(bencode(key) + bencode(item) for key, item in keys) + b"e"


@dataclass(frozen=True)
class Torrent:
    metainfo: bytes  # the .torrent file
    info_hash: str  # hex SHA-1 of the bencoded info dictionary: what the goal vouches for

    @classmethod
    def of(cls, content: BinaryIO, name: str) -> Torrent:
        """The torrent of a file read from its start, named `name` (the file a host's engine writes)."""
        content.seek(0, 2)
        length = content.tell()
        piece_bytes = torrent_piece_bytes(length)
        content.seek(0)
        hashes = bytearray()
        while piece := content.read(piece_bytes):
            hashes += hashlib.sha1(piece, usedforsecurity=False).digest()
        info = {"length": length, "name": name, "piece length": piece_bytes, "pieces": bytes(hashes)}
        encoded_info = bencode(info)
        return cls(
            metainfo=bencode({"created by": "sam-code-deploy", "info": info}),
            info_hash=hashlib.sha1(encoded_info, usedforsecurity=False).hexdigest(),
        )
