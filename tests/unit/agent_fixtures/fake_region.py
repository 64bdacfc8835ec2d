"""An in-memory region behind the agent's RegionLink: goal items, host items, the bucket's objects; it counts
ranged reads and can be told to die mid-download, as a killed agent would."""

from __future__ import annotations

import copy
import hashlib
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from code_deploy_agent.pieces import piece_hashes, piece_root


class SimulatedKill(BaseException):
    """The agent dies here: nothing of it catches this (like SIGKILL, it is not an Exception)."""


@dataclass(frozen=True)
class PublishedBuild:
    """What the build worker records of a build: the control plane copies it into goals."""

    build_id: str
    artifact_key: str
    pieces_key: str
    artifact_bytes: int
    sha256: str
    piece_bytes: int
    piece_root: str


class FakeRegion:
    def __init__(self) -> None:
        self.goals: dict[str, dict[str, Any]] = {}
        self.hosts: dict[str, dict[str, Any]] = {}
        self.objects: dict[str, bytes] = {}
        self.range_reads: list[tuple[str, int, int]] = []
        self.kill_after_range_reads: int | None = None
        self._lock = threading.Lock()

    # -- RegionLink ------------------------------------------------------------------------------

    def read_goal(self, group: str) -> dict[str, Any] | None:
        with self._lock:
            goal = self.goals.get(group)
            return copy.deepcopy(goal) if goal else None

    def update_host(self, host_id: str, attributes: Mapping[str, Any]) -> None:
        with self._lock:
            item = self.hosts.setdefault(host_id, {"pk": f"HOST#{host_id}"})
            for name, value in attributes.items():
                if value is None:
                    item.pop(name, None)
                else:
                    item[name] = copy.deepcopy(value)

    def object_size(self, key: str) -> int | None:
        data = self.objects.get(key)
        return None if data is None else len(data)

    def read_range(self, key: str, first: int, last: int) -> bytes:
        with self._lock:
            if self.kill_after_range_reads is not None and len(self.range_reads) >= self.kill_after_range_reads:
                raise SimulatedKill(f"killed after {len(self.range_reads)} ranged reads")
            self.range_reads.append((key, first, last))
        return self.objects[key][first : last + 1]

    def read_object(self, key: str) -> bytes | None:
        return self.objects.get(key)

    # -- what the build worker and the control plane would do -----------------------------------

    def publish(self, build_id: str, artifact: bytes, piece_bytes: int = 4096) -> PublishedBuild:
        """Stores the artifact and its piece list as the build worker would, and returns its record."""
        hashes = piece_hashes(artifact, piece_bytes)
        build = PublishedBuild(
            build_id=build_id,
            artifact_key=f"builds/{build_id}/artifact.zip",
            pieces_key=f"builds/{build_id}/pieces.json",
            artifact_bytes=len(artifact),
            sha256=hashlib.sha256(artifact).hexdigest(),
            piece_bytes=piece_bytes,
            piece_root=piece_root(hashes),
        )
        self.objects[build.artifact_key] = artifact
        self.objects[build.pieces_key] = json.dumps({"pieceBytes": piece_bytes, "pieces": hashes}).encode()
        return build

    def set_goal(
        self,
        group: str,
        build: PublishedBuild,
        deployment_id: str,
        *,
        wave: int = 1,
        cumulative_percent: float = 100,
        previous_build_id: str | None = None,
    ) -> dict[str, Any]:
        goal = {
            "pk": f"GOAL#{group}",
            "group": group,
            "buildId": build.build_id,
            "deploymentId": deployment_id,
            "wave": wave,
            "cumulativePercent": cumulative_percent,
            "artifactKey": build.artifact_key,
            "artifactBytes": build.artifact_bytes,
            "sha256": build.sha256,
            "pieceBytes": build.piece_bytes,
            "pieceRoot": build.piece_root,
            "piecesKey": build.pieces_key,
            "updatedAt": "2026-12-06T00:00:00.000Z",
        }
        if previous_build_id:
            goal["previousBuildId"] = previous_build_id
        self.goals[group] = goal
        return goal
