from dataclasses import replace

from code_deploy.builds.model import BuildStatus
from code_deploy.builds.schema import BuildProgress as DeploymentStatus
from code_deploy.builds.schema import RegionCopyStatus, ReplicationStatus
from code_deploy.builds.store import BuildRecord, RolloutSummary
from code_deploy.builds.view import build_view
from code_deploy.regions import RegionalBuckets
from code_deploy.replication.tracking import CopyTracking

BUCKETS = RegionalBuckets.parse("us-west-2,eu-west-1", "s-{region}-builds")


def build_record(status=BuildStatus.SUCCEEDED, **extra) -> BuildRecord:
    record = {
        "build_id": "build-1",
        "record": "BUILD",
        "commit": "abcdef1",
        "status": status.value,
        "queuedAt": "t0",
        "statusHistory": [{"status": "QUEUED", "at": "t0"}],
    }
    if status == BuildStatus.SUCCEEDED:
        record.update(
            artifactBucket="g",
            artifactKey="builds/build-1.zip",
            sha256="s",
            artifactSize=10,
            payloadSize=5,
            builtAt="t1",
        )
    return BuildRecord.from_item({**record, **extra})


def rollout(region, deployed, total=100) -> RolloutSummary:
    return RolloutSummary.from_item(
        {
            "build_id": "build-1",
            "record": f"ROLLOUT#{region}",
            "region": region,
            "hostsTotal": total,
            "hostsDeployed": deployed,
            "bucket": f"s-{region}-builds",
            "artifactKey": "builds/build-1.zip",
            "startedAt": "t8",
            "completedAt": "t9",
        }
    )


def rollouts(*summaries: RolloutSummary) -> dict[str, RolloutSummary]:
    return {summary.region: summary for summary in summaries}


def tracking(status, results, **extra) -> CopyTracking:
    return CopyTracking.from_item(
        {
            **extra,
            "fileKey": "builds/build-1.zip",
            "sourceBucket": "g",
            "status": status,
            "executionId": "arn:exec",
            "startTime": "t2",
            "results": results,
            "successfulCopies": sum(r["status"] == "SUCCEEDED" for r in results),
            "failedCopies": sum(r["status"] == "FAILED" for r in results),
        }
    )


def test_queued_and_building_builds_say_so():
    for status in (BuildStatus.QUEUED, BuildStatus.BUILDING):
        view = build_view(build_record(status), {}, None, BUCKETS, 100)
        assert view.deploymentStatus == DeploymentStatus(status.value)
        assert view.artifact is None
        assert view.replication.status == ReplicationStatus.NOT_STARTED


def test_built_but_not_yet_replicated_is_replicating():
    view = build_view(build_record(), {}, None, BUCKETS, 100)
    assert view.deploymentStatus == DeploymentStatus.REPLICATING
    assert [r.replication for r in view.regions] == [RegionCopyStatus.PENDING] * 2


def test_replicated_then_rolled_out_everywhere_is_deployed():
    copies = tracking(
        "SUCCEEDED",
        [
            {"bucket": "s-us-west-2-builds", "status": "SUCCEEDED"},
            {"bucket": "s-eu-west-1-builds", "status": "SUCCEEDED"},
        ],
    )
    halfway = build_view(build_record(), rollouts(rollout("us-west-2", 100)), copies, BUCKETS, 100)
    assert halfway.deploymentStatus == DeploymentStatus.ROLLING_OUT
    everywhere = rollouts(rollout("us-west-2", 100), rollout("eu-west-1", 100))
    done = build_view(build_record(), everywhere, copies, BUCKETS, 100)
    assert done.deploymentStatus == DeploymentStatus.DEPLOYED
    assert [(r.region, r.hostsDeployed) for r in done.regions] == [("us-west-2", 100), ("eu-west-1", 100)]


