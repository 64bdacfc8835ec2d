"""A build's status as a client reads it: built, replicated where, rolled out to how many hosts.

`read_build` is the one read of a build: the API, the demo, the benchmark and the load test all use it."""

from __future__ import annotations

from code_deploy import paging
from code_deploy.builds import store
from code_deploy.builds.model import BuildStatus
from code_deploy.builds.schema import (
    Artifact,
    BuildHistoryEntry,
    BuildList,
    BuildProgress,
    BuildSummary,
    BuildView,
    HistoryStatus,
    RegionCopyStatus,
    RegionStatus,
    Replication,
    ReplicationStatus,
    RolloutModel,
)
from code_deploy.builds.store import BuildRecord, RolloutSummary
from code_deploy.regions import RegionalBuckets
from code_deploy.replication import tracking as copy_tracking
from code_deploy.replication.tracking import CopyTracking


def read_build(
    builds_table, copy_tracking_table, build_id: str, regional_buckets: RegionalBuckets, hosts_per_region: int
) -> BuildView:
    """The build, its replication and its rollouts, joined: one Query and one GetItem, no Scan.
    Raises store.BuildNotFound for an unknown build."""
    found = store.get_build_with_rollouts(builds_table, build_id)
    tracking = None
    if found.build.artifact:
        tracking = copy_tracking.get_copy_tracking(
            copy_tracking_table, found.build.artifact.key, found.build.artifact.bucket
        )
    return build_view(found.build, found.rollouts, tracking, regional_buckets, hosts_per_region)


# A replication that ended so copied nothing to a region it has no outcome for.
_REPLICATION_ENDED_BADLY = (ReplicationStatus.FAILED.value, ReplicationStatus.PARTIAL_FAILURE.value)


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


def build_progress(build_status: BuildStatus, replication: Replication, regions: list[RegionStatus]) -> BuildProgress:
    if build_status in (BuildStatus.QUEUED, BuildStatus.BUILDING):
        return BuildProgress(build_status.value)
    if build_status == BuildStatus.FAILED:
        return BuildProgress.FAILED
    if replication.status in (ReplicationStatus.FAILED, ReplicationStatus.PARTIAL_FAILURE):
        return BuildProgress.FAILED
    if any(region.rolledBack for region in regions):  # its deployment undid it: final, whatever else ran
        return BuildProgress.FAILED
    # A region's rollout summary is written when its rollout ends: once every region's has, the build's
    # status is final, whatever hosts it holds (a later deployment took some: SUPERSEDED; hosts that
    # failed their update within the health gate's allowance are counted in the region's figures).
    if all(region.rolloutCompletedAt for region in regions):
        if any(region.supersededBy for region in regions):
            return BuildProgress.SUPERSEDED
        return BuildProgress.DEPLOYED
    # A region rolls out as soon as its copy lands, while the others' copies may still be under way.
    started_rolling_out = any(region.rolloutStartedAt for region in regions)
    if not started_rolling_out and replication.status in (ReplicationStatus.NOT_STARTED, ReplicationStatus.IN_PROGRESS):
        return BuildProgress.REPLICATING
    return BuildProgress.ROLLING_OUT


def _rollout_model(rollout: RolloutSummary | None) -> RolloutModel | None:
    if rollout is None or rollout.model is None:
        return None
    return RolloutModel.of(rollout.model)


def region_status(
    region: str,
    bucket: str,
    build_status: BuildStatus,
    tracking: CopyTracking | None,
    rollout: RolloutSummary | None,
    hosts_per_region: int,
) -> RegionStatus:
    copy = tracking.outcome_for(bucket) if tracking else None
    replication, error = RegionCopyStatus.PENDING, None
    if copy:
        replication, error = RegionCopyStatus(copy.status), copy.error
    elif rollout:
        # The region rolled the artifact out, so its copy arrived; the state machine records every
        # copy's outcome only once the last one is done.
        replication = RegionCopyStatus.SUCCEEDED
    elif build_status == BuildStatus.FAILED:
        replication, error = RegionCopyStatus.BUILD_FAILED, "not replicated: the build failed"
    elif tracking and tracking.status in _REPLICATION_ENDED_BADLY:
        replication, error = RegionCopyStatus.FAILED, f"not copied: the replication ended {tracking.status}"
    return RegionStatus(
        region=region,
        bucket=bucket,
        replication=replication,
        replicationError=error,
        hostsTotal=rollout.hosts_total if rollout else hosts_per_region,
        hostsDeployed=rollout.hosts_deployed if rollout else 0,
        rolloutStartedAt=rollout.started_at if rollout else None,
        rolloutCompletedAt=rollout.completed_at if rollout else None,
        rolloutModel=_rollout_model(rollout),
        supersededBy=rollout.superseded_by if rollout else None,
        rolledBack=rollout.rolled_back if rollout else None,
    )


def replication_failure(replication: Replication, regions: list[RegionStatus]) -> str:
    """Why the replication failed, in one sentence: how many copies, and each failed region's error."""
    failed = [region for region in regions if region.replication == RegionCopyStatus.FAILED]
    where = "; ".join(f"{region.region}: {region.replicationError or 'FAILED'}" for region in failed)
    return f"replication {replication.status}: {len(failed)} of {len(regions)} regions not copied ({where})"


