"""What the agent reaches in its region, and the shapes of what it reads and writes there (docs/agent.md).

The agent needs five things from its region: its group's goal (its shard's copy), an update of its own
host item, an object's size, a ranged read of it, and a small object whole (the piece list). `RegionLink`
is that interface: the AWS implementation (aws_region.py) reads DynamoDB and S3, the unit tests give an
in-memory one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

# A build id names a directory under releases/: nothing that could climb out of it or hide it.
BUILD_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


class RegionError(Exception):
    """The region did not answer (network, throttling, an AWS error): try again at the next poll."""


class GoalInvalid(Exception):
    """The goal item lacks a field the contract requires, or holds one the agent cannot use."""


def _number(item: Mapping[str, Any], name: str) -> Decimal:
    try:
        return Decimal(str(item[name]))
    except (KeyError, ArithmeticError) as error:
        raise GoalInvalid(f"goal field {name} missing or not a number") from error


def _text(item: Mapping[str, Any], name: str) -> str:
    value = item.get(name)
    if not isinstance(value, str) or not value:
        raise GoalInvalid(f"goal field {name} missing or not a string")
    return value


def _build_id(value: str, name: str) -> str:
    if not BUILD_ID_PATTERN.match(value):
        raise GoalInvalid(f"goal field {name} is not a build id: {value!r}")
    return value


@dataclass(frozen=True)
class Goal:
    """A group's goal, as each of its copies (`pk = "GOAL#<group>#<NN>"`, one a by-group shard) holds it,
    written by the control plane only."""

    group: str
    build_id: str
    previous_build_id: str | None
    deployment_id: str
    wave: int
    cumulative_percent: Decimal
    artifact_key: str
    artifact_bytes: int
    sha256: str
    piece_bytes: int
    piece_root: str
    pieces_key: str
    updated_at: str | None
    # The artifact's torrent, for the peer to peer download; empty for a build made before torrents.
    info_hash: str = ""
    torrent_key: str = ""

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> Goal:
        previous = item.get("previousBuildId")
        goal = cls(
            group=_text(item, "group"),
            build_id=_build_id(_text(item, "buildId"), "buildId"),
            previous_build_id=_build_id(previous, "previousBuildId") if previous else None,
            deployment_id=_text(item, "deploymentId"),
            wave=int(_number(item, "wave")),
            cumulative_percent=_number(item, "cumulativePercent"),
            artifact_key=_text(item, "artifactKey"),
            artifact_bytes=int(_number(item, "artifactBytes")),
            sha256=_text(item, "sha256").lower(),
            piece_bytes=int(_number(item, "pieceBytes")),
            piece_root=_text(item, "pieceRoot").lower(),
            pieces_key=_text(item, "piecesKey"),
            updated_at=item.get("updatedAt"),
            info_hash=str(item.get("infoHash") or "").lower(),
            torrent_key=str(item.get("torrentKey") or ""),
        )
        if goal.artifact_bytes <= 0 or goal.piece_bytes <= 0:
            raise GoalInvalid("artifactBytes and pieceBytes must be positive")
        if not 0 <= goal.cumulative_percent <= 100:
            raise GoalInvalid(f"cumulativePercent {goal.cumulative_percent} is not in 0..100")
        return goal

    def to_item(self) -> dict[str, Any]:
        """The goal as its item holds it (the journal keeps it so a restart finishes the same goal)."""
        return {
            "group": self.group,
            "buildId": self.build_id,
            "previousBuildId": self.previous_build_id,
            "deploymentId": self.deployment_id,
            "wave": self.wave,
            "cumulativePercent": str(self.cumulative_percent),
            "artifactKey": self.artifact_key,
            "artifactBytes": self.artifact_bytes,
            "sha256": self.sha256,
            "pieceBytes": self.piece_bytes,
            "pieceRoot": self.piece_root,
            "piecesKey": self.pieces_key,
            "updatedAt": self.updated_at,
            "infoHash": self.info_hash,
            "torrentKey": self.torrent_key,
        }


class RegionLink(Protocol):
    """The agent's narrow reach into its region: its goal in, its own host item out, the bucket read-only."""

    def read_goal(self, group_shard: str) -> Mapping[str, Any] | None:
        """The copy of the group's goal for the host's shard (`GOAL#<group>#<NN>`, `group_shard` the
        host's `groupShard`), None when there is none."""
        ...

    def update_host(self, host_id: str, attributes: Mapping[str, Any]) -> None:
        """Sets these attributes of the host's own item (`HOST#<hostId>`), creating it if need be, leaving
        every other attribute as it is; a None value removes the attribute."""
        ...

    def object_size(self, key: str) -> int | None:
        """The object's size in bytes, None when there is no such object."""
        ...

    def read_range(self, key: str, first: int, last: int) -> bytes:
        """Bytes first..last (inclusive) of the object: one ranged GET."""
        ...

    def read_object(self, key: str) -> bytes | None:
        """A small object whole (the piece list), None when there is no such object."""
        ...

    def presigned_url(self, key: str, seconds: int) -> str:
        """A URL that reads the object for `seconds` without credentials (the swarm's web seed)."""
        ...
