"""Deployments carried out: accepting one (its regions' goals change at once), the rollout workflow's
steps (statemachine/roll_out_deployment.asl.json runs them: a wave, its health gate, the bake, the
rollback), and the operator's actions (pause, resume, promote, abort).

Each step reads the deployment as it stands and answers the workflow what to do next (`next`): WAVE,
BAKE, PAUSED (wait, then look again), ROLLBACK or END. So a pause, a promote, an abort or a later
deployment is seen at the next step, whichever state the workflow is in; and every step is safe to
run again (the workflow retries it): the hosts' changes and the reports are idempotent.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from code_deploy import deployment_store, deployments, store
from code_deploy.builds import BuildStatus, artifact_key, build_id_for_artifact, utc_now
from code_deploy.deployment_store import ActionNotAllowed, Deployment, RegionRollout, StatusChange
from code_deploy.deployments import RUNNING_STATUSES, DeploymentSpec, DeploymentStatus, RegionRolloutStatus
from code_deploy.errors import NotAllowedNow
from code_deploy.regions import RegionalBuckets
from code_deploy.swarm import SwarmParameters

logger = logging.getLogger(__name__)

PAUSE_POLL_SECONDS = 2  # a paused region looks again this often
BAKE_POLL_SECONDS = 5  # a baking region looks for promote, abort or a later deployment this often
ABORT, ROLLBACK = "ABORT", "ROLLBACK"

# One region's sync function, invoked where the region is: (region, request) -> its answer.
RegionalInvoker = Callable[[str, dict[str, Any]], dict[str, Any]]


def new_deployment_id(now: datetime | None = None, unique: str | None = None) -> str:
    """Sorts by creation time; `unique` (an AutoDeploy's replication) makes it the same on a retry."""
    now = now or datetime.now(UTC)
    suffix = hashlib.sha256(unique.encode()).hexdigest()[:8] if unique else secrets.token_hex(4)
    return f"deploy-{now:%Y%m%dT%H%M%SZ}-{suffix}"


@dataclass(frozen=True)
class Tables:
    deployments: Any  # boto3 Table resources
    regions: Any
    builds: Any
    dynamodb_client: Any  # the resource's client, for the acceptance transaction

    @classmethod
    def of(cls, dynamodb, deployments_table: str, regions_table: str, builds_table: str) -> Tables:
        return cls(
            dynamodb.Table(deployments_table),
            dynamodb.Table(regions_table),
            dynamodb.Table(builds_table),
            dynamodb.meta.client,
        )


# --- accepting a deployment ----------------------------------------------------------------------------------


class BuildNotDeployable(NotAllowedNow):
    """The build exists but cannot be deployed where asked (not built, or not in every region's bucket)."""


def deployable_artifact(
    builds_table, copy_tracking_table, build_id: str, regional_buckets: RegionalBuckets, regions: tuple[str, ...]
) -> store.ArtifactLocation:
    """The build's artifact, once it is SUCCEEDED and copied to every one of `regions`' buckets.
    Raises store.BuildNotFound, or BuildNotDeployable saying what is missing."""
    build = store.get_build_record(builds_table, build_id)
    if build is None:
        raise store.BuildNotFound(build_id)
    if build.status != BuildStatus.SUCCEEDED or build.artifact is None:
        raise BuildNotDeployable(f"build {build_id} is {build.status}, not SUCCEEDED")
    tracking = store.get_copy_tracking(copy_tracking_table, build.artifact.key, build.artifact.bucket)
    missing = [
        region
        for region in regions
        if tracking is None
        or (outcome := tracking.outcome_for(regional_buckets.bucket_for(region))) is None
        or outcome.status != "SUCCEEDED"
    ]
    if missing:
        raise BuildNotDeployable(f"build {build_id} is not in the builds bucket of {', '.join(missing)}")
    return build.artifact


def plan_deployment(
    tables: Tables,
    copy_tracking_table,
    regional_buckets: RegionalBuckets,
    fleet: SwarmParameters,
    spec: deployments.DeploymentSpec,
) -> tuple[store.ArtifactLocation, deployments.DeploymentPlan]:
    """The plan of a deployment of a deployable build: hosts per wave and the predicted time (hosts of a
    region already on the build, as the regions table last heard, are skipped, as the deployment would)."""
    artifact = deployable_artifact(tables.builds, copy_tracking_table, spec.build_id, regional_buckets, spec.regions)
    goals = deployment_store.get_region_goals(tables.regions, spec.regions)
    already = {region: goal.hosts_by_build.get(spec.build_id, 0) for region, goal in goals.items()}
    fleets = {region: fleet.with_artifact(artifact.size) for region in spec.regions}
    return artifact, deployments.plan(spec, fleets, already)


def deploy_build(
    tables: Tables,
    copy_tracking_table,
    regional_buckets: RegionalBuckets,
    sfn_client,
    state_machine_arn: str,
    spec: DeploymentSpec,
    fleet: SwarmParameters,
) -> Deployment:
    """A deployment asked for through the API: of a build that is SUCCEEDED and in the bucket of every
    region it reaches (else store.BuildNotFound or BuildNotDeployable, and nothing written)."""
    artifact = deployable_artifact(tables.builds, copy_tracking_table, spec.build_id, regional_buckets, spec.regions)
    return create_deployment(tables, sfn_client, state_machine_arn, spec, artifact, fleet)


def create_deployment(
    tables: Tables,
    sfn_client,
    state_machine_arn: str,
    spec: DeploymentSpec,
    artifact: store.ArtifactLocation,
    fleet: SwarmParameters,
    trigger: str = "api",
    deployment_id: str | None = None,
) -> Deployment:
    """Accepts a deployment: it becomes the goal of every region it reaches (the later deployment wins:
    a conditional transaction), then its rollout workflow starts. Nothing is left half-done: a workflow
    that cannot start marks the deployment FAILED and gives the regions their goals back."""
    now = utc_now()
    deployment_id = deployment_id or new_deployment_id()
    for _ in range(deployment_store.ACCEPT_ATTEMPTS):
        goals = deployment_store.get_region_goals(tables.regions, spec.regions)
        already = {region: goals[region].hosts_by_build.get(spec.build_id, 0) for region in spec.regions}
        plan = deployments.plan(spec, {region: fleet.with_artifact(artifact.size) for region in spec.regions}, already)
        deployment = Deployment(
            deployment_id=deployment_id,
            build_id=spec.build_id,
            artifact_key=artifact.key,
            artifact_bytes=artifact.size,
            spec=spec,
            status=DeploymentStatus.QUEUED,
            trigger=trigger,
            created_at=now,
            updated_at=now,
            predicted_seconds=plan.seconds,
            history=(StatusChange(DeploymentStatus.QUEUED.value, now),),
            regions={
                region: RegionRollout(
                    region=region,
                    status=RegionRolloutStatus.PENDING,
                    seq=0,
                    previous_build_id=None,
                    hosts_total=fleet.hosts,
                    waves=len(spec.waves),
                    predicted_seconds=plan.regions[region].seconds,
                )
                for region in spec.regions
            },
        )
        try:
            accepted = deployment_store.accept(
                tables.dynamodb_client, tables.deployments.name, tables.regions.name, deployment, goals, now
            )
            break
        except deployment_store.GoalChanged:
            try:
                return deployment_store.get(tables.deployments, deployment_id)  # a retry of one accepted
            except deployment_store.DeploymentNotFound:
                continue  # a region's goal changed under us: read the goals again
    else:
        raise RuntimeError(f"the regions' goals kept changing: {deployment_id} not accepted")
    try:
        sfn_client.start_execution(
            stateMachineArn=state_machine_arn, name=deployment_id, input=json.dumps({"deploymentId": deployment_id})
        )
    except ClientError as error:
        if error.response["Error"]["Code"] == "ExecutionAlreadyExists":
            return accepted
        deployment_store.change_status(
            tables.deployments,
            deployment_id,
            DeploymentStatus.FAILED,
            utc_now(),
            RUNNING_STATUSES,
            reason=f"the rollout workflow did not start: {error}",
        )
        for region, rollout in accepted.regions.items():
            deployment_store.restore_goal(tables.regions, region, deployment_id, rollout.previous_build_id, utc_now())
        raise
    return accepted


def auto_deploy(
    tables: Tables,
    sfn_client,
    state_machine_arn: str,
    regional_buckets: RegionalBuckets,
    fleet: SwarmParameters,
    source_key: str,
    copies: list[dict[str, Any]],
    replication: str,
    replication_started: datetime,
) -> Deployment | None:
    """AutoDeploy: a build that was just replicated deploys to every region it reached, one wave, through
    the same path as any deployment. `replication` (the execution's name) keeps a retry to one deployment."""
    reached = {copy.get("bucket") for copy in copies if copy.get("status") == "SUCCEEDED"}
    regions = [region for region in regional_buckets.regions if regional_buckets.bucket_for(region) in reached]
    if not regions:
        return None
    size = next(int(copy.get("size", 1)) for copy in copies if copy.get("status") == "SUCCEEDED")
    spec = deployments.spec_from_request(build_id_for_artifact(source_key, {}), regional_buckets.regions, regions)
    return create_deployment(
        tables,
        sfn_client,
        state_machine_arn,
        spec,
        store.ArtifactLocation("", source_key, "", size, 0),
        fleet,
        trigger="auto",
        deployment_id=new_deployment_id(replication_started, unique=replication),
    )


# --- the operator's actions ----------------------------------------------------------------------------------


def _refuse(deployment: Deployment, action: str, applies_to: str) -> ActionNotAllowed:
    return ActionNotAllowed(
        f"deployment {deployment.deployment_id} is {deployment.status}: {action} applies to {applies_to}"
    )


def act(tables: Tables, deployment_id: str, action: str) -> Deployment:
    """pause (before the next wave), resume, promote (skip what is left of the bakes) or abort (stop and
    roll back). Each is a conditional write on the deployment's status, so a deployment that finished
    meanwhile refuses it (ActionNotAllowed) instead of taking it."""
    deployment = deployment_store.get(tables.deployments, deployment_id)
    now = utc_now()
    running = "a deployment that is QUEUED, IN_PROGRESS or PAUSED"
    if deployment.status.finished:
        raise _refuse(deployment, action, "a deployment that has not finished")
    if deployment.stop and action != "abort":
        raise ActionNotAllowed(f"deployment {deployment_id} is rolling back ({deployment.reason}): nothing to {action}")
    if action == "pause":
        done = deployment_store.change_status(
            tables.deployments,
            deployment_id,
            DeploymentStatus.PAUSED,
            now,
            (DeploymentStatus.QUEUED, DeploymentStatus.IN_PROGRESS),
        )
        applies_to = "a deployment that is QUEUED or IN_PROGRESS"
    elif action == "resume":
        done = deployment_store.change_status(
            tables.deployments, deployment_id, DeploymentStatus.IN_PROGRESS, now, (DeploymentStatus.PAUSED,)
        )
        applies_to = "a PAUSED deployment"
    elif action == "promote":
        done = deployment_store.set_promoted(tables.deployments, deployment_id, now)
        if done:
            _resume_if_paused(tables, deployment, now, "promoted")
        applies_to = running
    elif action == "abort":
        if deployment.stop:
            raise ActionNotAllowed(f"deployment {deployment_id} is already rolling back ({deployment.reason})")
        done = deployment_store.set_stop(tables.deployments, deployment_id, ABORT, "aborted by request", now)
        if done:
            _resume_if_paused(tables, deployment, now, "aborted by request")  # its regions roll back at once
        applies_to = running
    else:
        raise ValueError(f"unknown action {action}")
    if not done:
        raise _refuse(deployment_store.get(tables.deployments, deployment_id), action, applies_to)
    return deployment_store.get(tables.deployments, deployment_id)


def _resume_if_paused(tables: Tables, deployment: Deployment, now: str, reason: str) -> None:
    if deployment.status == DeploymentStatus.PAUSED:
        deployment_store.change_status(
            tables.deployments,
            deployment.deployment_id,
            DeploymentStatus.IN_PROGRESS,
            now,
            (DeploymentStatus.PAUSED,),
            reason=reason,
        )


# --- the workflow's steps ------------------------------------------------------------------------------------


def start(tables: Tables, deployment_id: str) -> dict[str, Any]:
    deployment_store.change_status(
        tables.deployments, deployment_id, DeploymentStatus.IN_PROGRESS, utc_now(), (DeploymentStatus.QUEUED,)
    )
    deployment = deployment_store.get(tables.deployments, deployment_id)
    return {"deploymentId": deployment_id, "regionWaves": [list(wave) for wave in deployment.spec.region_waves]}


def _step(next_step: str, wave: int = 0, wait_seconds: float = 0, **extra: Any) -> dict[str, Any]:
    return {"next": next_step, "wave": wave, "waitSeconds": max(1, math.ceil(wait_seconds)), **extra}


def _interrupted(tables: Tables, deployment: Deployment, rollout: RegionRollout) -> dict[str, Any] | None:
    """What stops a region at any step: a later deployment took the region (SUPERSEDED), the deployment
    was aborted or failed elsewhere (roll back what it changed; a region it never reached is SKIPPED)."""
    goal = deployment_store.get_region_goals(tables.regions, (rollout.region,))[rollout.region]
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
            deployment_store.restore_goal(
                tables.regions, rollout.region, deployment.deployment_id, rollout.previous_build_id, utc_now()
            )
            _finish_region(tables, deployment, rollout, RegionRolloutStatus.SKIPPED, deployment.reason)
            return _step("END")
        return _step("ROLLBACK", rollout.wave)
    return None


def _finish_region(
    tables: Tables, deployment: Deployment, rollout: RegionRollout, status: RegionRolloutStatus, reason: str | None
) -> RegionRollout:
    finished = replace(rollout, status=status, reason=reason, completed_at=utc_now(), bake_until=None)
    deployment_store.put_region(tables.deployments, deployment.deployment_id, finished)
    return finished


def wave(tables: Tables, invoke: RegionalInvoker, deployment_id: str, region: str, wave_index: int) -> dict[str, Any]:
    """Rolls wave `wave_index` out in the region, then its health gate: too many failures stop the
    deployment and roll the region back; else the bake, or the next wave, or the region is done."""
    deployment = deployment_store.get(tables.deployments, deployment_id)
    rollout = deployment.regions[region]
    if rollout.status.finished:  # a step the workflow retried after the region ended
        return _step("END")
    stopped = _interrupted(tables, deployment, rollout)
    if stopped:
        return stopped
    if deployment.status == DeploymentStatus.PAUSED:
        return _step("PAUSED", wave_index, PAUSE_POLL_SECONDS)
    spec = deployment.spec
    start_host, end_host = deployments.wave_bounds(rollout.hosts_total, spec.waves)[wave_index]
    rollout = replace(
        rollout, status=RegionRolloutStatus.IN_PROGRESS, wave=wave_index + 1, started_at=rollout.started_at or utc_now()
    )
    deployment_store.put_region(tables.deployments, deployment_id, rollout)
    result = invoke(
        region,
        {
            "action": "wave",
            "deploymentId": deployment_id,
            "buildId": deployment.build_id,
            "artifactKey": deployment.artifact_key,
            "seq": rollout.seq,
            "hostRange": [start_host, end_host],
            "failurePercent": spec.simulation.host_failure_percent,
            "seed": spec.simulation.seed,
        },
    )
    deployment_store.report_hosts(tables.regions, region, result["hostsByBuild"], result["hostsVersion"])
    rollout = replace(
        rollout,
        hosts_updated=result["hostsByBuild"].get(deployment.build_id, 0),
        failed_by_wave=(*rollout.failed_by_wave[:wave_index], result["failed"]),
        seconds_by_wave=(*rollout.seconds_by_wave[:wave_index], result["modelSeconds"]),
        model=result.get("model") or rollout.model,
    )
    gate = deployments.gate(region, wave_index, result["updated"], result["failed"], spec.max_failure_percent)
    if not gate.passed:
        deployment_store.put_region(tables.deployments, deployment_id, rollout)
        deployment_store.set_stop(tables.deployments, deployment_id, ROLLBACK, gate.reason or "", utc_now())
        return _step("ROLLBACK", wave_index)
    return _after_wave(tables, deployment, rollout, wave_index)


def _after_wave(tables: Tables, deployment: Deployment, rollout: RegionRollout, wave_index: int) -> dict[str, Any]:
    bake = 0 if deployment.promoted else deployment.spec.bake_seconds
    if bake > 0:
        rollout = replace(
            rollout, status=RegionRolloutStatus.BAKING, bake_until=time.time() + bake, bakes=rollout.bakes + 1
        )
        deployment_store.put_region(tables.deployments, deployment.deployment_id, rollout)
        return _step("BAKE", wave_index, min(bake, BAKE_POLL_SECONDS))
    return _next_wave_or_done(tables, deployment, rollout, wave_index)


def _next_wave_or_done(
    tables: Tables, deployment: Deployment, rollout: RegionRollout, wave_index: int
) -> dict[str, Any]:
    if wave_index + 1 < rollout.waves:
        deployment_store.put_region(
            tables.deployments,
            deployment.deployment_id,
            replace(rollout, status=RegionRolloutStatus.IN_PROGRESS, bake_until=None),
        )
        return _step("WAVE", wave_index + 1)
    finished = _finish_region(tables, deployment, rollout, RegionRolloutStatus.SUCCEEDED, None)
    _report_rollout(tables, deployment, finished)
    return _step("END")


def bake(tables: Tables, deployment_id: str, region: str, wave_index: int) -> dict[str, Any]:
    """A baking region looks again: promoted (skip the rest), interrupted, still baking, or on."""
    deployment = deployment_store.get(tables.deployments, deployment_id)
    rollout = deployment.regions[region]
    stopped = _interrupted(tables, deployment, rollout)
    if stopped:
        return stopped
    remaining = (rollout.bake_until or 0) - time.time()
    if remaining > 0 and not deployment.promoted:
        return _step("BAKE", wave_index, min(remaining, BAKE_POLL_SECONDS))
    return _next_wave_or_done(tables, deployment, rollout, wave_index)


def roll_back(tables: Tables, invoke: RegionalInvoker, deployment_id: str, region: str) -> dict[str, Any]:
    """Returns the region's hosts to its previous goal build (activation only where they cache it) and
    gives the region its goal back, unless a later deployment took it meanwhile; the workflow then
    publishes the notification this returns."""
    deployment = deployment_store.get(tables.deployments, deployment_id)
    rollout = deployment.regions[region]
    target = rollout.previous_build_id
    rollback_started_at = utc_now()
    result = invoke(
        region,
        {
            "action": "rollback",
            "deploymentId": deployment_id,
            "buildId": target,
            "artifactKey": artifact_key(target) if target else None,
            "seq": rollout.seq,
        },
    )
    deployment_store.report_hosts(tables.regions, region, result["hostsByBuild"], result["hostsVersion"])
    deployment_store.restore_goal(tables.regions, region, deployment_id, target, utc_now())
    status = RegionRolloutStatus.ABORTED if deployment.stop == ABORT else RegionRolloutStatus.ROLLED_BACK
    finished = _finish_region(
        tables,
        deployment,
        replace(
            rollout,
            hosts_updated=result["hostsByBuild"].get(deployment.build_id, 0),
            rollback_started_at=rollout.rollback_started_at or rollback_started_at,
            rollback_model_seconds=result["modelSeconds"],
        ),
        status,
        deployment.reason,
    )
    notification = {
        "deploymentId": deployment_id,
        "buildId": deployment.build_id,
        "region": region,
        "status": finished.status.value,
        "reason": deployment.reason,
        "returnedTo": target,
        "rollbackModelSeconds": result["modelSeconds"],
    }
    return _step(
        "END", rollout.wave, notification=notification, subject=f"Deployment {deployment_id} rolled back in {region}"
    )


def _report_rollout(
    tables: Tables, deployment: Deployment, rollout: RegionRollout, superseded_by: str | None = None
) -> None:
    """The build's summary in the region, as GET /builds/{id} shows it."""
    model = rollout.model
    store.put_rollout_summary(
        tables.builds,
        store.RolloutSummary(
            build_id=deployment.build_id,
            region=rollout.region,
            bucket="",
            artifact_key=deployment.artifact_key,
            hosts_total=rollout.hosts_total,
            hosts_deployed=rollout.hosts_updated,
            started_at=rollout.started_at or deployment.created_at,
            completed_at=rollout.completed_at or utc_now(),
            model=store.RolloutModel(**model) if model else None,
            superseded_by=superseded_by,
        ),
    )


def finish(tables: Tables, deployment_id: str) -> dict[str, Any]:
    """The deployment's end, from its regions: ABORTED or ROLLED_BACK when it stopped, SUPERSEDED when a
    later deployment took a region over before it finished there, else SUCCEEDED."""
    deployment = deployment_store.get(tables.deployments, deployment_id)
    if deployment.status.finished:
        return {"status": deployment.status.value}
    statuses = {rollout.status for rollout in deployment.regions.values()}
    if deployment.stop == ABORT:
        final = DeploymentStatus.ABORTED
    elif deployment.stop == ROLLBACK:
        final = DeploymentStatus.ROLLED_BACK
    elif RegionRolloutStatus.SUPERSEDED in statuses:
        final = DeploymentStatus.SUPERSEDED
    else:
        final = DeploymentStatus.SUCCEEDED
    reason = deployment.reason
    if final == DeploymentStatus.SUPERSEDED:
        reason = "; ".join(
            f"{rollout.region}: {rollout.reason}" for rollout in deployment.regions.values() if rollout.reason
        )
    deployment_store.change_status(tables.deployments, deployment_id, final, utc_now(), RUNNING_STATUSES, reason=reason)
    return {"status": final.value}


def fail(tables: Tables, deployment_id: str, error: str, cause: str) -> dict[str, Any]:
    """The workflow itself failed (a step kept failing): the deployment is FAILED with the error."""
    deployment_store.change_status(
        tables.deployments,
        deployment_id,
        DeploymentStatus.FAILED,
        utc_now(),
        RUNNING_STATUSES,
        reason=f"the rollout workflow failed: {error}: {cause}"[:1000],
    )
    return {"status": DeploymentStatus.FAILED.value}
