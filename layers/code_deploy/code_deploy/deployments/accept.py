"""Accepting a deployment: the build must be deployable where asked; every region it reaches takes it
as its goal at once (a conditional transaction: the later deployment wins), then its rollout workflow
starts. The plan that predicts it, and AutoDeploy at the end of a replication, take the same path."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from code_deploy.builds import store as build_store
from code_deploy.builds.model import BuildStatus, build_id_for_artifact, utc_now
from code_deploy.deployments import model, store
from code_deploy.deployments.ids import new_deployment_id
from code_deploy.deployments.model import (
    RUNNING_STATUSES,
    DeploymentSpec,
    DeploymentStatus,
    RegionRolloutStatus,
)
from code_deploy.deployments.store import Deployment, DeploymentStatusChange, RegionRollout, Tables
from code_deploy.errors import NotAllowedNow
from code_deploy.regions import RegionalBuckets
from code_deploy.replication import tracking as copy_tracking
from code_deploy.swarm import SwarmParameters


class BuildNotDeployable(NotAllowedNow):
    """The build exists but cannot be deployed where asked (not built, or not in every region's bucket)."""


def deployable_artifact(
    builds_table, copy_tracking_table, build_id: str, regional_buckets: RegionalBuckets, regions: tuple[str, ...]
) -> build_store.ArtifactLocation:
    """The build's artifact, once it is SUCCEEDED and copied to every one of `regions`' buckets.
    Raises build_store.BuildNotFound, or BuildNotDeployable saying what is missing."""
    build = build_store.get_build_record(builds_table, build_id)
    if build is None:
        raise build_store.BuildNotFound(build_id)
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
    artifact = deployable_artifact(tables.builds, copy_tracking_table, spec.build_id, regional_buckets, spec.regions)
    goals = store.get_region_goals(tables.regions, spec.regions)
    already = {region: goal.hosts_by_build.get(spec.build_id, 0) for region, goal in goals.items()}
    fleets = {region: fleet.with_artifact(artifact.size) for region in spec.regions}
    return artifact, model.plan(spec, fleets, already)


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
    region it reaches (else build_store.BuildNotFound or BuildNotDeployable, and nothing written)."""
    artifact = deployable_artifact(tables.builds, copy_tracking_table, spec.build_id, regional_buckets, spec.regions)
    return create_deployment(tables, sfn_client, state_machine_arn, spec, artifact, fleet)


def create_deployment(
    tables: Tables,
    sfn_client,
    state_machine_arn: str,
    spec: DeploymentSpec,
    artifact: build_store.ArtifactLocation,
    fleet: SwarmParameters,
    trigger: str = "api",
    deployment_id: str | None = None,
) -> Deployment:
    """Accepts a deployment: it becomes the goal of every region it reaches (the later deployment wins:
    a conditional transaction), then its rollout workflow starts. Nothing is left half-done: a workflow
    that cannot start marks the deployment FAILED and gives the regions their goals back."""
    now = utc_now()
    deployment_id = deployment_id or new_deployment_id()
    for _ in range(store.ACCEPT_ATTEMPTS):
        goals = store.get_region_goals(tables.regions, spec.regions)
        already = {region: goals[region].hosts_by_build.get(spec.build_id, 0) for region in spec.regions}
        plan = model.plan(spec, {region: fleet.with_artifact(artifact.size) for region in spec.regions}, already)
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
            history=(DeploymentStatusChange(DeploymentStatus.QUEUED.value, now),),
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
            accepted = store.accept(
                tables.dynamodb_client, tables.deployments.name, tables.regions.name, deployment, goals, now
            )
            break
        except store.GoalChanged:
            try:
                return store.get(tables.deployments, deployment_id)  # a retry of one accepted
            except store.DeploymentNotFound:
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
        store.change_status(
            tables.deployments,
            deployment_id,
            DeploymentStatus.FAILED,
            utc_now(),
            RUNNING_STATUSES,
            reason=f"the rollout workflow did not start: {error}",
        )
        for region, rollout in accepted.regions.items():
            store.restore_goal(tables.regions, region, deployment_id, rollout.previous_build_id, utc_now())
        raise
    return accepted


@dataclass(frozen=True)
class Replicated:
    """A replication that just ended: the artifact it copied, each destination's copy, and the execution."""

    source_key: str
    copies: list[dict[str, Any]]  # the Map's results: bucket, status, size ...
    execution_name: str
    started_at: datetime


def auto_deploy(
    tables: Tables,
    sfn_client,
    state_machine_arn: str,
    regional_buckets: RegionalBuckets,
    fleet: SwarmParameters,
    replicated: Replicated,
) -> Deployment | None:
    """AutoDeploy: a build that was just replicated deploys to every region it reached, one wave, through
    the same path as any deployment. The replication's execution name keeps a retry to one deployment."""
    succeeded = [copy for copy in replicated.copies if copy.get("status") == "SUCCEEDED"]
    reached = {copy.get("bucket") for copy in succeeded}
    regions = [region for region in regional_buckets.regions if regional_buckets.bucket_for(region) in reached]
    if not regions:
        return None
    size = int(succeeded[0].get("size", 1))
    build_id = build_id_for_artifact(replicated.source_key, {})
    spec = model.spec_from_request(build_id, regional_buckets.regions, regions=regions)
    return create_deployment(
        tables,
        sfn_client,
        state_machine_arn,
        spec,
        build_store.ArtifactLocation("", replicated.source_key, "", size, 0),
        fleet,
        trigger="auto",
        deployment_id=new_deployment_id(replicated.started_at, unique=replicated.execution_name),
    )
