"""Accepting a deployment: the build must be deployable where asked; every region it reaches takes it
as its goal at once (a conditional transaction: the later deployment wins), then its rollout workflow
starts. The plan that predicts it, and AutoDeploy at the end of a replication, take the same path.

Goals change here, so here the regions' copies of the builds are tagged for the buckets' lifecycle rules
(code_deploy.replication.retention): the deployment's build is pinned in every region it reaches before
its goals commit, and the builds the new goals no longer name are released after."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from code_deploy.builds import store as build_store
from code_deploy.builds.model import BuildStatus, artifact_key, build_id_for_artifact, utc_now
from code_deploy.deployments import freeze, model, store, waits
from code_deploy.deployments.ids import new_deployment_id
from code_deploy.deployments.model import (
    RUNNING_STATUSES,
    DeploymentSpec,
    DeploymentStatus,
    RegionRolloutStatus,
)
from code_deploy.deployments.store import Deployment, DeploymentStatusChange, RegionGoal, RegionRollout, Tables
from code_deploy.errors import NotAllowedNow
from code_deploy.regions import RegionalBuckets
from code_deploy.replication import retention
from code_deploy.replication import tracking as copy_tracking
from code_deploy.replication.retention import RegionalCopies
from code_deploy.services import store as service_store
from code_deploy.services.model import DEFAULT_SERVICE, OtherServicesBuild, Service, ServiceNotFound
from code_deploy.swarm import SwarmParameters

logger = logging.getLogger(__name__)


class BuildNotDeployable(NotAllowedNow):
    """The build exists but cannot be deployed where asked (not built, or not in every region's bucket)."""


def deployment_service(tables: Tables, build_id: str, asked: str | None, known_regions: tuple[str, ...]) -> Service:
    """The service a deployment of the build targets: the build's, which a request may name but not change
    (OtherServicesBuild, 409). Raises build_store.BuildNotFound, or ServiceNotFound (the service is gone)."""
    build = build_store.get_build_record(tables.builds, build_id)
    if build is None:
        raise build_store.BuildNotFound(build_id)
    if asked is not None and asked != build.service:
        get_service(tables, asked, known_regions)  # a service that does not exist is not found (404) first
        raise OtherServicesBuild(build_id, build.service, asked)
    return get_service(tables, build.service, known_regions)


def get_service(tables: Tables, name: str, known_regions: tuple[str, ...]) -> Service:
    """The service (ServiceNotFound); a stack without a services table has the default one alone."""
    if name != DEFAULT_SERVICE and tables.services is None:
        raise ServiceNotFound(name)
    return service_store.get(tables.services, name, known_regions)


def deployable_artifact(
    builds_table,
    copy_tracking_table,
    build_id: str,
    regional_buckets: RegionalBuckets,
    regions: tuple[str, ...],
    service: str = DEFAULT_SERVICE,
) -> build_store.ArtifactLocation:
    """The build's artifact, once it is SUCCEEDED and copied to every one of `regions`' buckets.
    Raises build_store.BuildNotFound, OtherServicesBuild (the build is another service's), or
    BuildNotDeployable saying what is missing."""
    build = build_store.get_build_record(builds_table, build_id)
    if build is None:
        raise build_store.BuildNotFound(build_id)
    if build.service != service:
        raise OtherServicesBuild(build_id, build.service, service)
    if build.status != BuildStatus.SUCCEEDED or build.artifact is None:
        raise BuildNotDeployable(f"build {build_id} is {build.status}, not SUCCEEDED")
    tracking = copy_tracking.get_copy_tracking(copy_tracking_table, build.artifact.key, build.artifact.bucket)
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
    spec: model.DeploymentSpec,
) -> tuple[build_store.ArtifactLocation, model.DeploymentPlan]:
    """The plan of a deployment of a deployable build: hosts per wave and the predicted time (hosts of a
    region already on the build, as the regions table last heard, are skipped, as the deployment would)."""
    artifact = deployable_artifact(
        tables.builds, copy_tracking_table, spec.build_id, regional_buckets, spec.regions, spec.service
    )
    goals = store.get_region_goals(tables.regions, spec.regions, spec.service)
    return artifact, plan_from_goals(spec, goals, fleet, artifact.size)


