"""The rollout workflow's steps (statemachine/roll_out_deployment.asl.json runs them): the start, a
region's wave and its health gate, the bake, a wait, the rollback, the end.

Each step reads the deployment as it stands and answers the workflow what to do next (`next`): WAVE,
BAKE or PAUSED (wait, then look again), ROLLBACK or END. So a pause, a promote, an abort or a later
deployment is seen at the next step, whichever state the workflow is in, and a region that waits (a bake,
a pause) is woken by it (code_deploy.deployments.waits); and every step is safe to run again (the
workflow retries it): the hosts' changes and the reports are idempotent."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from code_deploy.builds import store as build_store
from code_deploy.builds.model import artifact_key, utc_now
from code_deploy.deployments import freeze, model, store, waits
from code_deploy.deployments.model import (
    ABORT,
    ACTIVE_STATUSES,
    FAIL,
    REVERT,
    ROLLBACK,
    RUNNING_STATUSES,
    DeploymentStatus,
    RegionRolloutStatus,
)
from code_deploy.deployments.signals import Signals, event
from code_deploy.deployments.store import Act, Deployment, RegionRollout, StatusMove, Stop, Tables

logger = logging.getLogger(__name__)


# A paused region waits until it is woken (resume, promote, abort, a later deployment), or this long at
# most; then it looks again. A bake waits until its end, or until it is woken (waits.py).
PAUSE_POLL_SECONDS = model.MAX_BAKE_SECONDS


# One region's sync function, invoked where the region is: (region, request) -> its answer.
RegionalInvoker = Callable[[str, dict[str, Any]], dict[str, Any]]


def start(tables: Tables, deployment_id: str, signals: Signals | None = None) -> dict[str, Any]:
    started = store.change_status(
        tables.deployments, deployment_id, DeploymentStatus.IN_PROGRESS, utc_now(), (DeploymentStatus.QUEUED,)
    )
    deployment = store.get(tables.deployments, deployment_id)
    if started:
        _tell(signals, event("STARTED", deployment, by=deployment.created_by))
    return {"deploymentId": deployment_id, "regionWaves": [list(wave) for wave in deployment.spec.region_waves]}


def _tell(signals: Signals | None, deployment_event: dict[str, Any]) -> None:
    """Publishes a deployment event (signals.py) where the step was given the means to."""
    if signals is not None:
        signals.publish(deployment_event)


def _step(next_step: str, wave: int = 0, wait_seconds: float = 0, **extra: Any) -> dict[str, Any]:
    return {"next": next_step, "wave": wave, "waitSeconds": max(1, math.ceil(wait_seconds)), **extra}


def _interrupted(tables: Tables, deployment: Deployment, rollout: RegionRollout) -> dict[str, Any] | None:
    """What stops a region at any step: a later deployment took the region (SUPERSEDED), the deployment
    was aborted or failed elsewhere (roll back what it changed; a region it never reached is SKIPPED)."""
    goal = store.get_region_goals(tables.regions, (rollout.region,), deployment.service)[rollout.region]
    if goal.goal_deployment_id != deployment.deployment_id:
        finished = _finish_region(
            tables, deployment, rollout, RegionRolloutStatus.SUPERSEDED, f"superseded by {goal.goal_deployment_id}"
        )
        if goal.goal_build_id != deployment.build_id:
            _report_rollout(tables, deployment, finished, superseded_by=goal.goal_build_id)
        return _step("END")
    if deployment.stop:
        if rollout.wave == 0:
            # It changed no host here: the region's goal goes back to what it was, the hosts never left it.
            store.restore_goal(
                tables.regions,
                rollout.region,
                deployment.deployment_id,
                rollout.previous_build_id,
                utc_now(),
                deployment.service,
            )
            _finish_region(tables, deployment, rollout, RegionRolloutStatus.SKIPPED, deployment.reason)
            return _step("END")
        return _step("ROLLBACK", rollout.wave)
    return None


def _region_at_step(
    tables: Tables, deployment_id: str, region: str
) -> tuple[Deployment, RegionRollout, dict[str, Any] | None]:
    """The deployment and its region as a step of the region finds them, and the step's answer when the
    region goes no further: ended (a step the workflow retried after the region ended) or interrupted."""
    deployment = store.get(tables.deployments, deployment_id)
    rollout = deployment.regions[region]
    if rollout.status.finished:
        return deployment, rollout, _step("END")
    return deployment, rollout, _interrupted(tables, deployment, rollout)


def _finish_region(
    tables: Tables, deployment: Deployment, rollout: RegionRollout, status: RegionRolloutStatus, reason: str | None
) -> RegionRollout:
    finished = replace(rollout, status=status, reason=reason, completed_at=utc_now(), bake_until=None, wait_token=None)
    store.put_region(tables.deployments, deployment.deployment_id, finished)
    store.drop_alarm_watches(tables.deployments, deployment.spec.alarms, deployment.deployment_id, rollout.region)
    return finished


def wave(
    tables: Tables,
    invoke: RegionalInvoker,
    deployment_id: str,
    region: str,
    wave_index: int,
    signals: Signals | None = None,
) -> dict[str, Any]:
    """Rolls wave `wave_index` out in the region, then its health gate: too many failures (or a named
    alarm in ALARM) stop the deployment and roll the region back (or hold it PAUSED, onGateFailure
    "pause"); else the bake, or the next wave, or the region is done. A paused or frozen deployment, or a
    wave waiting for its approval, waits first."""
    deployment, rollout, stopped = _region_at_step(tables, deployment_id, region)
    if stopped:
        return stopped
    held = _held(tables, deployment, wave_index, signals)
    if held:
        return held
    if deployment.status == DeploymentStatus.PAUSED:  # resumed in _held: its freeze has ended
        deployment = store.get(tables.deployments, deployment_id)
    if rollout.held_at_gate is not None:
        # Resumed past the wave's failed gate (onGateFailure "pause"): a person let it through.
        gate_wave, rollout = rollout.held_at_gate, replace(rollout, held_at_gate=None)
        store.put_region(tables.deployments, deployment_id, rollout)
        return _next_wave_or_done(tables, deployment, rollout, gate_wave)
    spec = deployment.spec
    # As many hosts as the plan said (the hosts not on the build yet, split by the waves), from where
    # the wave before ended; the last wave takes every host left.
    wave_hosts = model.wave_sizes(rollout.hosts_total, rollout.hosts_already_on_build, spec.waves)[wave_index]
    last_wave = wave_index == len(spec.waves) - 1
    now = utc_now()
    rollout = replace(
        rollout,
        status=RegionRolloutStatus.IN_PROGRESS,
        wave=wave_index + 1,
        started_at=rollout.started_at or now,
        wave_started_at=(*rollout.wave_started_at[:wave_index], now),
    )
    store.put_region(tables.deployments, deployment_id, rollout)
    result = invoke(
        region,
        {
            "action": "wave",
            "service": deployment.service,
            "deploymentId": deployment_id,
            "buildId": deployment.build_id,
            "artifactKey": deployment.artifact_key,
            "seq": rollout.seq,
            "hostRange": [rollout.wave_start(wave_index), rollout.hosts_total],
            "hosts": None if last_wave else wave_hosts,
            "failurePercent": spec.simulation.host_failure_percent,
            "seed": spec.simulation.seed,
            "realHosts": real_hosts_order(tables, deployment, rollout, wave_index),
        },
    )
    store.report_hosts(tables.regions, region, result["hostsByBuild"], result["hostsVersion"], deployment.service)
    steered = result.get("realHosts") or []
    rollout = replace(
        rollout,
        hosts_updated=result["hostsByBuild"].get(deployment.build_id, 0),
        wave_ends=(*rollout.wave_ends[:wave_index], result["hostRange"][1]),
        failed_by_wave=(*rollout.failed_by_wave[:wave_index], result["failed"]),
        seconds_by_wave=(*rollout.seconds_by_wave[:wave_index], result["modelSeconds"]),
        model=result.get("model") or rollout.model,
        # Real hosts lost before the wave began: left out of it, not failed, and listed (once each).
        real_hosts_left_out=tuple(
            dict.fromkeys([*rollout.real_hosts_left_out, *(host for group in steered for host in group["lost"])])
        ),
    )
    host_waves = _awaited_waves(steered)
    if host_waves:
        # The wave holds real hosts too: the gate waits for their reports (one wait, HOSTS).
        rollout = replace(rollout, host_waves=host_waves, simulated_outcome=(result["updated"], result["failed"]))
        store.put_region(tables.deployments, deployment_id, rollout)
        return _step("HOSTS", wave_index, spec.wave_timeout_seconds)
    return _gate(tables, deployment, rollout, wave_index, {"": (result["updated"], result["failed"])}, signals=signals)


def _held(tables: Tables, deployment: Deployment, wave_index: int, signals: Signals | None) -> dict[str, Any] | None:
    """The wait before a wave, if it must wait: the deployment is PAUSED (by a person, a failed gate, or
    a freeze that still holds: one that ended resumes it here), a freeze holds it now (it pauses, unless
    it was deployed with an override), or the wave waits for its approval."""
    now = datetime.now(UTC)
    if deployment.status == DeploymentStatus.PAUSED:
        scope = deployment.paused_by_freeze
        holding = freeze.current(tables.regions, now=now) if scope else None
        if not scope or holding:
            seconds = (holding.seconds_left(now) if holding else None) or PAUSE_POLL_SECONDS
            return _step("PAUSED", wave_index, min(seconds, PAUSE_POLL_SECONDS))
        freeze.resume_held(tables, deployment.deployment_id, scope, Act(None, utc_now()))
    frozen = None if deployment.freeze_override else freeze.current(tables.regions, now=now)
    if frozen:
        if freeze.hold(tables, deployment.deployment_id, frozen, utc_now()):
            _tell(signals, event("PAUSED", deployment, status=DeploymentStatus.PAUSED, reason=frozen.refusal()))
        return _step("PAUSED", wave_index, min(frozen.seconds_left(now) or PAUSE_POLL_SECONDS, PAUSE_POLL_SECONDS))
    if wave_index + 1 in deployment.spec.approval_waves and wave_index + 1 not in deployment.approved_waves:
        return _step("APPROVAL", wave_index, PAUSE_POLL_SECONDS)
    return None


def _awaited_waves(steered: list[dict[str, Any]]) -> dict[str, str]:
    """The waves the region's sync steered its real hosts' groups into (group -> wave id), when they hold
    a host to wait for; else none."""
    if sum(group["expected"] for group in steered) == 0:
        return {}
    return {group["group"]: group["waveId"] for group in steered}


def _gate(
    tables: Tables,
    deployment: Deployment,
    rollout: RegionRollout,
    wave_index: int,
    outcomes: dict[str, tuple[int, int]],
    signals: Signals | None = None,
) -> dict[str, Any]:
    """The wave's health gate over the hosts it tried (`outcomes`: updated and failed, of its simulated
    hosts and of its real ones, each judged on its own, so a handful of real hosts failing is not lost
    among thousands of simulated ones), and over the alarms the deployment names: too many failures, or
    an alarm in ALARM, fail it (_gate_failed); else the bake, or the next wave, or the region is done.
    The wave's failure rate is published as a metric either way."""
    rollout = replace(rollout, wave_ended_at=(*rollout.wave_ended_at[:wave_index], utc_now()))
    failure = None
    for which, (updated, failed) in outcomes.items():
        gate = model.gate(rollout.region, wave_index, updated, failed, deployment.spec.max_failure_percent)
        if not gate.passed:
            failure = f"{gate.reason} among its {which}" if which else gate.reason or ""
            break
    if signals is not None:
        tried = sum(updated + failed for updated, failed in outcomes.values())
        failed_hosts = sum(failed for _, failed in outcomes.values())
        signals.wave_failure(rollout.region, 100 * failed_hosts / tried if tried else 0.0)
    failure = failure or _alarm_failure(deployment, rollout, f"wave {wave_index + 1}", signals)
    if failure:
        return _gate_failed(tables, deployment, rollout, wave_index, failure, signals)
    _tell(signals, event("WAVE_PASSED", deployment, region=rollout.region, wave=wave_index + 1))
    return _after_wave(tables, deployment, rollout, wave_index)


