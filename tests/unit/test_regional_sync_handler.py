import boto3
import pytest

from code_deploy import store
from tests.utils import load_event, load_handler

BUILD_ID = "build-20261122T101500Z-1a2b3c4d"


@pytest.fixture
def regional_sync(stack):
    return load_handler("regional_sync")


@pytest.fixture
def replicated_artifact(stack):
    boto3.client("s3").put_object(
        Bucket=stack.regional_bucket("region-a"),
        Key=f"builds/{BUILD_ID}.zip",
        Body=b"zip",
        Metadata={"build-id": BUILD_ID, "commit": "abcdef1"},
    )


def test_rolls_out_to_every_host_of_the_region(regional_sync, stack, replicated_artifact, context):
    # Given the artifact in region-a's bucket and the sample S3 put for it
    event = load_event("s3_put_regional.json")
    # When the regional sync handles it
    result = regional_sync.lambda_handler(event, context)
    # Then every host of region-a has a record, and the build's rollout summary says so
    assert result == {"rollouts": [{"buildId": BUILD_ID, "region": "region-a", "hosts": 200}]}
    hosts = boto3.resource("dynamodb").Table(stack.host_records_table)
    assert store.count_host_records(hosts, BUILD_ID, "region-a", 200) == 200
    summaries = store.get_rollout_summaries(boto3.resource("dynamodb").Table(stack.builds_table), BUILD_ID)
    summary = summaries["region-a"]
    assert (summary.hosts_deployed, summary.hosts_total) == (200, 200)
    # the P2P model's plan for a 3-byte artifact: one piece, broadcast from 3 seeds in log2(200 / 3) rounds
    assert (summary.model.method, summary.model.pieces) == ("simulated", 1)
    assert 7 <= summary.model.rounds <= 9


def test_the_swarm_plan_is_written_host_by_host_and_is_the_same_when_the_event_repeats(regional_sync, stack, context):
    # Given a 10 KiB artifact: 10 pieces of 1 KiB (the test stack's P2P_PIECE_BYTES)
    boto3.client("s3").put_object(
        Bucket=stack.regional_bucket("region-a"), Key=f"builds/{BUILD_ID}.zip", Body=b"x" * 10 * 1024
    )
    event = load_event("s3_put_regional.json")
    table = boto3.resource("dynamodb").Table(stack.host_records_table)

    def plan_written() -> dict:
        items = table.scan()["Items"]
        return {
            item["host_id"]: (item["first_source"], item["completed_round"], item["finish_seconds"]) for item in items
        }

    regional_sync.lambda_handler(event, context)
    first = plan_written()
    regional_sync.lambda_handler(event, context)
    assert plan_written() == first
    assert len(first) == 200
    sources = [source for source, _, _ in first.values()]
    assert sum(source.startswith("s3://") for source in sources) == 3  # the seeds
    summary = store.get_rollout_summaries(boto3.resource("dynamodb").Table(stack.builds_table), BUILD_ID)
    assert summary["region-a"].model.pieces == 10
    assert max(rounds for _, rounds, _ in first.values()) == summary["region-a"].model.rounds


def test_the_plans_check_counts_hosts_once_even_when_the_event_repeats(
    regional_sync, stack, replicated_artifact, context
):
    event = load_event("s3_put_regional.json")
    for _ in range(3):
        regional_sync.lambda_handler(event, context)
    # the plan's verification: a scan counting the build's records
    table = boto3.resource("dynamodb").Table(stack.host_records_table)
    count = table.scan(FilterExpression="build_id = :b", ExpressionAttributeValues={":b": BUILD_ID}, Select="COUNT")[
        "Count"
    ]
    assert count == 200


def test_an_artifact_uploaded_by_hand_rolls_out_under_its_file_name(regional_sync, stack, context):
    boto3.client("s3").put_object(Bucket=stack.regional_bucket("region-b"), Key="test-file.zip", Body=b"hello")
    event = load_event("s3_put_regional.json")
    event["Records"][0]["s3"]["bucket"]["name"] = stack.regional_bucket("region-b")
    event["Records"][0]["s3"]["object"]["key"] = "test-file.zip"
    assert regional_sync.lambda_handler(event, context)["rollouts"][0]["buildId"] == "test-file"


def test_a_bucket_of_no_region_is_an_error(regional_sync, stack, context):
    event = load_event("s3_put_regional.json")
    event["Records"][0]["s3"]["bucket"]["name"] = stack.global_bucket
    with pytest.raises(KeyError, match="belongs to none"):
        regional_sync.lambda_handler(event, context)


def test_keys_with_spaces_plus_and_unicode_roll_out(regional_sync, stack, context):
    key = "nested/dir/my build ü+1.zip"
    boto3.client("s3").put_object(
        Bucket=stack.regional_bucket("region-c"), Key=key, Body=b"x", Metadata={"build-id": "build-odd-key"}
    )
    event = load_event("s3_put_regional.json")
    event["Records"][0]["s3"]["bucket"]["name"] = stack.regional_bucket("region-c")
    event["Records"][0]["s3"]["object"]["key"] = "nested/dir/my+build+%C3%BC%2B1.zip"
    assert regional_sync.lambda_handler(event, context)["rollouts"] == [
        {"buildId": "build-odd-key", "region": "region-c", "hosts": 200}
    ]
