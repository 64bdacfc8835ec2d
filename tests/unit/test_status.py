from code_deploy.builds import BuildStatus
from code_deploy.models import DeploymentStatus, RegionCopyStatus, ReplicationStatus
from code_deploy.regions import RegionalBuckets
from code_deploy.status import build_view
from code_deploy.store import BuildRecord, CopyTracking, RolloutSummary

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


def tracking(status, results) -> CopyTracking:
    return CopyTracking.from_item(
        {
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
