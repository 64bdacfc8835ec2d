"""A build's status as a client reads it: built, replicated where, rolled out to how many hosts."""

from __future__ import annotations

from typing import Any

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
from code_deploy.store import BUILD_RECORD, iter_regions


def replication_of(copy_tracking: dict[str, Any] | None) -> Replication:
    if not copy_tracking:
        return Replication(status=ReplicationStatus.NOT_STARTED)
    return Replication(
        status=ReplicationStatus(copy_tracking.get("status", ReplicationStatus.IN_PROGRESS)),
        executionId=copy_tracking.get("executionId"),
        startedAt=copy_tracking.get("startTime"),
        completedAt=copy_tracking.get("completeTime"),
        successfulCopies=int(copy_tracking.get("successfulCopies", 0)),
        failedCopies=int(copy_tracking.get("failedCopies", 0)),
    )


def _copy_results_by_bucket(copy_tracking: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    results = (copy_tracking or {}).get("results") or []
    return {result["bucket"]: result for result in results}


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


def _rollout_model(rollout: dict[str, Any]) -> RolloutModel | None:
    if "modelSeconds" not in rollout:
        return None
    return RolloutModel(
        method=rollout["planMethod"],
        pieces=int(rollout["pieces"]),
        rounds=int(rollout["rounds"]),
        seconds=float(rollout["modelSeconds"]),
        physicalLimitSeconds=float(rollout["physicalLimitSeconds"]),
        directFromBucketSeconds=float(rollout["directFromBucketSeconds"]),
    )


def build_view(
    items: list[dict[str, Any]],
    copy_tracking: dict[str, Any] | None,
    regional_buckets: RegionalBuckets,
    hosts_per_region: int,
) -> BuildView:
    """Joins the build record, its rollout summaries and the state machine's tracking row."""
    record = next(item for item in items if item["record"] == BUILD_RECORD)
    rollouts = iter_regions(items)
    copies = _copy_results_by_bucket(copy_tracking)
    regions = []
    for region in regional_buckets.regions:
        bucket = regional_buckets.bucket_for(region)
        copy = copies.get(bucket, {})
        rollout = rollouts.get(region, {})
        regions.append(
            RegionStatus(
                region=region,
                bucket=bucket,
                replication=RegionCopyStatus(copy.get("status", RegionCopyStatus.PENDING)),
                replicationError=copy.get("error"),
                hostsTotal=int(rollout.get("hostsTotal", hosts_per_region)),
                hostsDeployed=int(rollout.get("hostsDeployed", 0)),
                rolloutCompletedAt=rollout.get("completedAt"),
                rolloutModel=_rollout_model(rollout),
            )
        )
    artifact = None
    if record.get("artifactKey"):
        artifact = Artifact(
            bucket=record["artifactBucket"],
            key=record["artifactKey"],
            sha256=record["sha256"],
            sizeBytes=int(record["artifactSize"]),
            payloadBytes=int(record["payloadSize"]),
        )
    build_status = BuildStatus(record["status"])
    replication = replication_of(copy_tracking)
    return BuildView(
        buildId=record["build_id"],
        commit=record["commit"],
        status=build_status,
        deploymentStatus=deployment_status(build_status, replication, regions),
        failureReason=record.get("failureReason"),
        queuedAt=record["queuedAt"],
        buildingAt=record.get("buildingAt"),
        builtAt=record.get("builtAt"),
        failedAt=record.get("failedAt"),
        artifact=artifact,
        replication=replication,
        regions=regions,
        statusHistory=[StatusChange(**change) for change in record.get("statusHistory", [])],
    )