def _alarm_failure(deployment: Deployment, rollout: RegionRollout, when: str, signals: Signals | None) -> str | None:
    """The gate's failure when an alarm the deployment names is in ALARM (in the home region or one of
    its regions), naming the alarms; else None."""
    if not deployment.spec.alarms:
        return None
    if signals is None:
        raise RuntimeError(f"deployment {deployment.deployment_id} names alarms, and this step cannot read them")
    firing = signals.alarms_firing(deployment.spec.alarms, deployment.spec.regions)
    if not firing:
        return None
    return f"{rollout.region} {when}: alarm {', '.join(firing)} in ALARM"


def _gate_failed(
    tables: Tables,
    deployment: Deployment,
    rollout: RegionRollout,
    wave_index: int,
    failure: str,
    signals: Signals | None,
) -> dict[str, Any]:
    """A failed gate stops the deployment and rolls the region back (onGateFailure "rollback"), or holds
    it PAUSED at this wave (onGateFailure "pause"): a resume lets the region go on past it, an abort or a
    rollback undoes it."""
    if deployment.spec.on_gate_failure == "pause":
        store.put_region(tables.deployments, deployment.deployment_id, replace(rollout, held_at_gate=wave_index))
        paused = store.change_status(
            tables.deployments,
            deployment.deployment_id,
            DeploymentStatus.PAUSED,
            utc_now(),
            (DeploymentStatus.QUEUED, DeploymentStatus.IN_PROGRESS),
            StatusMove(reason=failure),
        )
        if paused:
            _tell(
                signals,
                event("PAUSED", deployment, status=DeploymentStatus.PAUSED, region=rollout.region, reason=failure),
            )
        return _step("PAUSED", wave_index, PAUSE_POLL_SECONDS)
    store.put_region(tables.deployments, deployment.deployment_id, rollout)
    store.set_stop(tables.deployments, deployment.deployment_id, Stop(ROLLBACK, failure, utc_now()))
    return _step("ROLLBACK", wave_index)


