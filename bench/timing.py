"""One build through the deployed pipeline, from POST /builds to every host, timed by the records' own
timestamps."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import boto3

from code_deploy.builds.view import read_build
from code_deploy.regions import RegionalBuckets
from tools.api_client import call
from tools.stack import api_base_url
from tools.stack import regions as stack_regions

POLL_SECONDS = 0.1


def _epoch(timestamp: str) -> float:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()


@dataclass(frozen=True)
class Rollout:
    started_at: float
    completed_at: float
    hosts: int


@dataclass(frozen=True)
class PipelineRun:
    """One build from POST /builds to every host, timed by the records' own timestamps (the client's
    clock only for the POST: everything runs on this machine, so the clocks agree)."""

    build_id: str
    artifact_bytes: int
    posted_at: float
    queued_at: float
    building_at: float
    built_at: float
    replication_started_at: float
    replication_completed_at: float
    rollouts: dict[str, Rollout]

    @property
    def end_to_end(self) -> float:
        return max(r.completed_at for r in self.rollouts.values()) - self.posted_at

    def stages(self) -> dict[str, float]:
        first_start = min(r.started_at for r in self.rollouts.values())
        return {
            "api": self.queued_at - self.posted_at,
            "queueWait": self.building_at - self.queued_at,
            "build": self.built_at - self.building_at,
            "replicationStart": self.replication_started_at - self.built_at,
            "replication": self.replication_completed_at - self.replication_started_at,
            "rolloutStart": first_start - self.replication_started_at,
            "rollout": max(r.completed_at for r in self.rollouts.values()) - first_start,
            "endToEnd": self.end_to_end,
        }

    def rollout_seconds(self) -> dict[str, float]:
        return {region: r.completed_at - r.started_at for region, r in self.rollouts.items()}

    def sync_hosts_per_second(self) -> float:
        """Hosts written over the window in which the regions' syncs ran (they run side by side)."""
        window = max(r.completed_at for r in self.rollouts.values()) - min(r.started_at for r in self.rollouts.values())
        return sum(r.hosts for r in self.rollouts.values()) / window

    def summary(self) -> dict[str, Any]:
        return {
            "buildId": self.build_id,
            "stages": self.stages(),
            "rolloutByRegion": self.rollout_seconds(),
            "syncHostsPerSecond": self.sync_hosts_per_second(),
            "offsets": self.offsets(),
        }

    def offsets(self) -> dict[str, list[float]]:
        """Each stage's [start, end] in seconds after the POST, for the timeline plot."""
        at = lambda t: t - self.posted_at  # noqa: E731
        spans = {
            "api": [0.0, at(self.queued_at)],
            "queue wait": [at(self.queued_at), at(self.building_at)],
            "build": [at(self.building_at), at(self.built_at)],
            "replication start": [at(self.built_at), at(self.replication_started_at)],
            "replication": [at(self.replication_started_at), at(self.replication_completed_at)],
        }
        for region, rollout in sorted(self.rollouts.items()):
            spans[f"rollout {region}"] = [at(rollout.started_at), at(rollout.completed_at)]
        return spans


def run_build(stack_outputs: dict[str, str], timeout: float) -> PipelineRun:
    """POSTs a build and waits until every region's rollout summary counts every host. Polls the builds
    table (one Query) rather than the API, so the polling costs the emulator's two cores little."""
    api = api_base_url(stack_outputs)
    regions = stack_regions(stack_outputs)
    dynamodb = boto3.resource("dynamodb")
    builds = dynamodb.Table(stack_outputs["BuildsTableName"])
    tracking = dynamodb.Table(stack_outputs["CopyTrackingTableName"])
    posted_at = time.time()
    answered, body = call("POST", f"{api}/builds", {"commit": secrets.token_hex(20)})
    if answered != 202:
        raise RuntimeError(f"POST /builds answered {answered}: {body}")
    build_id = body["buildId"]
    deadline = time.monotonic() + timeout
    buckets = RegionalBuckets(tuple(regions), stack_outputs["RegionalBucketNamePattern"])
    hosts_per_region = int(stack_outputs["SimulatedHostsPerRegion"])
    while time.monotonic() < deadline:
        view = read_build(builds, tracking, build_id, buckets, hosts_per_region)
        if view.status == "FAILED":
            raise RuntimeError(f"{build_id} FAILED: {view.failureReason}")
        if view.deploymentStatus == "DEPLOYED" and view.replication.completedAt:
            return PipelineRun(
                build_id=build_id,
                artifact_bytes=view.artifact.sizeBytes,
                posted_at=posted_at,
                queued_at=_epoch(view.queuedAt),
                building_at=_epoch(view.buildingAt),
                built_at=_epoch(view.builtAt),
                replication_started_at=_epoch(view.replication.startedAt),
                replication_completed_at=_epoch(view.replication.completedAt),
                rollouts={
                    region.region: Rollout(
                        _epoch(region.rolloutStartedAt), _epoch(region.rolloutCompletedAt), region.hostsDeployed
                    )
                    for region in view.regions
                },
            )
        time.sleep(POLL_SECONDS)
    raise TimeoutError(f"{build_id} not on every host after {timeout:.0f} s")


def rollout_timeout(hosts_per_region: int, regions: int) -> float:
    # Generous: a minute plus what a slow emulator needs at 500 host records a second.
    return 60 + hosts_per_region * regions / 500


# A fresh stack's first build starts every function cold, each concurrent invocation a worker of its own
# on the emulator: its warm-up gets this much longer.
COLD_START_ALLOWANCE_SECONDS = 180