def test_a_failed_region_fails_the_deployment_and_says_why():
    copies = tracking(
        "PARTIAL_FAILURE",
        [
            {"bucket": "s-us-west-2-builds", "status": "SUCCEEDED"},
            {"bucket": "s-eu-west-1-builds", "status": "FAILED", "error": "S3.NoSuchBucketException"},
        ],
    )
    view = build_view(build_record(), rollouts(rollout("us-west-2", 100)), copies, BUCKETS, 100)
    assert view.deploymentStatus == DeploymentStatus.FAILED
    assert view.regions[1].replication == RegionCopyStatus.FAILED
    assert view.regions[1].replicationError == "S3.NoSuchBucketException"


def test_a_failed_build_reports_its_reason():
    view = build_view(build_record(BuildStatus.FAILED, failureReason="boom"), {}, None, BUCKETS, 100)
    assert view.deploymentStatus == DeploymentStatus.FAILED
    assert view.failureReason == "boom"


def statuses(view) -> list[tuple[str, str]]:
    return [(change.status.value, change.at) for change in view.statusHistory]


def test_a_build_being_retried_shows_its_last_error_and_failed_attempts():
    # Given a build whose first two attempts failed and which is being tried again
    record = build_record(BuildStatus.BUILDING, failedAttempts=2, lastError="SimulatedBuildFailure: boom")
    # When its status is read
    view = build_view(record, {}, None, BUCKETS, 100)
    # Then it says so while it is still BUILDING, without a failure reason
    assert (view.deploymentStatus, view.attempts, view.lastError) == (
        DeploymentStatus.BUILDING,
        2,
        "SimulatedBuildFailure: boom",
    )
    assert view.failureReason is None


def test_a_build_that_failed_to_build_says_so_in_every_region():
    record = build_record(
        BuildStatus.FAILED,
        failureReason="build failed after 3 attempts: boom",
        failedAttempts=3,
        lastError="boom",
        statusHistory=[
            {"status": "QUEUED", "at": "t0"},
            {"status": "BUILDING", "at": "t1"},
            {"status": "FAILED", "at": "t5", "reason": "build failed after 3 attempts: boom"},
        ],
    )
    view = build_view(record, {}, None, BUCKETS, 100)
    assert [region.replication for region in view.regions] == [RegionCopyStatus.BUILD_FAILED] * 2
    assert all(region.replicationError for region in view.regions)
    assert view.attempts == 3 and "after 3 attempts" in view.failureReason
    # the history is the build's own: nothing was replicated or rolled out
    assert statuses(view) == [("QUEUED", "t0"), ("BUILDING", "t1"), ("FAILED", "t5")]
    assert view.deployedAt is None


def test_the_history_goes_on_through_replication_and_rollout_to_deployed():
    # Given a build replicated at t2..t3, rolled out in one region at t4..t6 and in the other at t5..t7
    history = [
        {"status": "QUEUED", "at": "t0"},
        {"status": "BUILDING", "at": "t0"},
        {"status": "SUCCEEDED", "at": "t1"},
    ]
    copies = tracking(
        "SUCCEEDED",
        [
            {"bucket": "s-us-west-2-builds", "status": "SUCCEEDED"},
            {"bucket": "s-eu-west-1-builds", "status": "SUCCEEDED"},
        ],
        completeTime="t3",
    )
    west = replace(rollout("us-west-2", 100), started_at="t4", completed_at="t6")
    east = replace(rollout("eu-west-1", 100), started_at="t5", completed_at="t7")
    # When its status is read halfway and at the end
    halfway = build_view(build_record(statusHistory=history), rollouts(west), copies, BUCKETS, 100)
    done = build_view(build_record(statusHistory=history), rollouts(west, east), copies, BUCKETS, 100)
    # Then the build phases are kept as they are, followed by the deployment's steps with their times
    build_phases = [("QUEUED", "t0"), ("BUILDING", "t0"), ("SUCCEEDED", "t1")]
    assert statuses(halfway) == [*build_phases, ("REPLICATING", "t2"), ("ROLLING_OUT", "t4")]
    assert halfway.deployedAt is None
    assert statuses(done) == [*build_phases, ("REPLICATING", "t2"), ("ROLLING_OUT", "t4"), ("DEPLOYED", "t7")]
    assert done.deployedAt == "t7"