def real_hosts_order(
    tables: Tables, deployment: Deployment, rollout: RegionRollout, wave_index: int | None
) -> dict[str, Any] | None:
    """What the region's real hosts (code_deploy.hosts.fleet_wave) take of wave `wave_index` (None: the
    rollback, to the region's previous build, over every host): the build, the share of each group the
    waves so far hold, and the artifact with the hashes the build's record vouches for. None when the
    build has no such record (an artifact uploaded by hand), which no real host could check."""
    build_id = deployment.build_id if wave_index is not None else rollout.previous_build_id
    record = build_store.get_build_record(tables.builds, build_id) if build_id else None
    artifact = record.artifact if record else None
    if artifact is None or not artifact.piece_root:
        return None
    waves = deployment.spec.waves
    percents = (0.0, 100.0) if wave_index is None else (waves[wave_index - 1] if wave_index else 0.0, waves[wave_index])
    return {
        "buildId": build_id,
        "previousBuildId": rollout.previous_build_id,
        "wave": 0 if wave_index is None else wave_index + 1,
        "percents": list(percents),
        "artifact": {
            "key": artifact.key,
            "bytes": artifact.size,
            "sha256": artifact.artifact_sha256,
            "pieceBytes": artifact.piece_bytes,
            "pieceRoot": artifact.piece_root,
            "piecesKey": artifact.pieces_key,
            "infoHash": artifact.info_hash,
            "torrentKey": artifact.torrent_key,
        },
    }


