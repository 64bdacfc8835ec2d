"""Deployments on the deployed stack: a deployment in three waves to every region (wall time, and the
swarm model's predicted and actual time), and a rollback against the rollout it undoes.

The rollback: the newer build deploys in one wave with 60% of its hosts failing; the health gate stops
it and every region returns to the older build, which its hosts still cache. Its time is measured from
the region's records (rollbackStartedAt -> completedAt) against the wave before it (startedAt ->
rollbackStartedAt); in the model, the activation alone against the wave's download and activation.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from tools.api_client import call

FINISHED = {"SUCCEEDED", "ROLLED_BACK", "ABORTED", "SUPERSEDED", "FAILED"}


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _deploy(api: str, body: dict, timeout: float) -> tuple[dict, float]:
    started = time.monotonic()
    status, accepted = call("POST", f"{api}/deployments", body)
    if status != 202:
        raise RuntimeError(f"POST /deployments answered {status}: {accepted}")
    deadline = started + timeout
    while time.monotonic() < deadline:
        status, view = call("GET", f"{api}/deployments/{accepted['deploymentId']}")
        if status == 200 and view["status"] in FINISHED:
            return view, time.monotonic() - started
        time.sleep(0.2)
    raise RuntimeError(f"{accepted['deploymentId']} did not finish in {timeout:.0f} s")


@dataclass(frozen=True)
class DeploymentFigures:
    waves_seconds: float  # wall time of the 3-wave deployment, POST to SUCCEEDED
    waves_predicted_seconds: float
    waves_model_seconds: float
    rolled_out_seconds: float  # the failing wave, per its region records (slowest region)
    rollback_seconds: float  # its rollback, per the region records (slowest region)
    rollout_model_seconds: float
    rollback_model_seconds: float

    @property
    def rollback_over_rollout(self) -> float:
        return self.rollback_seconds / self.rolled_out_seconds if self.rolled_out_seconds else float("inf")

    def summary(self) -> dict[str, Any]:
        return asdict(self) | {"rollbackOverRollout": self.rollback_over_rollout}


def measure(api: str, older: str, newer: str, timeout: float = 300) -> DeploymentFigures:
    """`newer` is on every host (AutoDeploy); `older` goes out in waves, then `newer` fails and rolls back."""
    waves, waves_seconds = _deploy(api, {"buildId": older, "waves": [10, 50, 100]}, timeout)
    if waves["status"] != "SUCCEEDED":
        raise RuntimeError(f"the wave deployment ended {waves['status']}: {waves['reason']}")
    failing, _ = _deploy(
        api,
        {"buildId": newer, "maxFailurePercent": 5, "simulate": {"hostFailurePercent": 60, "seed": 1}},
        timeout,
    )
    if failing["status"] != "ROLLED_BACK":
        raise RuntimeError(f"the failing deployment ended {failing['status']}, not ROLLED_BACK")
    regions = [r for r in failing["regions"].values() if r["rollbackStartedAt"]]
    return DeploymentFigures(
        waves_seconds=waves_seconds,
        waves_predicted_seconds=waves["predictedSeconds"],
        waves_model_seconds=waves["modelSeconds"],
        rolled_out_seconds=max((_at(r["rollbackStartedAt"]) - _at(r["startedAt"])).total_seconds() for r in regions),
        rollback_seconds=max((_at(r["completedAt"]) - _at(r["rollbackStartedAt"])).total_seconds() for r in regions),
        rollout_model_seconds=max(r["modelSeconds"] for r in regions),
        rollback_model_seconds=max(r["rollbackModelSeconds"] for r in regions),
    )


def report_lines(figures: dict[str, Any]) -> list[str]:
    return [
        "Deployments (3 waves to every region; then a failing wave rolled back)",
        f"  {'3-wave deployment, POST -> SUCCEEDED':<40} {figures['waves_seconds']:7.2f} s   "
        f"(model: predicted {figures['waves_predicted_seconds']:.3f} s, actual {figures['waves_model_seconds']:.3f} s)",
        f"  {'failing wave, start -> gate':<40} {figures['rolled_out_seconds']:7.2f} s   "
        f"(model {figures['rollout_model_seconds']:.3f} s)",
        f"  {'its rollback':<40} {figures['rollback_seconds']:7.2f} s   "
        f"(model {figures['rollback_model_seconds']:.3f} s: the activation alone)",
        f"  {'rollback / rollout':<40} {figures['rollbackOverRollout']:7.2f}",
    ]
