"""The regional sync: one wave of a deployment on the region's hosts, or its rollback."""

import time

import boto3
import pytest
from boto3.dynamodb.conditions import Key

from code_deploy.hosts import records as host_logs
from tests.utils import load_event, load_handler, logged_lines

BUILD_ID = "build-20261122T101500Z-1a2b3c4d"
PREVIOUS_BUILD = "build-20261121T101500Z-00000000"
REGION = "us-west-2"


@pytest.fixture
def regional_sync(stack, in_region, monkeypatch):
    """us-west-2's regional sync, as its regional stack configures it."""
    in_region(REGION)
    monkeypatch.setenv("REGIONAL_BUCKET_NAME", stack.regional_bucket(REGION))
    monkeypatch.setenv("HOST_RECORDS_TABLE_NAME", stack.host_records_table(REGION))
    monkeypatch.setenv("HOST_STATE_TABLE_NAME", f"sam-code-deploy-{REGION}-host-state")
    return load_handler("regional_sync")


@pytest.fixture
def replicated_artifacts(stack):
    for build in (BUILD_ID, PREVIOUS_BUILD):
        boto3.client("s3", region_name=REGION).put_object(
            Bucket=stack.regional_bucket(REGION), Key=f"builds/{build}.zip", Body=b"x" * 10 * 1024
        )


def wave(first: int, end: int, build: str = BUILD_ID, seq: int = 1, failure_percent: float = 0) -> dict:
    return load_event("regional_wave.json") | {
        "buildId": build,
        "artifactKey": f"builds/{build}.zip",
        "seq": seq,
        "hostRange": [first, end],
        "failurePercent": failure_percent,
    }


def test_a_wave_updates_its_hosts_and_writes_a_record_each(regional_sync, stack, replicated_artifacts, context):
    # When the first wave (hosts 0-99 of 200) runs
    answer = regional_sync.lambda_handler(wave(0, 100), context)
    # Then those hosts run the build, each with a host-deployment-logs record, and the others nothing yet
    assert (answer["updated"], answer["downloaded"], answer["failed"]) == (100, 100, 0)
    assert answer["hostsByBuild"] == {BUILD_ID: 100}
    assert host_logs.count_host_records(stack.host_records(REGION), BUILD_ID, REGION, 200) == 100
    # 10 KiB in pieces of 1 KiB through the swarm: the model's figures come back
    assert answer["model"]["pieces"] == 10 and answer["modelSeconds"] > 0
    # And the second wave finds the first wave's hosts holding the build (they serve pieces)
    second = regional_sync.lambda_handler(wave(100, 200), context)
    assert second["hostsByBuild"] == {BUILD_ID: 200}
    assert host_logs.count_host_records(stack.host_records(REGION), BUILD_ID, REGION, 200) == 200


def test_a_repeated_wave_answers_what_it_did_and_changes_nothing(regional_sync, replicated_artifacts, context):
    first = regional_sync.lambda_handler(wave(0, 200, failure_percent=10), context)
    again = regional_sync.lambda_handler(wave(0, 200, failure_percent=10), context)
    # the hosts it switched are its own, not skipped; its failed hosts are not tried again
    assert again == first
    assert first["updated"] + first["failed"] == 200 and first["failed"] > 0


def test_injected_failures_are_deterministic_and_keep_the_old_build(regional_sync, replicated_artifacts, context):
    regional_sync.lambda_handler(wave(0, 200, PREVIOUS_BUILD), context)
    failing = regional_sync.lambda_handler(wave(0, 200, seq=2, failure_percent=60), context)
    assert 90 <= failing["failed"] <= 150
    assert failing["hostsByBuild"] == {BUILD_ID: failing["updated"], PREVIOUS_BUILD: failing["failed"]}


def test_a_rollback_returns_every_host_by_activation_alone(regional_sync, replicated_artifacts, context):
    # Given every host on the previous build, then half on the new one
    regional_sync.lambda_handler(wave(0, 200, PREVIOUS_BUILD), context)
    regional_sync.lambda_handler(wave(0, 100, seq=2), context)
    # When the deployment rolls back
    rollback = {
        "action": "rollback",
        "deploymentId": "deploy-20261122T101600Z-0a1b2c3d",
        "buildId": PREVIOUS_BUILD,
        "artifactKey": f"builds/{PREVIOUS_BUILD}.zip",
        "seq": 2,
    }
    answer = regional_sync.lambda_handler(rollback, context)
    # Then every host runs the previous build again, nothing downloaded: the activation time alone
    assert answer["hostsByBuild"] == {PREVIOUS_BUILD: 200}
    assert (answer["updated"], answer["downloaded"], answer["modelSeconds"]) == (100, 0, 2.0)


def test_a_later_deployments_hosts_are_left_alone(regional_sync, replicated_artifacts, context):
    regional_sync.lambda_handler(wave(0, 200, PREVIOUS_BUILD, seq=5), context)
    stale = regional_sync.lambda_handler(wave(0, 200, seq=4), context)
    assert (stale["updated"], stale["superseded"], stale["hostsByBuild"]) == (0, 200, {PREVIOUS_BUILD: 200})


def test_every_line_of_a_wave_carries_its_build_id(regional_sync, replicated_artifacts, context):
    written = logged_lines(regional_sync.logger)
    regional_sync.lambda_handler(wave(0, 10), context)
    done = [line for line in written() if line.get("message") == "rollout done"]
    assert done and all(line["build_id"] == BUILD_ID for line in done)
    assert done[0]["rollout_seconds"] >= 0


def test_every_host_record_expires_after_the_regions_retention(
    regional_sync, stack, replicated_artifacts, context, monkeypatch
):
    # Given a regional stack that keeps host records 7 days (HostRecordRetentionDays)
    monkeypatch.setenv("HOST_RECORD_RETENTION_DAYS", "7")
    # When a wave runs, some of its hosts failing
    before = int(time.time())
    answer = regional_sync.lambda_handler(wave(0, 200, failure_percent=10), context)
    after = int(time.time())
    # Then every record it wrote, DEPLOYED or FAILED, carries the table's TTL attribute: 7 days on
    table = stack.host_records(REGION)
    shards = host_logs.host_record_shards(200)
    records = [
        item
        for shard in range(shards)
        for item in table.query(
            KeyConditionExpression=Key("pk").eq(host_logs.host_partition_key(BUILD_ID, REGION, shard, shards))
        )["Items"]
    ]
    assert len(records) == 200 and answer["failed"] > 0
    week = 7 * 86_400
    assert all(before + week - 1 <= record[host_logs.EXPIRES_AT] <= after + week for record in records)