def await_hosts(
    tables: Tables, invoke: RegionalInvoker, sfn_client, deployment_id: str, region: str, token: str
) -> dict[str, Any]:
    """The start of a wave's (or a rollback's) wait for its real hosts (a waitForTaskToken task): keeps the
    token where what ends the wait early finds it (the region's item: an abort, a later deployment; each
    host group's tally in the region: its last report), and returns at once. Every host having reported before the
    token was kept, or the region stopped meanwhile, it wakes itself."""
    store.set_wait_token(tables.deployments, deployment_id, region, token)
    deployment = store.get(tables.deployments, deployment_id)
    rollout = deployment.regions[region]
    reported = invoke(region, {"action": "await_hosts", "hostWaves": rollout.host_waves, "taskToken": token})
    why = "every host reported" if reported["complete"] else _wait_over(tables, deployment, rollout, "HOSTS")
    if why:
        waits.wake(sfn_client, token, why)
    return {"waiting": why is None, "woken": why}


def hosts_gate(
    tables: Tables,
    invoke: RegionalInvoker,
    deployment_id: str,
    region: str,
    wave_index: int,
    signals: Signals | None = None,
) -> dict[str, Any]:
    """The wave's gate once its real hosts reported or its deadline passed: each real host of the wave
    that did not report its build DEPLOYED counts as failed, beside the simulated hosts' outcome."""
    deployment, rollout, stopped = _region_at_step(tables, deployment_id, region)
    if stopped:
        return stopped
    counted = invoke(region, {"action": "count_hosts", "hostWaves": rollout.host_waves})
    simulated_updated, simulated_failed = rollout.simulated_outcome or (0, 0)
    deployed_by_wave = (*rollout.real_deployed_by_wave[:wave_index], counted["deployed"])
    rollout = replace(
        rollout,
        failed_by_wave=(*rollout.failed_by_wave[:wave_index], simulated_failed + counted["failed"]),
        real_deployed_by_wave=deployed_by_wave,
    )
    outcomes = {
        "simulated hosts": (simulated_updated, simulated_failed),
        "real hosts": (counted["deployed"], counted["failed"]),
    }
    return _gate(tables, deployment, rollout, wave_index, outcomes, signals=signals)


