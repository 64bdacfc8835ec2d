"""What the stacks keep and for how long (issue 20, growth without bound): host records expire by the
host-deployment-logs table's TTL; the buckets' lifecycle rules expire old versions, abandoned uploads
and the artifacts no region's goal names any more (code_deploy.replication.retention's tags, set where
goals are accepted)."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError

from capacity.templates import REPO, load_template
from code_deploy.builds import store as build_store
from code_deploy.builds.model import ARTIFACT_PREFIX, artifact_key
from code_deploy.deployments import accept as acceptance
from code_deploy.deployments import model as deployment_model
from code_deploy.deployments import store as deployment_store
from code_deploy.hosts import records as host_logs
from code_deploy.regions import RegionalBuckets
from code_deploy.replication import retention
from code_deploy.swarm import SwarmParameters
from tests.unit.conftest import BUCKET_PATTERN, HOSTS_PER_REGION, REGIONS, STACK

GLOBAL = load_template(REPO / "template.yaml")
REGIONAL = load_template(REPO / "regional.yaml")
FLEET = SwarmParameters(hosts=HOSTS_PER_REGION, artifact_bytes=1, seeds=3, fanout=4, piece_bytes=1024)
FIRST, SECOND, THIRD = (f"build-20261122T000000Z-0000000{n}" for n in (1, 2, 3))


# --- the templates ----------------------------------------------------------------------------------------


def test_host_records_expire_by_the_tables_ttl_after_the_stacks_retention():
    table = REGIONAL["Resources"]["HostDeploymentLogsTable"]["Properties"]
    assert table["TimeToLiveSpecification"] == {"AttributeName": host_logs.EXPIRES_AT, "Enabled": True}
    sync = REGIONAL["Resources"]["RegionalSyncFunction"]["Properties"]["Environment"]["Variables"]
    assert sync["HOST_RECORD_RETENTION_DAYS"] == {"Ref": "HostRecordRetentionDays"}
    assert REGIONAL["Parameters"]["HostRecordRetentionDays"]["Default"] == 30


def lifecycle_rules(template: dict, bucket: str) -> dict[str, dict]:
    rules = template["Resources"][bucket]["Properties"]["LifecycleConfiguration"]["Rules"]
    assert all(rule["Status"] == "Enabled" for rule in rules)
    return {rule["Id"]: rule for rule in rules}


def cleans_up(rule: dict) -> None:
    """Every object's old versions, the delete markers they leave and abandoned multipart uploads go."""
    assert rule["NoncurrentVersionExpiration"]["NoncurrentDays"] >= 1
    assert rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] >= 1
    assert rule["ExpiredObjectDeleteMarker"] is True
    assert "Prefix" not in rule and "TagFilters" not in rule


def test_a_regional_bucket_expires_only_the_copies_no_goal_names():
    rules = lifecycle_rules(REGIONAL, "RegionalBuildsBucket")
    released = rules["ExpireReleasedArtifacts"]
    # S3 filters match tags positively: the rule selects what is releasable, everything else is kept
    assert released["Prefix"] == ARTIFACT_PREFIX
    assert released["TagFilters"] == [{"Key": retention.TAG, "Value": retention.EXPIRABLE}]
    assert released["ExpirationInDays"] == {"Ref": "ArtifactRetentionDays"}
    cleans_up(rules["CleanUp"])


def test_the_global_bucket_expires_its_artifacts_once_replicated_and_kept_the_retention():
    rules = lifecycle_rules(GLOBAL, "GlobalBuildsBucket")
    assert rules["ExpireArtifacts"]["Prefix"] == ARTIFACT_PREFIX
    assert rules["ExpireArtifacts"]["ExpirationInDays"] == {"Ref": "ArtifactRetentionDays"}
    cleans_up(rules["CleanUp"])
    assert (
        GLOBAL["Parameters"]["ArtifactRetentionDays"]["Default"]
        == REGIONAL["Parameters"]["ArtifactRetentionDays"]["Default"]
    )


@pytest.mark.parametrize("function", ["ApiFunction", "DeploymentStepFunction", "RegionalCopyFunction"])
def test_the_functions_that_accept_deployments_or_copy_may_tag_the_regional_copies(function):
    policies = GLOBAL["Resources"][function]["Properties"]["Policies"]
    statements = [statement for policy in policies for statement in policy.get("Statement", [])]
    tagging = [statement for statement in statements if "s3:PutObjectTagging" in statement["Action"]]
    assert any("-builds-${AWS::AccountId}-*/" in str(statement["Resource"]) for statement in tagging)


# --- tagging where goals change ---------------------------------------------------------------------------


@pytest.fixture
def copies(stack) -> retention.RegionalCopies:
    """Each build's copy in every region, as replication leaves it: releasable until a goal names it."""
    for region in REGIONS:
        for build in (FIRST, SECOND, THIRD):
            boto3.client("s3", region_name=region).put_object(
                Bucket=stack.regional_bucket(region),
                Key=artifact_key(build),
                Body=b"x" * 4096,
                Tagging=f"{retention.TAG}={retention.EXPIRABLE}",
            )
    return retention.RegionalCopies(
        RegionalBuckets(REGIONS, BUCKET_PATTERN), lambda region: boto3.client("s3", region_name=region)
    )