def test_a_region_that_rolled_out_was_copied_before_the_state_machine_says_so():
    # the state machine records every copy's outcome at its end; the first region may be done before
    view = build_view(build_record(), rollouts(rollout("us-west-2", 100)), tracking("IN_PROGRESS", []), BUCKETS, 100)
    assert [region.replication for region in view.regions] == [RegionCopyStatus.SUCCEEDED, RegionCopyStatus.PENDING]
    assert view.deploymentStatus == DeploymentStatus.ROLLING_OUT


def test_a_failed_replication_ends_the_history_with_its_reason():
    copies = tracking(
        "PARTIAL_FAILURE",
        [
            {"bucket": "s-us-west-2-builds", "status": "SUCCEEDED"},
            {"bucket": "s-eu-west-1-builds", "status": "FAILED", "error": "S3.NoSuchBucketException"},
        ],
        completeTime="t3",
    )
    view = build_view(build_record(), rollouts(rollout("us-west-2", 100)), copies, BUCKETS, 100)
    assert view.failureReason == (
        "replication PARTIAL_FAILURE: 1 of 2 regions not copied (eu-west-1: S3.NoSuchBucketException)"
    )
    last = view.statusHistory[-1]
    assert (last.status, last.at, last.reason) == ("FAILED", "t3", view.failureReason)
    assert view.deployedAt is None


def test_a_replication_that_failed_before_copying_fails_every_region_it_did_not_reach():
    view = build_view(build_record(), {}, tracking("FAILED", []), BUCKETS, 100)
    assert [region.replication for region in view.regions] == [RegionCopyStatus.FAILED] * 2
    assert view.failureReason.startswith("replication FAILED: 2 of 2 regions not copied")


def test_a_build_whose_rollouts_all_ended_is_final_even_with_hosts_that_failed_within_the_gate():
    # Given every region's rollout ended, one with 3 hosts that failed their update (the health gate
    # allows 5%), none superseded
    ended = rollouts(rollout("us-west-2", 100), rollout("eu-west-1", 97))
    copies = tracking(
        "SUCCEEDED",
        [
            {"bucket": "s-us-west-2-builds", "status": "SUCCEEDED"},
            {"bucket": "s-eu-west-1-builds", "status": "SUCCEEDED"},
        ],
    )
    # When its status is read
    view = build_view(build_record(), ended, copies, BUCKETS, 100)
    # Then it is final: DEPLOYED, each region saying how many hosts run it
    assert view.deploymentStatus == DeploymentStatus.DEPLOYED
    assert [region.hostsDeployed for region in view.regions] == [100, 97]
    assert view.deployedAt == "t9"


def test_a_build_whose_deployment_rolled_a_region_back_is_failed_and_says_where_and_why():
    copies = tracking(
        "SUCCEEDED", [{"bucket": f"s-{r}-builds", "status": "SUCCEEDED"} for r in ("us-west-2", "eu-west-1")]
    )
    gate = "us-west-2 wave 1: 2 of 4 hosts failed (50.0% > 5% allowed) among its real hosts"
    rolled_back = RolloutSummary(**{**vars(rollout("us-west-2", 0)), "rolled_back": gate})
    # Given one region rolled back, the other still rolling out (it will be undone too)
    view = build_view(build_record(), rollouts(rolled_back), copies, BUCKETS, 100)
    # Then the build's deployment has ended: FAILED, with the region and the gate's reason
    assert view.deploymentStatus == DeploymentStatus.FAILED
    assert view.failureReason == f"its deployment was rolled back (us-west-2: {gate})"
    assert view.regions[0].rolledBack == gate