def deployment_history(
    build: BuildRecord,
    deployment: BuildProgress,
    replication: Replication,
    regions: list[RegionStatus],
    failure_reason: str | None,
    deployed_at: str | None,
) -> list[BuildHistoryEntry]:
    """The build's own history (QUEUED, BUILDING, SUCCEEDED or FAILED, as the worker recorded it), then
    the deployment's steps as the records date them: REPLICATING when the state machine started,
    ROLLING_OUT when the first region started its rollout, DEPLOYED when the last one finished, or FAILED
    when the replication ended with failed copies."""
    history = [
        BuildHistoryEntry(status=HistoryStatus(change.status), at=change.at, reason=change.reason, by=change.by)
        for change in build.history
    ]
    if build.status != BuildStatus.SUCCEEDED:
        return history
    if replication.startedAt:
        history.append(BuildHistoryEntry(status=HistoryStatus.REPLICATING, at=replication.startedAt))
    started = [region.rolloutStartedAt for region in regions if region.rolloutStartedAt]
    if started:
        history.append(BuildHistoryEntry(status=HistoryStatus.ROLLING_OUT, at=min(started)))
    if deployment == BuildProgress.DEPLOYED and deployed_at:
        history.append(BuildHistoryEntry(status=HistoryStatus.DEPLOYED, at=deployed_at))
    elif deployment == BuildProgress.SUPERSEDED:
        at = max(region.rolloutCompletedAt for region in regions if region.rolloutCompletedAt)
        by = sorted({region.supersededBy for region in regions if region.supersededBy})
        history.append(
            BuildHistoryEntry(status=HistoryStatus.SUPERSEDED, at=at, reason=f"superseded by {', '.join(by)}")
        )
    elif deployment == BuildProgress.FAILED:
        at = replication.completedAt or replication.startedAt or build.built_at or build.queued_at
        history.append(BuildHistoryEntry(status=HistoryStatus.FAILED, at=at, reason=failure_reason))
    return history


def build_view(
    build: BuildRecord,
    rollouts: dict[str, RolloutSummary],
    tracking: CopyTracking | None,
    regional_buckets: RegionalBuckets,
    hosts_per_region: int,
) -> BuildView:
    """Joins the build record, its rollout summaries and the state machine's tracking row."""
    regions = [
        region_status(
            region,
            regional_buckets.bucket_for(region),
            build.status,
            tracking,
            rollouts.get(region),
            hosts_per_region,
        )
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
            artifactSha256=build.artifact.artifact_sha256 or None,
            pieceBytes=build.artifact.piece_bytes or None,
            pieceRoot=build.artifact.piece_root or None,
        )
    replication = replication_of(tracking)
    deployment = build_progress(build.status, replication, regions)
    failure_reason = build.failure_reason
    rolled_back = [f"{region.region}: {region.rolledBack}" for region in regions if region.rolledBack]
    if deployment == BuildProgress.FAILED and not failure_reason:
        failure_reason = (
            f"its deployment was rolled back ({'; '.join(rolled_back)})"
            if rolled_back
            else replication_failure(replication, regions)
        )
    deployed_at = None
    if deployment == BuildProgress.DEPLOYED:
        deployed_at = max(region.rolloutCompletedAt for region in regions if region.rolloutCompletedAt)
    return BuildView.of(
        build,
        deploymentStatus=deployment,
        failureReason=failure_reason,
        attempts=build.failed_attempts,
        deployedAt=deployed_at,
        artifact=artifact,
        replication=replication,
        regions=regions,
        statusHistory=deployment_history(build, deployment, replication, regions, failure_reason, deployed_at),
    )


def build_summary(view: BuildView) -> BuildSummary:
    """The view's own fields a list shows, and its hosts summed over its regions."""
    kept = {"buildId", "commit", "status", "deploymentStatus", "failureReason", "queuedAt"}
    return BuildSummary(
        **{field: getattr(view, field) for field in kept},
        hostsDeployed=sum(region.hostsDeployed for region in view.regions),
        hostsTotal=sum(region.hostsTotal for region in view.regions),
        statusUrl=f"/builds/{view.buildId}",
    )


def list_builds(
    builds_table,
    copy_tracking_table,
    regional_buckets: RegionalBuckets,
    hosts_per_region: int,
    request: paging.PageRequest,
) -> BuildList:
    """A page of builds, newest first, each summed up: its records and their
    replication read in batches for the whole page, not once a build."""
    page = store.list_builds(builds_table, request)
    build_ids = [record["build_id"] for record in page.records]
    found = store.get_builds_with_rollouts(builds_table, build_ids, regional_buckets.regions)
    artifacts = [(each.build.artifact.key, each.build.artifact.bucket) for each in found if each.build.artifact]
    trackings = copy_tracking.get_copy_trackings(copy_tracking_table, artifacts)
    summaries = [
        build_summary(
            build_view(
                each.build,
                each.rollouts,
                trackings.get((each.build.artifact.key, each.build.artifact.bucket)) if each.build.artifact else None,
                regional_buckets,
                hosts_per_region,
            )
        )
        for each in found
    ]
    return BuildList(builds=summaries, nextCursor=page.next_cursor.encode() if page.next_cursor else None)
