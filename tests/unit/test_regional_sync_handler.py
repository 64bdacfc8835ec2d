import boto3
import pytest

from code_deploy import store
from tests.utils import load_event, load_handler, logged_lines

BUILD_ID = "build-20261122T101500Z-1a2b3c4d"


REGION = "us-west-2"


@pytest.fixture
def regional_sync(stack, in_region, monkeypatch):
    """us-west-2's regional sync, as its regional stack configures it."""
    in_region(REGION)
    monkeypatch.setenv("REGIONAL_BUCKET_NAME", stack.regional_bucket(REGION))
    monkeypatch.setenv("HOST_RECORDS_TABLE_NAME", stack.host_records_table(REGION))
    return load_handler("regional_sync")


@pytest.fixture
def replicated_artifact(stack):
    boto3.client("s3").put_object(
        Bucket=stack.regional_bucket("us-west-2"),
        Key=f"builds/{BUILD_ID}.zip",
        Body=b"zip",
        Metadata={"build-id": BUILD_ID, "commit": "abcdef1"},
    )


def test_rolls_out_to_every_host_of_the_region(regional_sync, stack, replicated_artifact, context):
    # Given the artifact in us-west-2's bucket and the sample S3 put for it
    event = load_event("s3_put_regional.json")
    # When the regional sync handles it
    result = regional_sync.lambda_handler(event, context)
    # Then every host of us-west-2 has a record, and the build's rollout summary says so
    assert result == {"rollouts": [{"buildId": BUILD_ID, "region": "us-west-2", "hosts": 200}]}
    assert store.count_host_records(stack.host_records(REGION), BUILD_ID, REGION, 200) == 200
    # reported to the global builds table, in us-east-1
    builds = boto3.resource("dynamodb", region_name="us-east-1").Table(stack.builds_table)
    summaries = store.get_rollout_summaries(builds, BUILD_ID)
    summary = summaries["us-west-2"]
    assert (summary.hosts_deployed, summary.hosts_total) == (200, 200)
    # the P2P model's plan for a 3-byte artifact: one piece, broadcast from 3 seeds in log2(200 / 3) rounds
    assert (summary.model.method, summary.model.pieces) == ("simulated", 1)
    assert 7 <= summary.model.rounds <= 9


def test_the_swarm_plan_is_written_host_by_host_and_is_the_same_when_the_event_repeats(regional_sync, stack, context):
    # Given a 10 KiB artifact: 10 pieces of 1 KiB (the test stack's P2P_PIECE_BYTES)
    boto3.client("s3").put_object(
        Bucket=stack.regional_bucket("us-west-2"), Key=f"builds/{BUILD_ID}.zip", Body=b"x" * 10 * 1024
    )
    event = load_event("s3_put_regional.json")
    table = stack.host_records(REGION)

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
    builds = boto3.resource("dynamodb", region_name="us-east-1").Table(stack.builds_table)
    summary = store.get_rollout_summaries(builds, BUILD_ID)
    assert summary["us-west-2"].model.pieces == 10
    assert max(rounds for _, rounds, _ in first.values()) == summary["us-west-2"].model.rounds


def test_the_plans_check_counts_hosts_once_even_when_the_event_repeats(
    regional_sync, stack, replicated_artifact, context
):
    event = load_event("s3_put_regional.json")
    for _ in range(3):
        regional_sync.lambda_handler(event, context)
    # the plan's verification: a scan counting the build's records
    table = stack.host_records(REGION)
    count = table.scan(FilterExpression="build_id = :b", ExpressionAttributeValues={":b": BUILD_ID}, Select="COUNT")[
        "Count"
    ]
    assert count == 200


def test_an_artifact_uploaded_by_hand_rolls_out_under_its_file_name(regional_sync, stack, context):
    boto3.client("s3").put_object(Bucket=stack.regional_bucket(REGION), Key="test-file.zip", Body=b"hello")
    event = load_event("s3_put_regional.json")
    event["Records"][0]["s3"]["object"]["key"] = "test-file.zip"
    assert regional_sync.lambda_handler(event, context)["rollouts"][0]["buildId"] == "test-file"


def test_a_bucket_of_another_region_is_an_error(regional_sync, stack, context):
    event = load_event("s3_put_regional.json")
    event["Records"][0]["s3"]["bucket"]["name"] = stack.regional_bucket("eu-west-1")
    with pytest.raises(ValueError, match="is not us-west-2's builds bucket"):
        regional_sync.lambda_handler(event, context)


def test_keys_with_spaces_plus_and_unicode_roll_out(regional_sync, stack, context):
    key = "nested/dir/my build ü+1.zip"
    boto3.client("s3").put_object(
        Bucket=stack.regional_bucket(REGION), Key=key, Body=b"x", Metadata={"build-id": "build-odd-key"}
    )
    event = load_event("s3_put_regional.json")
    event["Records"][0]["s3"]["object"]["key"] = "nested/dir/my+build+%C3%BC%2B1.zip"
    assert regional_sync.lambda_handler(event, context)["rollouts"] == [
        {"buildId": "build-odd-key", "region": REGION, "hosts": 200}
    ]


def test_every_line_of_a_rollout_carries_its_build_id(regional_sync, replicated_artifact, context):
    # Given the artifact in us-west-2's bucket
    written = logged_lines(regional_sync.logger)
    # When the regional sync rolls it out
    regional_sync.lambda_handler(load_event("s3_put_regional.json"), context)
    # Then its log lines name the build (the key `deployctl logs` finds them by), the rollout's time with them
    lines = written()
    done = [line for line in lines if line.get("message") == "rollout done"]
    assert done and all(line["build_id"] == BUILD_ID for line in done)
    assert done[0]["rollout_seconds"] >= 0