def _after_wave(tables: Tables, deployment: Deployment, rollout: RegionRollout, wave_index: int) -> dict[str, Any]:
    bake = 0 if deployment.promoted else deployment.spec.bake_seconds
    if bake > 0:
        rollout = replace(
            rollout, status=RegionRolloutStatus.BAKING, bake_until=time.time() + bake, bakes=rollout.bakes + 1
        )
        store.put_region(tables.deployments, deployment.deployment_id, rollout)
        return _step("BAKE", wave_index, bake)
    return _next_wave_or_done(tables, deployment, rollout, wave_index)


def _next_wave_or_done(
    tables: Tables, deployment: Deployment, rollout: RegionRollout, wave_index: int
) -> dict[str, Any]:
    if wave_index + 1 < rollout.waves:
        store.put_region(
            tables.deployments,
            deployment.deployment_id,
            replace(rollout, status=RegionRolloutStatus.IN_PROGRESS, bake_until=None, wait_token=None),
        )
        return _step("WAVE", wave_index + 1)
    if rollout.hosts_updated < rollout.hosts_total:
        # Hosts a later deployment took during a wave (their seq is later) are not this build's: read
        # the region's goal, whose deployment took them, and end superseded by it.
        goal = store.get_region_goals(tables.regions, (rollout.region,), deployment.service)[rollout.region]
        if goal.goal_deployment_id != deployment.deployment_id:
            finished = _finish_region(
                tables, deployment, rollout, RegionRolloutStatus.SUPERSEDED, f"superseded by {goal.goal_deployment_id}"
            )
            by = goal.goal_build_id if goal.goal_build_id != deployment.build_id else None
            _report_rollout(tables, deployment, finished, superseded_by=by)
            return _step("END")
    finished = _finish_region(tables, deployment, rollout, RegionRolloutStatus.SUCCEEDED, None)
    _report_rollout(tables, deployment, finished)
    return _step("END")


def bake(
    tables: Tables, deployment_id: str, region: str, wave_index: int, signals: Signals | None = None
) -> dict[str, Any]:
    """A baking region looks again: interrupted, a named alarm in ALARM (the gate fails), promoted (skip
    the rest), still baking, or on."""
    deployment, rollout, stopped = _region_at_step(tables, deployment_id, region)
    if stopped:
        return stopped
    failure = _alarm_failure(deployment, rollout, f"wave {wave_index + 1} bake", signals)
    if failure:
        return _gate_failed(tables, deployment, rollout, wave_index, failure, signals)
    remaining = (rollout.bake_until or 0) - time.time()
    if remaining > 0 and not deployment.promoted:
        return _step("BAKE", wave_index, remaining)
    return _next_wave_or_done(tables, deployment, rollout, wave_index)


def wait(  # noqa: PLR0913 - the wait's task names each of these, and the alarms' reader
    tables: Tables,
    sfn_client,
    deployment_id: str,
    region: str,
    waiting_for: str,
    token: str,
    signals: Signals | None = None,
) -> dict[str, Any]:
    """The start of a region's wait (`waiting_for` BAKE or PAUSED): keeps the task's token on the region's
    item, where what ends the wait early finds it (waits.py), and returns at once; the task then waits
    for SendTaskSuccess or its deadline. Kept first, read after: what happened before the token was kept
    (a resume, a promote, an abort, a later deployment, the bake's end) is seen here, and the wait wakes
    itself."""
    store.set_wait_token(tables.deployments, deployment_id, region, token)
    deployment = store.get(tables.deployments, deployment_id)
    if waiting_for == "BAKE":
        # An alarm the deployment names wakes its bake (gate_alarms): kept first, read after, as the token.
        store.watch_alarms(tables.deployments, deployment.spec.alarms, deployment_id, region, token)
    why = _wait_over(tables, deployment, deployment.regions[region], waiting_for)
    if why is None and waiting_for == "BAKE" and deployment.spec.alarms and signals is not None:
        firing = signals.alarms_firing(deployment.spec.alarms, deployment.spec.regions)
        why = f"alarm {', '.join(firing)} in ALARM" if firing else None
    if why:
        waits.wake(sfn_client, token, why)
    return {"waiting": why is None, "woken": why}


