"""The host item (`pk = "HOST#<hostId>"`) as the agent writes it: registration, heartbeat, state, report.

Every write is an update of named attributes, never a whole item, so whatever the control plane adds to a
host item survives the agent's writes. The attribute names here are the contract (docs/agent.md).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

GROUP_SHARDS = 16
OUTPUT_TAIL_CHARS = 2048

IDLE, DOWNLOADING, INSTALLING, DEPLOYED, FAILED = "IDLE", "DOWNLOADING", "INSTALLING", "DEPLOYED", "FAILED"

# Why a host FAILED (report.reason).
CHECKSUM = "checksum"
ARTIFACT_MISSING = "artifact-missing"
DISK_FULL = "disk-full"
HOOKS_FILE = "hooks-file"
HOOK_FAILED = "hook-failed"
HOOK_TIMEOUT = "hook-timeout"
INSTALL_ERROR = "install-error"
TIMEOUT = "timeout"  # report.exitCode of a hook killed at its timeout


def host_key(host_id: str) -> str:
    return f"HOST#{host_id}"


def goal_key(shard: str) -> str:
    """The copy of the group's goal that the hosts of one shard (`<group>#<NN>`) read: the control plane
    writes the goal to each shard's copy, so a large group's reads spread over 16 items."""
    return f"GOAL#{shard}"


def group_shard(group: str, host_id: str) -> str:
    """`<group>#<NN>`: spreads a group's hosts over 16 keys of the `by-group` index, so listing a large
    group reads 16 partitions instead of one hot one; the host reads its shard's copy of the goal."""
    shard = int(hashlib.sha256(host_id.encode()).hexdigest()[:8], 16) % GROUP_SHARDS
    return f"{group}#{shard:02d}"


def iso_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Report:
    """One outcome for one deployment: the host item's `report` map."""

    deployment_id: str
    wave: int
    build_id: str
    status: str  # DEPLOYED | FAILED
    reason: str | None = None
    hook: str | None = None
    exit_code: int | str | None = None  # the hook's exit code, or "timeout"
    output_tail: str | None = None
    download_seconds: float = 0.0
    download_bytes: int = 0  # from the region's bucket
    peer_bytes: int = 0  # from other hosts (the swarm)
    drift: bool = False
    at: str = ""
    hook_seconds: dict[str, float] = field(default_factory=dict)  # each lifecycle event's hooks, as they ran

    def to_item(self) -> dict[str, Any]:
        return {
            "deploymentId": self.deployment_id,
            "wave": self.wave,
            "buildId": self.build_id,
            "status": self.status,
            "reason": self.reason,
            "hook": self.hook,
            "exitCode": self.exit_code,
            "outputTail": self.output_tail[-OUTPUT_TAIL_CHARS:] if self.output_tail is not None else None,
            "downloadSeconds": round(self.download_seconds, 3),
            "downloadBytes": self.download_bytes,
            "peerBytes": self.peer_bytes,
            "drift": self.drift,
            "at": self.at or iso_now(),
            "hookSeconds": {event: round(seconds, 3) for event, seconds in self.hook_seconds.items()},
        }

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Report:
        return cls(
            deployment_id=item["deploymentId"],
            wave=int(item["wave"]),
            build_id=item["buildId"],
            status=item["status"],
            reason=item.get("reason"),
            hook=item.get("hook"),
            exit_code=item.get("exitCode"),
            output_tail=item.get("outputTail"),
            download_seconds=float(item.get("downloadSeconds") or 0),
            download_bytes=int(item.get("downloadBytes") or 0),
            peer_bytes=int(item.get("peerBytes") or 0),
            drift=bool(item.get("drift")),
            at=item.get("at") or "",
            hook_seconds={event: float(seconds) for event, seconds in (item.get("hookSeconds") or {}).items()},
        )


def registration(
    *,
    host_id: str,
    group: str,
    region: str,
    zone: str,
    address: str,
    app_port: int,
    agent_version: str,
    state: str,
    current_build_id: str | None,
    previous_build_id: str | None,
    now: float,
) -> dict[str, Any]:
    return {
        "hostId": host_id,
        "group": group,
        "region": region,
        "zone": zone,
        "address": address,
        "appPort": app_port,
        "agentVersion": agent_version,
        "registeredAt": iso_now(),
        "heartbeatAt": int(now),
        "groupShard": group_shard(group, host_id),
        "state": state,
        "currentBuildId": current_build_id,
        "previousBuildId": previous_build_id,
    }


def heartbeat(now: float) -> dict[str, Any]:
    return {"heartbeatAt": int(now)}


def state_change(state: str) -> dict[str, Any]:
    return {"state": state}


def outcome(report: Report, current_build_id: str | None, previous_build_id: str | None) -> dict[str, Any]:
    """The report, and a FAILED one kept apart as `lastFailure` too: the report that follows it (the
    rollback's return to the build before) replaces `report`, not what failed and why."""
    attributes = {
        "state": report.status,
        "currentBuildId": current_build_id,
        "previousBuildId": previous_build_id,
        "report": report.to_item(),
    }
    return attributes | ({"lastFailure": attributes["report"]} if report.status == FAILED else {})
