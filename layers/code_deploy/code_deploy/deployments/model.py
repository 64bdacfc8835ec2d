"""Deployments: which build each region should run (its goal), reached in waves of hosts with a health
gate after each, rolled back when a wave fails; and the plan that says how long it will take.

Plain Python over plain values: the API validates a request into a `DeploymentSpec`, `plan` predicts its
time from the P2P swarm model, `wave_sizes` and `failed_hosts` say how many hosts a wave updates and which
of them fail (deterministic fault injection), `gate` decides whether the rollout goes on.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field, replace
from enum import StrEnum
from itertools import pairwise
from typing import TypedDict, Unpack

from code_deploy.errors import Unworkable
from code_deploy.swarm import SwarmParameters, pipelined_broadcast_seconds

# A host keeps its last two builds (the one it runs and the one before): rolling back to the previous
# build downloads nothing, it only switches which build runs.
CACHED_BUILDS_PER_HOST = 2
# Switching a host to a build it already holds: stop, swap a symlink, start (an assumption of the model).
ACTIVATION_SECONDS = 2.0
MAX_BAKE_SECONDS = 86_400
MIN_WAVE_TIMEOUT_SECONDS = 10

# Why a deployment stops and rolls back: asked to (abort: every region it changed goes back), a region's
# health gate failed (the regions under way go back; those that finished keep the build), or its workflow
# failed (a step kept failing: every region it changed goes back, and it ends FAILED).
ABORT, ROLLBACK, FAIL = "ABORT", "ROLLBACK", "FAIL"
# Rolled back by request (POST /deployments/{id}/rollback), running or ended: every region it changed goes
# back at once, skipping its bakes and waves left, and it ends ROLLED_BACK.
REVERT = "REVERT"
# What a failed health gate does (onGateFailure): stop and roll back, or hold the deployment PAUSED for a
# person to resume it past the gate, or roll it back.
ON_GATE_FAILURE = ("rollback", "pause")


class DeploymentStatus(StrEnum):
    QUEUED = "QUEUED"
    IN_PROGRESS = "IN_PROGRESS"
    PAUSED = "PAUSED"
    ROLLING_BACK = "ROLLING_BACK"  # stopped: its regions are going back (then ABORTED, ROLLED_BACK or FAILED)
    SUCCEEDED = "SUCCEEDED"
    ROLLED_BACK = "ROLLED_BACK"
    ABORTED = "ABORTED"
    SUPERSEDED = "SUPERSEDED"
    FAILED = "FAILED"

    @property
    def finished(self) -> bool:
        return self not in RUNNING_STATUSES


# A deployment in one of these may still go on (be paused, promoted, stopped); the others do not.
ACTIVE_STATUSES = (DeploymentStatus.QUEUED, DeploymentStatus.IN_PROGRESS, DeploymentStatus.PAUSED)
# A deployment in one of these may still change hosts; the others are final.
RUNNING_STATUSES = (*ACTIVE_STATUSES, DeploymentStatus.ROLLING_BACK)


class RegionRolloutStatus(StrEnum):
    PENDING = "PENDING"  # its region wave has not started
    IN_PROGRESS = "IN_PROGRESS"
    BAKING = "BAKING"
    ROLLING_BACK = "ROLLING_BACK"  # its goal went back; it waits for its real hosts to report their return
    SUCCEEDED = "SUCCEEDED"
    ROLLED_BACK = "ROLLED_BACK"
    SUPERSEDED = "SUPERSEDED"
    ABORTED = "ABORTED"  # aborted by request: its hosts went back to the previous build
    SKIPPED = "SKIPPED"  # an earlier region wave failed, so this one never started
    ROLLBACK_FAILED = "ROLLBACK_FAILED"  # its goal went back, but rolling its hosts back failed (the reason says why)

    @property
    def finished(self) -> bool:
        return self not in (
            RegionRolloutStatus.PENDING,
            RegionRolloutStatus.IN_PROGRESS,
            RegionRolloutStatus.BAKING,
            RegionRolloutStatus.ROLLING_BACK,
        )


class InvalidDeployment(Unworkable):
    """The request cannot be carried out as asked; the message says why."""


@dataclass(frozen=True)
class Simulation:
    """Deterministic fault injection: this share of each wave's hosts fail their update."""

    host_failure_percent: float = 0.0
    seed: int = 1