def _wait_over(tables: Tables, deployment: Deployment, rollout: RegionRollout, waiting_for: str) -> str | None:
    """Why the region need not wait (any more), or None."""
    goal = store.get_region_goals(tables.regions, (rollout.region,), deployment.service)[rollout.region]
    if rollout.status.finished:
        return f"the region is {rollout.status}"
    if goal.goal_deployment_id != deployment.deployment_id:
        return f"superseded by {goal.goal_deployment_id}"
    if rollout.status == RegionRolloutStatus.ROLLING_BACK:
        return None  # the deployment's stop is why it rolls back: its hosts' last report wakes it, or its deadline
    if deployment.stop:
        return deployment.reason or deployment.stop
    if waiting_for == "HOSTS":
        return None  # the hosts' last report wakes it, or its deadline
    if waiting_for == "PAUSED":
        return None if deployment.status == DeploymentStatus.PAUSED else f"the deployment is {deployment.status}"
    if waiting_for == "APPROVAL":
        return "approved" if rollout.wave + 1 in deployment.approved_waves else None
    if deployment.promoted:
        return "promoted"
    return "the bake ended" if (rollout.bake_until or 0) <= time.time() else None


def roll_back(tables: Tables, invoke: RegionalInvoker, deployment_id: str, region: str) -> dict[str, Any]:
    """Returns the region's hosts to its previous goal build (activation only where they cache it) and
    gives the region its goal back, unless a later deployment took it meanwhile. Where real hosts took the
    rollback, the region is ROLLING_BACK until they report their return (ROLLBACK_HOSTS: one wait, as a
    wave's, then rollback_hosts); else it ends here and the workflow publishes the notification this
    returns."""
    deployment = store.get(tables.deployments, deployment_id)
    rollout = deployment.regions[region]
    target = rollout.previous_build_id
    rollback_started_at = utc_now()
    result = invoke(
        region,
        {
            "action": "rollback",
            "service": deployment.service,
            "deploymentId": deployment_id,
            "buildId": target,
            "artifactKey": artifact_key(target) if target else None,
            "seq": rollout.seq,
            "realHosts": real_hosts_order(tables, deployment, rollout, None),
        },
    )
    store.report_hosts(tables.regions, region, result["hostsByBuild"], result["hostsVersion"], deployment.service)
    store.restore_goal(tables.regions, region, deployment_id, target, utc_now(), deployment.service)
    rollout = replace(
        rollout,
        hosts_updated=result["hostsByBuild"].get(deployment.build_id, 0),
        rollback_started_at=rollout.rollback_started_at or rollback_started_at,
        rollback_model_seconds=result["modelSeconds"],
    )
    host_waves = _awaited_waves(result.get("realHosts") or [])
    if host_waves:
        rollout = replace(rollout, status=RegionRolloutStatus.ROLLING_BACK, host_waves=host_waves, wait_token=None)
        store.put_region(tables.deployments, deployment_id, rollout)
        return _step("ROLLBACK_HOSTS", rollout.wave, deployment.spec.wave_timeout_seconds)
    return _rolled_back(tables, deployment, rollout, None)


def rollback_hosts(tables: Tables, invoke: RegionalInvoker, deployment_id: str, region: str) -> dict[str, Any]:
    """The end of a region's rollback once its real hosts reported their return, or the wait's deadline
    passed: a host that did not report the build it returns to by then did not return, and the region
    says so (ROLLBACK_FAILED)."""
    deployment = store.get(tables.deployments, deployment_id)
    rollout = deployment.regions[region]
    if rollout.status != RegionRolloutStatus.ROLLING_BACK:  # a retry after the region ended
        return _rollback_notification(deployment, rollout)
    counted = invoke(region, {"action": "count_hosts", "hostWaves": rollout.host_waves})
    return _rolled_back(tables, deployment, rollout, (counted["deployed"], counted["failed"]))


def _rolled_back(
    tables: Tables, deployment: Deployment, rollout: RegionRollout, real_hosts: tuple[int, int] | None
) -> dict[str, Any]:
    """Ends the region's rollback (`real_hosts`: of its real hosts, those that returned and those that
    did not) and answers the notification the workflow publishes."""
    status = RegionRolloutStatus.ABORTED if deployment.stop == ABORT else RegionRolloutStatus.ROLLED_BACK
    reason = deployment.reason
    if real_hosts and real_hosts[1]:
        returned, missing = real_hosts
        status = RegionRolloutStatus.ROLLBACK_FAILED
        reason = (
            f"{reason or 'rolled back'}; {missing} of {returned + missing} real hosts did not report their return "
            f"to {rollout.previous_build_id or 'no build'}"
        )
    finished = _finish_region(tables, deployment, rollout, status, reason)
    _report_rollout(tables, deployment, finished, rolled_back=reason or status.value)
    return _rollback_notification(deployment, finished, real_hosts)