@pytest.fixture
def tables(stack) -> deployment_store.Tables:
    return deployment_store.Tables.of(
        boto3.resource("dynamodb"), f"{STACK}-deployments", f"{STACK}-regions", stack.builds_table
    )


def deploy(tables, copies, build: str, regions: list[str] | None = None) -> deployment_store.Deployment:
    spec = deployment_model.spec_from_request(build, REGIONS, regions=regions)
    machines = boto3.client("stepfunctions").list_state_machines()["stateMachines"]
    rollout_arn = next(machine["stateMachineArn"] for machine in machines if machine["name"].endswith("-roll-out"))
    artifact = build_store.ArtifactLocation("global", artifact_key(build), "", 4096, 0)
    rollouts = acceptance.Rollouts(tables, boto3.client("stepfunctions"), rollout_arn, FLEET)
    return acceptance.create_deployment(rollouts, spec, artifact, copies=copies)


def tag_of(stack, region: str, build: str) -> str | None:
    tags = boto3.client("s3", region_name=region).get_object_tagging(
        Bucket=stack.regional_bucket(region), Key=artifact_key(build)
    )["TagSet"]
    return next((tag["Value"] for tag in tags if tag["Key"] == retention.TAG), None)


def tags(stack, build: str) -> list[str | None]:
    return [tag_of(stack, region, build) for region in REGIONS]


def test_a_build_is_kept_while_a_regions_goal_or_previous_goal_names_it(stack, tables, copies):
    # When three builds are deployed one after the other
    deploy(tables, copies, FIRST)
    # Then each is pinned where it is the goal
    assert tags(stack, FIRST) == [retention.PINNED] * 3
    deploy(tables, copies, SECOND)
    # and stays pinned while it is the previous goal (hosts without it in their cache roll back to it)
    assert (tags(stack, FIRST), tags(stack, SECOND)) == ([retention.PINNED] * 3, [retention.PINNED] * 3)
    deploy(tables, copies, THIRD, regions=[REGIONS[0]])
    # and is released where no goal names it any more: the lifecycle rule may expire it there
    assert tags(stack, FIRST) == [retention.EXPIRABLE, retention.PINNED, retention.PINNED]
    assert tags(stack, SECOND) == tags(stack, THIRD)[:1] + [retention.PINNED] * 2 == [retention.PINNED] * 3


def test_a_build_a_rollback_took_out_of_a_regions_goals_is_released_at_the_regions_next_acceptance(
    stack, tables, copies
):
    # Given a deployment rolled back in a region: its goal is the previous build again
    deploy(tables, copies, FIRST, regions=[REGIONS[0]])
    rolled_back = deploy(tables, copies, SECOND, regions=[REGIONS[0]])
    assert deployment_store.restore_goal(tables.regions, REGIONS[0], rolled_back.deployment_id, FIRST, "t")
    # When the region's next deployment is accepted
    deploy(tables, copies, THIRD, regions=[REGIONS[0]])
    # Then the rolled-back build is released there, the restored one kept as the previous goal
    assert [tag_of(stack, REGIONS[0], build) for build in (FIRST, SECOND, THIRD)] == [
        retention.PINNED,
        retention.EXPIRABLE,
        retention.PINNED,
    ]


def test_a_build_whose_copy_has_expired_is_not_deployed_and_nothing_changes(stack, tables, copies):
    # Given a build whose copy in one region the lifecycle rule has expired (a delete marker is current)
    boto3.client("s3", region_name=REGIONS[1]).delete_object(
        Bucket=stack.regional_bucket(REGIONS[1]), Key=artifact_key(FIRST)
    )
    # When it is deployed, then it is refused, saying where, and no region's goal changed
    with pytest.raises(acceptance.BuildNotDeployable, match=REGIONS[1]):
        deploy(tables, copies, FIRST)
    goals = deployment_store.get_region_goals(tables.regions, REGIONS)
    assert {goal.goal_build_id for goal in goals.values()} == {None}
    # and the copies it pinned on the way are releasable again: no goal names the build
    assert [tag_of(stack, region, FIRST) for region in (REGIONS[0], REGIONS[2])] == [retention.EXPIRABLE] * 2


def test_a_release_that_cannot_be_tagged_leaves_the_deployment_accepted_and_the_copy_kept(stack, tables, copies):
    # Given copies whose release S3 refuses (a throttled or denied PutObjectTagging)
    class RefusingRelease(retention.RegionalCopies):
        def tag(self, region: str, key: str, value: str) -> None:
            if value == retention.EXPIRABLE:
                raise ClientError(
                    {"Error": {"Code": "SlowDown", "Message": "reduce your request rate"}}, "PutObjectTagging"
                )
            super().tag(region, key, value)

    refusing = RefusingRelease(copies.buckets, copies.s3_for_region)
    deploy(tables, copies, FIRST)
    deploy(tables, copies, SECOND)
    # When the deployment that drops the first build is accepted
    third = deploy(tables, refusing, THIRD)
    # Then it is accepted all the same, and the first build's copies are only kept longer
    assert deployment_store.get(tables.deployments, third.deployment_id).status == "QUEUED"
    assert tags(stack, FIRST) == [retention.PINNED] * 3 and tags(stack, THIRD) == [retention.PINNED] * 3