def plan_from_goals(
    spec: DeploymentSpec, goals: dict[str, store.RegionGoal], fleet: SwarmParameters, artifact_bytes: int
) -> model.DeploymentPlan:
    """The plan of a deployment from the regions' goals and hosts as they last reported them: what
    POST /deployments/plan answers and what a deployment predicts when it is accepted."""
    before = {region: goals[region].before(spec.build_id) for region in spec.regions}
    return model.plan(spec, {region: fleet.with_artifact(artifact_bytes) for region in spec.regions}, before)


@dataclass(frozen=True)
class Rollouts:
    """What every accepted deployment goes through: the tables its record and the regions' goals are written
    to, the rollout workflow it starts (a Step Functions client and the state machine's ARN), and the regions'
    hosts as the swarm model plans them."""

    tables: Tables
    sfn_client: Any
    state_machine_arn: str
    fleet: SwarmParameters
    # Of the alarms named, those that exist in none of the given regions (signals.unknown_alarms, with the
    # home region added); None: the deployment may name no alarm.
    unknown_alarms: Callable[[tuple[str, ...], tuple[str, ...]], list[str]] | None = None


@dataclass(frozen=True)
class Requester:
    """Who asks for a deployment: the caller's SigV4 principal (None: AutoDeploy), how (api or auto), and
    the reason given to pass a freeze (freezeOverride), recorded on the deployment with who gave it."""

    by: str | None = None
    trigger: str = "api"
    freeze_override: str | None = None


def deploy_build(
    rollouts: Rollouts,
    copy_tracking_table,
    regional_buckets: RegionalBuckets,
    spec: DeploymentSpec,
    s3_for_region: Callable[[str], Any] | None = None,
    requester: Requester | None = None,
) -> Deployment:
    """A deployment asked for through the API: of a build that is SUCCEEDED and in the bucket of every
    region it reaches (else build_store.BuildNotFound or BuildNotDeployable, and nothing written), naming
    alarms that exist (else model.InvalidDeployment), while no freeze holds (else freeze.Frozen) unless
    it overrides it. With `s3_for_region` (a region's S3 client) the regions' copies are tagged for their
    lifecycle rules."""
    requester = requester or Requester()
    refuse_if_frozen(rollouts.tables.regions, spec.service, requester.freeze_override)
    if spec.alarms:
        if rollouts.unknown_alarms is None:
            raise model.InvalidDeployment("alarms: this deployment path reads no alarms")
        unknown = rollouts.unknown_alarms(spec.alarms, spec.regions)
        if unknown:
            raise model.InvalidDeployment(
                f"alarms: no CloudWatch alarm {', '.join(unknown)} in the home region or {', '.join(spec.regions)}"
            )
    artifact = deployable_artifact(
        rollouts.tables.builds, copy_tracking_table, spec.build_id, regional_buckets, spec.regions, spec.service
    )
    copies = RegionalCopies(regional_buckets, s3_for_region) if s3_for_region else None
    return create_deployment(rollouts, spec, artifact, copies=copies, requester=requester)