def _rollback_notification(
    deployment: Deployment, rollout: RegionRollout, real_hosts: tuple[int, int] | None = None
) -> dict[str, Any]:
    notification = {
        "deploymentId": deployment.deployment_id,
        "buildId": deployment.build_id,
        "region": rollout.region,
        "status": rollout.status.value,
        "reason": rollout.reason,
        "returnedTo": rollout.previous_build_id,
        "rollbackModelSeconds": rollout.rollback_model_seconds,
    } | ({"realHostsReturned": real_hosts[0], "realHostsNotReturned": real_hosts[1]} if real_hosts else {})
    return _step(
        "END",
        rollout.wave,
        notification=notification,
        subject=f"Deployment {deployment.deployment_id} rolled back in {rollout.region}",
    )


def _report_rollout(
    tables: Tables,
    deployment: Deployment,
    rollout: RegionRollout,
    superseded_by: str | None = None,
    rolled_back: str | None = None,
) -> None:
    """The build's summary in the region, as GET /builds/{id} shows it."""
    model = rollout.model
    build_store.put_rollout_summary(
        tables.builds,
        build_store.RolloutSummary(
            build_id=deployment.build_id,
            region=rollout.region,
            bucket="",
            artifact_key=deployment.artifact_key,
            hosts_total=rollout.hosts_total,
            hosts_deployed=rollout.hosts_updated,
            started_at=rollout.started_at or deployment.created_at,
            completed_at=rollout.completed_at or utc_now(),
            model=build_store.SwarmFigures(**model) if model else None,
            superseded_by=superseded_by,
            rolled_back=rolled_back,
        ),
    )


# An action may land between the end's read and its conditional write: the end reads again.
FINISH_ATTEMPTS = 3


def finish(tables: Tables, deployment_id: str, signals: Signals | None = None) -> dict[str, Any]:
    """The deployment's end, once every region it must undo is undone: a stopped deployment first answers
    UNDO with the regions to roll back (the workflow rolls them back and asks again). Then ABORTED or
    ROLLED_BACK when it stopped, SUPERSEDED when a later deployment took a region over before it finished
    there, else SUCCEEDED. The end is a conditional write: an abort accepted after the read (the deployment
    is ROLLING_BACK from then on) refuses a SUCCEEDED, and the end is read again."""
    for _ in range(FINISH_ATTEMPTS):
        deployment = store.get(tables.deployments, deployment_id)
        if deployment.status.finished:
            return {"next": "END", "status": deployment.status.value}
        if deployment.stop:
            undo = _regions_to_undo(tables, deployment)
            if undo:
                return {"next": "UNDO", "regions": undo}
            deployment = store.get(tables.deployments, deployment_id)  # as settling its regions left it
        final, reason = _outcome(tables, deployment)
        allowed = RUNNING_STATUSES if deployment.stop else ACTIVE_STATUSES
        if store.change_status(tables.deployments, deployment_id, final, utc_now(), allowed, StatusMove(reason=reason)):
            _tell(signals, event(final.value, deployment, status=final, reason=reason))
            return {"next": "END", "status": final.value}
    raise RuntimeError(f"deployment {deployment_id} kept changing while it ended")


def _regions_to_undo(tables: Tables, deployment: Deployment) -> list[str]:
    """The regions a stopped deployment must still roll back: those it left under way (a region it never
    reached is SKIPPED and its goal given back, a region a later deployment took is SUPERSEDED, here), and,
    when it was aborted or its workflow failed, those it finished too. A region a later deployment took is
    left to it."""
    undo_all = deployment.stop in (ABORT, REVERT) or deployment.failure is not None
    undo = []
    for region in deployment.spec.regions:
        rollout = deployment.regions[region]
        if rollout.status == RegionRolloutStatus.SUCCEEDED:
            if undo_all and _goal_of(tables, deployment.service, region).goal_deployment_id == deployment.deployment_id:
                undo.append(region)
        elif not rollout.status.finished and _interrupted(tables, deployment, rollout)["next"] == "ROLLBACK":
            undo.append(region)
    return undo


def _goal_of(tables: Tables, service: str, region: str) -> store.RegionGoal:
    return store.get_region_goals(tables.regions, (region,), service)[region]