@dataclass(frozen=True)
class DeploymentSpec:
    """A deployment as asked for, complete and consistent (see `spec_from_request`)."""

    build_id: str
    regions: tuple[str, ...]
    waves: tuple[float, ...]  # cumulative percent of each region's hosts, ending at 100
    bake_seconds: int
    region_waves: tuple[tuple[str, ...], ...]  # the order of regions; all at once by default
    max_failure_percent: float
    simulation: Simulation = field(default_factory=Simulation)
    # How long a wave waits for its real hosts' reports: a host silent by then counts as failed.
    wave_timeout_seconds: int = 600
    # CloudWatch alarms (in the home region or the deployment's regions) any of which in ALARM during a
    # wave or its bake fails the gate.
    alarms: tuple[str, ...] = ()
    on_gate_failure: str = "rollback"
    # 1-based waves that wait, in every region, for POST /deployments/{id}/approve before they start.
    approval_waves: tuple[int, ...] = ()


class DeploymentAsked(TypedDict, total=False):
    """What a request may ask of a deployment beyond its build; each left out takes its default."""

    regions: list[str] | None  # all the known regions
    waves: list[float] | None  # [100]: one wave
    bake_seconds: int  # 0
    region_waves: list[list[str]] | None  # every region at once
    max_failure_percent: float  # 5
    simulation: Simulation | None  # no fault injected
    wave_timeout_seconds: int  # 600
    alarms: list[str] | None  # none
    on_gate_failure: str  # rollback
    approval_waves: list[int] | None  # none


def spec_from_request(
    build_id: str, known_regions: tuple[str, ...], **asked: Unpack[DeploymentAsked]
) -> DeploymentSpec:
    """Checks what a request asks against itself and the known regions; raises InvalidDeployment with
    a sentence for people when it cannot be done."""
    regions, waves, region_waves = asked.get("regions"), asked.get("waves"), asked.get("region_waves")
    bake_seconds = asked.get("bake_seconds", 0)
    max_failure_percent = asked.get("max_failure_percent", 5.0)
    simulation = asked.get("simulation")
    wave_timeout_seconds = asked.get("wave_timeout_seconds", 600)
    if not MIN_WAVE_TIMEOUT_SECONDS <= wave_timeout_seconds <= MAX_BAKE_SECONDS:
        raise InvalidDeployment(
            f"waveTimeoutSeconds: must be between {MIN_WAVE_TIMEOUT_SECONDS} and {MAX_BAKE_SECONDS}"
        )
    chosen = tuple(regions) if regions is not None else known_regions
    if not chosen:
        raise InvalidDeployment("regions: give at least one region, or leave it out for all")
    unknown = [region for region in chosen if region not in known_regions]
    if unknown:
        raise InvalidDeployment(f"regions: unknown {', '.join(unknown)}; the regions are {', '.join(known_regions)}")
    if len(set(chosen)) != len(chosen):
        raise InvalidDeployment("regions: a region is named twice")
    wave_percents = tuple(waves) if waves is not None else (100.0,)
    if not wave_percents:
        raise InvalidDeployment("waves: give at least one wave, e.g. [100]")
    if any(p <= 0 or p > 100 for p in wave_percents):
        raise InvalidDeployment("waves: each is a cumulative percent of the hosts, above 0 and at most 100")
    if any(later <= earlier for earlier, later in pairwise(wave_percents)):
        raise InvalidDeployment("waves: cumulative percents must be strictly increasing, e.g. [10, 50, 100]")
    if wave_percents[-1] != 100:
        raise InvalidDeployment("waves: the last wave must reach 100 (every host)")
    if not 0 <= bake_seconds <= MAX_BAKE_SECONDS:
        raise InvalidDeployment(f"bakeSeconds: must be between 0 and {MAX_BAKE_SECONDS}")
    if not 0 <= max_failure_percent <= 100:
        raise InvalidDeployment("maxFailurePercent: must be between 0 and 100")
    if region_waves is None:
        ordered = (chosen,)
    else:
        ordered = tuple(tuple(wave) for wave in region_waves)
        flat = [region for wave in ordered for region in wave]
        if any(not wave for wave in ordered):
            raise InvalidDeployment("regionWaves: a region wave is empty")
        if sorted(flat) != sorted(chosen) or len(set(flat)) != len(flat):
            raise InvalidDeployment(f"regionWaves: must name each deployed region ({', '.join(chosen)}) exactly once")
    simulation = simulation or Simulation()
    if not 0 <= simulation.host_failure_percent <= 100:
        raise InvalidDeployment("simulate.hostFailurePercent: must be between 0 and 100")
    on_gate_failure = asked.get("on_gate_failure", "rollback")
    if on_gate_failure not in ON_GATE_FAILURE:
        raise InvalidDeployment(f"onGateFailure: one of {', '.join(ON_GATE_FAILURE)}")
    approval_waves = tuple(sorted(set(asked.get("approval_waves") or ())))
    if any(not 1 <= wave <= len(wave_percents) for wave in approval_waves):
        raise InvalidDeployment(f"approvalRequired: wave numbers between 1 and {len(wave_percents)} (1-based)")
    return DeploymentSpec(
        build_id=build_id,
        regions=chosen,
        waves=wave_percents,
        bake_seconds=bake_seconds,
        region_waves=ordered,
        max_failure_percent=max_failure_percent,
        simulation=simulation,
        wave_timeout_seconds=wave_timeout_seconds,
        alarms=tuple(dict.fromkeys(asked.get("alarms") or ())),
        on_gate_failure=on_gate_failure,
        approval_waves=approval_waves,
    )


