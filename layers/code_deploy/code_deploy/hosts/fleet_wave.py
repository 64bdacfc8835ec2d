"""A wave of a deployment on a region's real hosts (code_deploy.hosts.fleet), in three steps that the
regional sync runs for the rollout workflow: steer (each group's goal reaches the wave's percent, and the
wave's tally opens), await (the workflow's task token kept on each tally, so the last report wakes it)
and count (what the wave came to, the silent hosts failed). A rollback is a wave of the build returned to,
over every host (wave 0, 0 to 100 %).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from code_deploy.hosts import fleet
from code_deploy.hosts.fleet import ArtifactRef
from code_deploy.services.model import DEFAULT_SERVICE

ROLLBACK_WAVE = 0


@dataclass(frozen=True)
class WaveOrder:
    """One wave of a deployment (or its rollback) as the real hosts' groups take it."""

    deployment_id: str
    build_id: str
    previous_build_id: str | None
    seq: int
    wave: int  # 1-based; ROLLBACK_WAVE for a rollback
    percents: tuple[float, float]  # the cumulative percent before the wave and after it
    artifact: ArtifactRef
    service: str = DEFAULT_SERVICE  # its groups alone take it


@dataclass(frozen=True)
class GroupWave:
    group: str
    wave_id: str  # what the tally and the reports are counted under
    expected: int
    lost: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"group": self.group, "waveId": self.wave_id, "expected": self.expected, "lost": list(self.lost)}


def steer(table, order: WaveOrder, times: tuple[str, float], lost_after: float) -> list[GroupWave]:
    """Sets the goal of every group of the order's service to the wave and opens its tally; a group whose
    goal a later deployment set is left alone. `times`: now as ISO text (the goal's updatedAt) and as epoch seconds."""
    now_text, now = times
    steered = []
    for group in fleet.groups(table, order.service):
        goal = fleet.Goal(
            group=group,
            build_id=order.build_id,
            previous_build_id=order.previous_build_id if order.wave != ROLLBACK_WAVE else None,
            deployment_id=order.deployment_id,
            seq=order.seq,
            wave=order.wave,
            cumulative_percent=order.percents[1],
            artifact=order.artifact,
        )
        if not fleet.put_goal(table, goal, now_text):
            continue
        hosts = fleet.wave_hosts(fleet.group_hosts(table, group), order.deployment_id, order.percents, now, lost_after)
        tally = fleet.start_tally(
            table,
            fleet.Tally(
                group, order.deployment_id, order.build_id, order.wave, order.percents, len(hosts.members), 0, now
            ),
        )
        steered.append(GroupWave(group, tally.wave_id, tally.expected, hosts.lost))
    return steered


def await_reports(table, waves: dict[str, str], task_token: str) -> bool:
    """Keeps the workflow's token on each group's tally (`waves`: group -> wave id); whether every group
    has reported already (then nothing will wake the token: the caller wakes it itself)."""
    complete = True
    for group, wave_id in waves.items():
        tally = fleet.keep_task_token(table, group, wave_id, task_token)
        complete = complete and (tally is None or tally.complete)
    return complete


@dataclass(frozen=True)
class FleetOutcome:
    expected: int
    deployed: int
    failed: int
    lost: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"expected": self.expected, "deployed": self.deployed, "failed": self.failed, "lost": list(self.lost)}


def count(table, waves: dict[str, str], now: float, lost_after: float) -> FleetOutcome:
    """What the groups' waves came to: each member deployed if its last report says so, else failed."""
    expected = deployed = failed = 0
    lost: list[str] = []
    for group, wave_id in waves.items():
        tally = fleet.get_tally(table, group)
        if tally is None or tally.wave_id != wave_id:
            continue  # a later deployment's wave took the group: its hosts are that one's to count
        outcome = fleet.wave_outcome(fleet.group_hosts(table, group), tally, now, lost_after)
        expected, deployed, failed = expected + outcome.expected, deployed + outcome.deployed, failed + outcome.failed
        lost.extend(outcome.lost)
    return FleetOutcome(expected, deployed, failed, tuple(lost))