def _outcome(tables: Tables, deployment: Deployment) -> tuple[DeploymentStatus, str | None]:
    """The end and its reason, once its regions are settled."""
    if deployment.failure is not None:
        return DeploymentStatus.FAILED, _undo_report(tables, deployment, deployment.failure)
    if deployment.stop == ABORT:
        return DeploymentStatus.ABORTED, _undo_report(tables, deployment, deployment.reason or "", failures_only=True)
    if deployment.stop in (ROLLBACK, REVERT):
        return DeploymentStatus.ROLLED_BACK, _undo_report(
            tables, deployment, deployment.reason or "", failures_only=True
        )
    if any(rollout.status == RegionRolloutStatus.SUPERSEDED for rollout in deployment.regions.values()):
        return DeploymentStatus.SUPERSEDED, "; ".join(
            f"{rollout.region}: {rollout.reason}" for rollout in deployment.regions.values() if rollout.reason
        )
    return DeploymentStatus.SUCCEEDED, deployment.reason


def _undo_report(tables: Tables, deployment: Deployment, reason: str, failures_only: bool = False) -> str:
    """`reason`, then where the undo left each region: back on its previous goal, taken by a later
    deployment, its rollback failed (only those, with `failures_only`), or not rolled back (an undo that
    failed as a whole)."""
    back, notes = [], []
    for region in deployment.spec.regions:
        rollout = deployment.regions[region]
        if rollout.status == RegionRolloutStatus.ROLLBACK_FAILED:
            notes.append(f"{region}: {rollout.reason}")
        elif failures_only:
            continue
        elif rollout.status in (
            RegionRolloutStatus.ROLLED_BACK,
            RegionRolloutStatus.ABORTED,
            RegionRolloutStatus.SKIPPED,
        ):
            back.append(region)
        elif (taken_by := _goal_of(tables, deployment.service, region).goal_deployment_id) != deployment.deployment_id:
            notes.append(f"{region}: taken by {taken_by}")
        else:
            notes.append(f"{region}: not rolled back ({rollout.status})")
    parts = [reason, *([f"back on the previous goal: {', '.join(back)}"] if back else []), *notes]
    return "; ".join(part for part in parts if part)


def fail(tables: Tables, deployment_id: str, error: str, cause: str, undoing: bool = False) -> dict[str, Any]:
    """The workflow itself failed (a step kept failing): the deployment stops (ROLLING_BACK) and records
    why; the workflow then ends it through `finish`, which undoes every region it changed, as an abort
    does, and ends it FAILED saying where each region was left. When the undo itself failed (`undoing`),
    it ends FAILED here, saying which regions are not back."""
    failure = f"the rollout workflow failed: {error}: {cause}"[:1000]
    now = utc_now()
    store.set_stop(tables.deployments, deployment_id, Stop(FAIL, failure, now))
    store.record_failure(tables.deployments, deployment_id, failure, now)
    if not undoing:
        return {"next": "FINISH"}
    deployment = store.get(tables.deployments, deployment_id)
    if deployment.status.finished:
        return {"next": "END", "status": deployment.status.value}
    reason = _undo_report(tables, deployment, deployment.failure or failure)
    if deployment.failure and deployment.failure != failure:
        reason += f"; then its undo failed too: {error}: {cause}"[:1000]
    store.change_status(
        tables.deployments,
        deployment_id,
        DeploymentStatus.FAILED,
        utc_now(),
        RUNNING_STATUSES,
        StatusMove(reason=reason),
    )
    return {"next": "END", "status": DeploymentStatus.FAILED.value}


def rollback_failed(tables: Tables, deployment_id: str, region: str, error: str, cause: str) -> dict[str, Any]:
    """A region whose rollback kept failing while the deployment was undone (best-effort, a region at a
    time): its goal goes back all the same, unless a later deployment took it (its hosts follow when its
    sync answers again), and the region says its rollback failed."""
    deployment = store.get(tables.deployments, deployment_id)
    rollout = deployment.regions[region]
    if rollout.status.finished and rollout.status != RegionRolloutStatus.SUCCEEDED:  # a retry: recorded already
        return {"next": "END"}
    store.restore_goal(tables.regions, region, deployment_id, rollout.previous_build_id, utc_now(), deployment.service)
    _finish_region(
        tables,
        deployment,
        rollout,
        RegionRolloutStatus.ROLLBACK_FAILED,
        f"its rollback failed too ({error}: {cause})"[:1000],
    )
    return {"next": "END"}