# --- which hosts, and which of them fail ------------------------------------------------------------------


def wave_bounds(hosts: int, waves: tuple[float, ...]) -> list[tuple[int, int]]:
    """Each wave's hosts as [start, end) of the region's host indexes: wave w ends at ceil(hosts x its
    cumulative percent); the last ends at every host. A wave may be empty in a small region."""
    bounds, start = [], 0
    for percent in waves:
        end = hosts if percent >= 100 else min(hosts, math.ceil(hosts * percent / 100))
        bounds.append((start, end))
        start = end
    return bounds


def wave_sizes(hosts_total: int, hosts_already_on_build: int, waves: tuple[float, ...]) -> list[int]:
    """How many hosts each wave of a region updates: the region's hosts not on the build yet, split by
    the waves' cumulative percents (wave_bounds), so a wave of 10% is 10% of the hosts that change.
    The plan predicts these waves and the deployment carries them out: wave w updates this many hosts,
    from where wave w - 1 ended on, passing over hosts already on the build (code_deploy.hosts.wave)."""
    to_update = hosts_total - min(max(hosts_already_on_build, 0), hosts_total)
    return [end - start for start, end in wave_bounds(to_update, waves)]


def failed_hosts(build_id: str, region: str, hosts: range, simulation: Simulation) -> set[int]:
    """The hosts of `hosts` that fail their update: a deterministic share picked by the seed, the build
    and the region, so a test or a demo gets the same failures every time."""
    if simulation.host_failure_percent <= 0:
        return set()
    threshold = simulation.host_failure_percent / 100

    def draw(host: int) -> float:
        digest = hashlib.sha256(f"{simulation.seed}\0{build_id}\0{region}\0{host}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64

    return {host for host in hosts if draw(host) < threshold}


@dataclass(frozen=True)
class GateResult:
    passed: bool
    failure_percent: float
    reason: str | None = None


def gate(region: str, wave: int, updated: int, failed: int, max_failure_percent: float) -> GateResult:
    """A wave passes when at most `max_failure_percent` of the hosts it tried failed."""
    tried = updated + failed
    failure_percent = 100 * failed / tried if tried else 0.0
    if failure_percent <= max_failure_percent:
        return GateResult(True, failure_percent)
    return GateResult(
        False,
        failure_percent,
        f"{region} wave {wave + 1}: {failed} of {tried} hosts failed ({failure_percent:.1f}% > "
        f"{max_failure_percent:g}% allowed)",
    )


# --- the plan: hosts per wave and the predicted time ------------------------------------------------------


@dataclass(frozen=True)
class WavePlan:
    wave: int  # 0-based
    cumulative_percent: float
    hosts: int  # hosts this wave updates
    hosts_holding: int  # hosts that already hold the build when it starts (they serve pieces too)
    seconds: float  # the P2P swarm model's time for this wave's download, plus switching its hosts over


@dataclass(frozen=True)
class RegionBefore:
    """A region's hosts before a deployment, as the region last reported them: where its plan starts."""

    hosts_on_build: int = 0  # already run the deployment's build: no wave counts them
    rollback_build: str | None = None  # the build a rollback returns to (the region's goal before)
    hosts_on_rollback_build: int = 0  # run it: once the deployment switched them, they keep it cached


@dataclass(frozen=True)
class RegionPlan:
    region: str
    hosts_total: int
    hosts_already_on_build: int  # as the region last reported: no wave counts them
    waves: tuple[WavePlan, ...]
    seconds: float  # every wave and the bakes between and after them
    rollback_seconds: float  # after its last wave, back to the build before (rollback_seconds)


@dataclass(frozen=True)
class DeploymentPlan:
    spec: DeploymentSpec
    regions: dict[str, RegionPlan]
    region_wave_seconds: tuple[float, ...]  # each region wave: its slowest region
    seconds: float


def wave_seconds(fleet: SwarmParameters, wave_hosts: int, holding: int) -> float:
    """A wave's time in the swarm model: its hosts fetch the artifact's pieces from the bucket's seeds
    and from every host that already holds the build (earlier waves), which all serve pieces; then they
    switch over to it."""
    if wave_hosts <= 0:
        return 0.0
    swarm = replace(fleet, hosts=wave_hosts + holding, seeds=max(fleet.seeds, holding))
    return pipelined_broadcast_seconds(swarm) + ACTIVATION_SECONDS


def rollback_seconds(fleet: SwarmParameters, cached: int, fetching: int, holding: int) -> float:
    """A rollback's time in the swarm model: the `cached` hosts hold the build it returns to and switch
    back in the activation time; the `fetching` ones do not, and fetch it as a wave's hosts do, from the
    bucket and the `holding` hosts (wave_seconds); the two at once, so the slower of them. `fleet`
    carries the build's artifact. The plan predicts it and the rollback reports it (code_deploy.hosts.wave)."""
    return max(ACTIVATION_SECONDS if cached else 0.0, wave_seconds(fleet, fetching, holding))


def _rollback_after_every_wave(fleet: SwarmParameters, before: RegionBefore) -> float:
    """A region's rollback once the deployment switched every host it counts: the hosts that ran the
    build it returns to keep it cached; every other host fetches it (those that ran the deployment's
    build already may cache it too, but the region's report does not say). Back to no build (the
    region's first deployment), every host drops the build, fetching nothing. The build it returns to
    is taken to be the size of this deployment's (the plan reads no other build)."""
    if before.rollback_build is None:
        return rollback_seconds(fleet, fleet.hosts, 0, 0)
    cached = min(before.hosts_on_rollback_build, fleet.hosts)
    return rollback_seconds(fleet, cached, fleet.hosts - cached, cached)


def plan(spec: DeploymentSpec, fleets: dict[str, SwarmParameters], before: dict[str, RegionBefore]) -> DeploymentPlan:
    """The predicted time of each wave, region and region wave, from the swarm model's closed form, and of
    each region's rollback. `fleets` holds each region's hosts and network carrying the build's artifact;
    `before`, what each region last reported of its hosts (a region it does not name: never deployed to).
    Hosts already on the build are skipped (and serve pieces from the start)."""
    regions: dict[str, RegionPlan] = {}
    for region in spec.regions:
        fleet, start = fleets[region], before.get(region, RegionBefore())
        already = min(start.hosts_on_build, fleet.hosts)
        waves, holding = [], already
        for index, hosts in enumerate(wave_sizes(fleet.hosts, already, spec.waves)):
            waves.append(WavePlan(index, spec.waves[index], hosts, holding, wave_seconds(fleet, hosts, holding)))
            holding += hosts
        total = sum(wave.seconds for wave in waves) + spec.bake_seconds * len(waves)
        rollback = _rollback_after_every_wave(fleet, start)
        regions[region] = RegionPlan(region, fleet.hosts, already, tuple(waves), total, rollback)
    region_wave_seconds = tuple(
        max(regions[region].seconds for region in region_wave) for region_wave in spec.region_waves
    )
    return DeploymentPlan(spec, regions, region_wave_seconds, sum(region_wave_seconds))
