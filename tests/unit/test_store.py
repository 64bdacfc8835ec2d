import json
from collections import Counter

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from code_deploy.builds import store as build_store
from code_deploy.builds.model import BuildStatus
from code_deploy.hosts import records as host_logs
from code_deploy.swarm import MIB, SwarmParameters, plan_region, simulate_swarm
from tools.host_records import count_host_records_by_scan


@pytest.fixture
def builds(stack):
    return boto3.resource("dynamodb").Table(stack.builds_table)


def test_build_lifecycle_keeps_one_clean_history(builds):
    build_store.create_build(builds, "build-1", "abcdef1", "t0")
    build_store.start_building(builds, "build-1", "t1")
    build_store.finish_build(builds, "build-1", "t2", build_store.ArtifactLocation("b", "k", "s", 10, 5))

    record = build_store.get_build_record(builds, "build-1")
    assert record.status == BuildStatus.SUCCEEDED
    assert [change.status for change in record.history] == ["QUEUED", "BUILDING", "SUCCEEDED"]
    assert record.artifact == build_store.ArtifactLocation(bucket="b", key="k", sha256="s", size=10, payload_size=5)


def test_a_build_id_is_never_created_twice(builds):
    build_store.create_build(builds, "build-1", "abcdef1", "t0")
    with pytest.raises(builds.meta.client.exceptions.ConditionalCheckFailedException):
        build_store.create_build(builds, "build-1", "abcdef1", "t1")


def test_redelivered_build_is_taken_again_while_building_and_refused_once_finished(builds):
    build_store.create_build(builds, "build-1", "abcdef1", "t0")
    build_store.start_building(builds, "build-1", "t1")
    # an earlier attempt died mid-build: the same build is taken again, history unchanged
    again = build_store.start_building(builds, "build-1", "t2")
    assert [change.status for change in again.history] == ["QUEUED", "BUILDING"]
    build_store.finish_build(builds, "build-1", "t3", build_store.ArtifactLocation("b", "k", "s", 1, 1))
    with pytest.raises(build_store.BuildAlreadyFinished):
        build_store.start_building(builds, "build-1", "t4")
    with pytest.raises(build_store.BuildNotFound):
        build_store.start_building(builds, "no-such-build", "t4")


def test_fail_build_records_the_reason_once(builds):
    build_store.create_build(builds, "build-1", "abcdef1", "t0")
    build_store.fail_build(builds, "build-1", "t1", "compiler exploded")
    build_store.fail_build(builds, "build-1", "t2", "second delivery")
    record = build_store.get_build_record(builds, "build-1")
    assert record.status == BuildStatus.FAILED
    assert record.failure_reason == "compiler exploded"
    assert [change.status for change in record.history] == ["QUEUED", "FAILED"]


def test_host_records_are_written_once_per_host_and_counted_without_a_scan(stack):
    plan = simulate_swarm(SwarmParameters(hosts=530, artifact_bytes=MIB))
    records = host_logs.host_records("build-1", "us-west-2", "bkt", plan, "t")

    client = boto3.client("dynamodb", region_name="us-west-2")
    table_name = stack.host_records_table("us-west-2")
    assert host_logs.write_host_records(client, table_name, records, workers=4) == 530
    assert host_logs.write_host_records(client, table_name, records, workers=3) == 530  # a redelivery

    table = stack.host_records("us-west-2")
    assert host_logs.count_host_records(table, "build-1", "us-west-2", 530) == 530
    assert host_logs.count_host_records(table, "build-1", "eu-west-1", 530) == 0
    assert count_host_records_by_scan(table, "build-1") == 530  # the plan's check, by hand (tools/)
    assert len({r["pk"] for r in records}) == host_logs.MIN_HOST_RECORD_SHARDS


def test_a_host_record_holds_the_hosts_part_of_the_plan():
    plan = simulate_swarm(SwarmParameters(hosts=40, piece_bytes=MIB // 4, artifact_bytes=MIB))
    records = host_logs.host_records("build-1", "us-west-2", "bkt", plan, "t")
    assert [r["host_id"] for r in records[:2]] == ["us-west-2-host-000000", "us-west-2-host-000001"]
    by_host = {r["host_id"]: r for r in records}
    assert sum(r["first_source"] == "s3://bkt" for r in records) == plan.params.seed_count
    for host, record in enumerate(records):
        assert record["completed_round"] == plan.completed_round[host]
        assert float(record["finish_seconds"]) == pytest.approx(plan.finish_seconds(host), abs=1e-6)
        if record["first_source"] != "s3://bkt":
            # its first piece came from a host that had one before it
            peer = by_host[record["first_source"]]
            assert peer["host_id"] != record["host_id"]


@pytest.mark.parametrize("hosts", [1, 800, 12_800, 12_801, 100_000, 200_000])
def test_no_partition_key_holds_more_hosts_of_a_rollout_than_it_can_take_writes_in_a_second(hosts):
    # However the model bunches the hosts' completions, a key with at most 800 of them never needs more
    # than 800 writes in a second, under DynamoDB's 1,000 a partition.
    shards = host_logs.host_record_shards(hosts)
    keys = Counter(host_logs.host_partition_key("b", "r", host, shards) for host in range(hosts))
    assert max(keys.values()) <= host_logs.HOSTS_PER_PARTITION_KEY
    assert len(keys) == min(hosts, shards) and shards >= host_logs.MIN_HOST_RECORD_SHARDS


def test_a_design_scale_region_is_planned_by_the_closed_form_and_keyed_within_limits():
    plan = plan_region(SwarmParameters(hosts=100_000, piece_bytes=4 * MIB, artifact_bytes=10 * 10**9))
    assert plan.method == "closed-form"
    records = host_logs.host_records("b", "us-west-2", "bkt", plan, "t")
    assert len(records) == 100_000
    assert max(Counter(r["pk"] for r in records).values()) <= host_logs.HOSTS_PER_PARTITION_KEY


def test_retry_delays_back_off_and_are_bounded():
    from code_deploy.builds.building import build_retry_delay_seconds

    assert [build_retry_delay_seconds(attempt) for attempt in (1, 2, 3, 4)] == [1, 2, 4, 8]
    assert build_retry_delay_seconds(50) == 300


def test_unprocessed_items_are_sent_again(stack):
    # Given DynamoDB answering the first BatchWriteItem with every item unprocessed (as under throttling)
    unprocessed_once = []

    def first_call_unprocessed(params, **kwargs):
        if unprocessed_once:
            return None
        request_items = json.loads(params["body"])["RequestItems"]
        unprocessed_once.append(sum(len(items) for items in request_items.values()))
        return AWSResponse(params["url"], 200, {}, None), {"UnprocessedItems": request_items}

    client = boto3.client("dynamodb", region_name="us-west-2")
    client.meta.events.register("before-call.dynamodb.BatchWriteItem", first_call_unprocessed)
    plan = simulate_swarm(SwarmParameters(hosts=60, artifact_bytes=MIB))
    records = host_logs.host_records("build-t", "us-west-2", "bkt", plan, "t")
    # When the records are written
    written = host_logs.write_host_records(client, stack.host_records_table("us-west-2"), records, workers=1)
    # Then the unprocessed ones were sent again and every host has its record
    assert unprocessed_once == [25]
    assert written == 60
    table = stack.host_records("us-west-2")
    assert host_logs.count_host_records(table, "build-t", "us-west-2", 60) == 60
