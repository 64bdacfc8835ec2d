"""A build's status as a client reads it: built, replicated where, rolled out to how many hosts.

`read_build` is the one read of a build: the API, the demo, the benchmark and the load test all use it.
"""

from __future__ import annotations

from code_deploy import store
from code_deploy.builds import BuildStatus
from code_deploy.models import (
    Artifact,
    BuildView,
    DeploymentStatus,
    RegionCopyStatus,
    RegionStatus,
    Replication,
    ReplicationStatus,
    RolloutModel,
    StatusChange,
)
from code_deploy.regions import RegionalBuckets
from code_deploy.store import BuildRecord, CopyTracking, RolloutSummary


def read_build(
    builds_table, copy_tracking_table, build_id: str, regional_buckets: RegionalBuckets, hosts_per_region: int
) -> BuildView:
    """The build, its replication and its rollouts, joined: one Query and one GetItem, no Scan.
    Raises store.BuildNotFound for an unknown build."""
    found = store.get_build_with_rollouts(builds_table, build_id)
    tracking = None
    if found.build.artifact:
        tracking = store.get_copy_tracking(copy_tracking_table, found.build.artifact.key, found.build.artifact.bucket)
    return build_view(found.build, found.rollouts, tracking, regional_buckets, hosts_per_region)


def replication_of(tracking: CopyTracking | None) -> Replication:
    if not tracking:
        return Replication(status=ReplicationStatus.NOT_STARTED)
    return Replication(
        status=ReplicationStatus(tracking.status),
        executionId=tracking.execution_id,
        startedAt=tracking.started_at,
        completedAt=tracking.completed_at,
        successfulCopies=tracking.successful_copies,
        failedCopies=tracking.failed_copies,
    )


def deployment_status(
    build_status: BuildStatus, replication: Replication, regions: list[RegionStatus]
) -> DeploymentStatus:
    if build_status in (BuildStatus.QUEUED, BuildStatus.BUILDING):
        return DeploymentStatus(build_status.value)
    if build_status == BuildStatus.FAILED:
        return DeploymentStatus.FAILED
    if replication.status in (ReplicationStatus.FAILED, ReplicationStatus.PARTIAL_FAILURE):
        return DeploymentStatus.FAILED
    if all(region.hostsDeployed >= region.hostsTotal and region.rolloutCompletedAt for region in regions):
        return DeploymentStatus.DEPLOYED
    if replication.status in (ReplicationStatus.NOT_STARTED, ReplicationStatus.IN_PROGRESS):
        return DeploymentStatus.REPLICATING
    return DeploymentStatus.ROLLING_OUT


def _rollout_model(rollout: RolloutSummary | None) -> RolloutModel | None:
    if rollout is None or rollout.model is None:
        return None
    model = rollout.model
    return RolloutModel(
        method=model.method,
        pieces=model.pieces,
        rounds=model.rounds,
        seconds=model.seconds,
        physicalLimitSeconds=model.physical_limit_seconds,
        directFromBucketSeconds=model.direct_from_bucket_seconds,
    )


def region_status(
    region: str, bucket: str, tracking: CopyTracking | None, rollout: RolloutSummary | None, hosts_per_region: int
) -> RegionStatus:
    copy = tracking.outcome_for(bucket) if tracking else None
    return RegionStatus(
        region=region,
        bucket=bucket,
        replication=RegionCopyStatus(copy.status) if copy else RegionCopyStatus.PENDING,
        replicationError=copy.error if copy else None,
        hostsTotal=rollout.hosts_total if rollout else hosts_per_region,
        hostsDeployed=rollout.hosts_deployed if rollout else 0,
        rolloutStartedAt=rollout.started_at if rollout else None,
        rolloutCompletedAt=rollout.completed_at if rollout else None,
        rolloutModel=_rollout_model(rollout),
    )


def build_view(
    build: BuildRecord,
    rollouts: dict[str, RolloutSummary],
    tracking: CopyTracking | None,
    regional_buckets: RegionalBuckets,
    hosts_per_region: int,
) -> BuildView:
    """Joins the build record, its rollout summaries and the state machine's tracking row."""
    regions = [
        region_status(region, regional_buckets.bucket_for(region), tracking, rollouts.get(region), hosts_per_region)
        for region in regional_buckets.regions
    ]
    artifact = None
    if build.artifact:
        artifact = Artifact(
            bucket=build.artifact.bucket,
            key=build.artifact.key,
            sha256=build.artifact.sha256,
            sizeBytes=build.artifact.size,
            payloadBytes=build.artifact.payload_size,
        )
    replication = replication_of(tracking)
    return BuildView(
        buildId=build.build_id,
        commit=build.commit,
        status=build.status,
        deploymentStatus=deployment_status(build.status, replication, regions),
        failureReason=build.failure_reason,
        queuedAt=build.queued_at,
        buildingAt=build.building_at,
        builtAt=build.built_at,
        failedAt=build.failed_at,
        artifact=artifact,
        replication=replication,
        regions=regions,
        statusHistory=[
            StatusChange(status=change.status, at=change.at, reason=change.reason) for change in build.history
        ],
    )