def create_deployment(
    rollouts: Rollouts,
    spec: DeploymentSpec,
    artifact: build_store.ArtifactLocation,
    *,
    deployment_id: str | None = None,
    copies: RegionalCopies | None = None,
    requester: Requester | None = None,
) -> Deployment:
    """Accepts a deployment: it becomes the goal of every region it reaches (the later deployment wins:
    a conditional transaction), then its rollout workflow starts. Nothing is left half-done: a workflow
    that cannot start marks the deployment FAILED and gives the regions their goals back.

    With `copies`, the build's copy in each region is pinned first (BuildNotDeployable, and nothing
    written, where the lifecycle rule has expired it), and once the workflow runs, the builds the new
    goals no longer name are released."""
    tables = rollouts.tables
    now = utc_now()
    requester = requester or Requester()
    override = (
        (store.Act(requester.by, now).entry("freezeOverride", reason=requester.freeze_override),)
        if requester.freeze_override
        else ()
    )
    deployment_id = deployment_id or new_deployment_id()
    if copies:
        _pin(tables, copies, spec, artifact.key)
    # A service other than the default counts its deployments on its item, which must still exist.
    counted = spec.service != DEFAULT_SERVICE
    if counted and tables.services is None:
        raise ServiceNotFound(spec.service)
    for _ in range(store.ACCEPT_ATTEMPTS):
        goals = store.get_region_goals(tables.regions, spec.regions, spec.service)
        plan = plan_from_goals(spec, goals, rollouts.fleet, artifact.size)
        deployment = Deployment(
            deployment_id=deployment_id,
            build_id=spec.build_id,
            artifact_key=artifact.key,
            artifact_bytes=artifact.size,
            spec=spec,
            status=DeploymentStatus.QUEUED,
            trigger=requester.trigger,
            created_by=requester.by,
            actions=override,
            created_at=now,
            updated_at=now,
            predicted_seconds=plan.seconds,
            history=(DeploymentStatusChange(DeploymentStatus.QUEUED.value, now, by=requester.by),),
            regions={
                region: RegionRollout(
                    region=region,
                    status=RegionRolloutStatus.PENDING,
                    seq=0,
                    previous_build_id=None,
                    hosts_total=rollouts.fleet.hosts,
                    waves=len(spec.waves),
                    predicted_seconds=plan.regions[region].seconds,
                    predicted_seconds_by_wave=tuple(wave.seconds for wave in plan.regions[region].waves),
                    hosts_already_on_build=plan.regions[region].hosts_already_on_build,
                )
                for region in spec.regions
            },
        )
        try:
            accepted = store.accept_in(tables, deployment, goals, now)
            break
        except store.GoalChanged:
            try:
                return store.get(tables.deployments, deployment_id)  # a retry of one accepted
            except store.DeploymentNotFound:
                if counted:
                    service_store.get(tables.services, spec.service, ())  # ServiceNotFound: deleted meanwhile
                continue  # a region's goal changed under us: read the goals again
    else:
        raise RuntimeError(f"the regions' goals kept changing: {deployment_id} not accepted")
    try:
        rollouts.sfn_client.start_execution(
            stateMachineArn=rollouts.state_machine_arn,
            name=deployment_id,
            input=json.dumps({"deploymentId": deployment_id}),
        )
    except ClientError as error:
        if error.response["Error"]["Code"] == "ExecutionAlreadyExists":
            _wake_overtaken(tables, rollouts.sfn_client, goals, deployment_id)
            return accepted
        store.change_status(
            tables.deployments,
            deployment_id,
            DeploymentStatus.FAILED,
            utc_now(),
            RUNNING_STATUSES,
            move=store.StatusMove(reason=f"the rollout workflow did not start: {error}"),
        )
        for region, rollout in accepted.regions.items():
            store.restore_goal(
                tables.regions, region, deployment_id, rollout.previous_build_id, utc_now(), spec.service
            )
        raise
    if copies:
        _release(tables, copies, accepted, goals)
    _wake_overtaken(tables, rollouts.sfn_client, goals, deployment_id)
    return accepted


def _pin(tables: Tables, copies: RegionalCopies, spec: DeploymentSpec, key: str) -> None:
    """Keeps the build's copy in each region: its goal is about to name it. Where a copy has expired,
    the deployment is refused, and the copies pinned on the way are released again where no goal of its
    service (the only goals that may name it) names the build."""
    build_id = spec.build_id
    gone, pinned = [], []
    for region in spec.regions:
        try:
            copies.tag(region, key, retention.PINNED)
            pinned.append(region)
        except ClientError as error:
            if not retention.is_gone(error):
                raise
            gone.append(region)
    if gone:
        goals = store.get_region_goals(tables.regions, tuple(pinned), spec.service)
        for region in pinned:
            if build_id not in _named(goals[region]):
                copies.tag(region, key, retention.EXPIRABLE)
        raise BuildNotDeployable(
            f"{key} is no longer in the builds bucket of {', '.join(gone)}: it expired once no region's goal "
            "named it (ArtifactRetentionDays); build the commit again"
        )


def _named(goal: RegionGoal) -> set[str]:
    return {build for build in (goal.goal_build_id, goal.previous_build_id) if build}


def _release(tables: Tables, copies: RegionalCopies, accepted: Deployment, before: dict[str, RegionGoal]) -> None:
    """Releases, in each region the deployment reached, the builds its goals named before and no longer
    do: the goal before last, and the build of a deployment rolled back there since (a rollback restores
    the goal but keeps the deployment that set it). Then pins the deployment's build again, and any
    released build a goal names again meanwhile (a concurrent acceptance), so the last tag written is
    the one the goals say. A tag that cannot be written is logged, not raised: the deployment runs, and
    a copy left pinned is only kept longer."""
    builds_of: dict[str, str | None] = {}
    released: dict[str, set[str]] = {}
    try:
        for region, rollout in accepted.regions.items():
            goal = before[region]
            named = _named(goal)
            if goal.goal_deployment_id and goal.goal_deployment_id != accepted.deployment_id:
                if goal.goal_deployment_id not in builds_of:
                    builds_of[goal.goal_deployment_id] = store.build_of(tables.deployments, goal.goal_deployment_id)
                named.add(builds_of[goal.goal_deployment_id] or "")
            released[region] = named - {accepted.build_id, rollout.previous_build_id, ""}
            for build in released[region]:
                _tag_if_there(copies, region, artifact_key(build), retention.EXPIRABLE)
        again = store.get_region_goals(tables.regions, tuple(accepted.regions), accepted.service)
        for region, builds in released.items():
            named_now = _named(again[region])
            if accepted.build_id in named_now:
                _tag_if_there(copies, region, accepted.artifact_key, retention.PINNED)
            for build in builds & named_now:
                _tag_if_there(copies, region, artifact_key(build), retention.PINNED)
    except ClientError as error:
        logger.warning("artifact copies not tagged: kept until a later deployment", extra={"error": str(error)})


def _tag_if_there(copies: RegionalCopies, region: str, key: str, value: str) -> None:
    try:
        copies.tag(region, key, value)
    except ClientError as error:
        if not retention.is_gone(error):  # nothing to keep or release: an artifact uploaded by hand elsewhere
            raise


def _wake_overtaken(tables: Tables, sfn_client, goals: dict[str, store.RegionGoal], deployment_id: str) -> None:
    """Wakes the deployments whose regions this one just took, where they wait (a bake, a pause): each
    ends SUPERSEDED there at once. Best-effort, after this one is accepted and started: one not woken
    sees it at its wait's deadline (the bake's end, or within a day of pause)."""
    for region, goal in goals.items():
        overtaken = goal.goal_deployment_id
        if overtaken is None or overtaken == deployment_id:
            continue
        token = waits.waiting_token(store.get_region(tables.deployments, overtaken, region))
        if token is None:
            continue
        try:
            waits.wake(sfn_client, token, f"superseded by {deployment_id}")
        except ClientError:
            logger.warning("could not wake %s in %s", overtaken, region, exc_info=True)


@dataclass(frozen=True)
class Replicated:
    """A replication that just ended: the artifact it copied, each destination's copy, and the execution."""

    source_key: str
    copies: list[dict[str, Any]]  # the Map's results: bucket, status, size ...
    execution_name: str
    started_at: datetime


def refuse_if_frozen(regions_table, service: str | None = None, override: str | None = None) -> None:
    """freeze.Frozen, quoting its reason, while a freeze of everything (or of `service`) holds and the
    request does not override it."""
    if override:
        return
    frozen = freeze.current(regions_table) or (freeze.current(regions_table, service) if service else None)
    if frozen:
        raise freeze.Frozen(frozen.refusal())


def auto_deploy(
    rollouts: Rollouts,
    regional_buckets: RegionalBuckets,
    replicated: Replicated,
    s3_for_region: Callable[[str], Any] | None = None,
) -> Deployment | None:
    """AutoDeploy: a build that was just replicated deploys to every region of its service it reached, one
    wave, through the same path as any deployment. The replication's execution name keeps a retry to one
    deployment. Nothing is deployed while a freeze holds, nor the build of a service deleted since."""
    frozen = freeze.current(rollouts.tables.regions)
    if frozen:
        logger.warning("AutoDeploy skipped: %s", frozen.refusal())
        return None
    build_id = build_id_for_artifact(replicated.source_key, {})
    build = build_store.get_build_record(rollouts.tables.builds, build_id)
    try:
        service = get_service(
            rollouts.tables, build.service if build else DEFAULT_SERVICE, tuple(regional_buckets.regions)
        )
    except ServiceNotFound:
        logger.warning("not deployed: its service is gone", extra={"build_id": build_id})
        return None
    succeeded = [copy for copy in replicated.copies if copy.get("status") == "SUCCEEDED"]
    reached = {copy.get("bucket") for copy in succeeded}
    regions = [region for region in service.regions if regional_buckets.bucket_for(region) in reached]
    if not regions:
        return None
    size = int(succeeded[0].get("size", 1))
    spec = model.spec_from_request(build_id, regional_buckets.regions, regions=regions, service=service.name)
    return create_deployment(
        rollouts,
        spec,
        build_store.ArtifactLocation("", replicated.source_key, "", size, 0),
        requester=Requester(trigger="auto"),
        deployment_id=new_deployment_id(replicated.started_at, unique=replicated.execution_name),
        copies=RegionalCopies(regional_buckets, s3_for_region) if s3_for_region else None,
    )
