"""A region's host state in more than one block (2,500 hosts: blocks of 1,000, 1,000 and 500), as the
regional sync reads and writes it (code_deploy.hosts.store and .wave, over moto): a wave reads only the
blocks its hosts are in; a block another writer saved between our read and our save is read and
changed again, alone."""

from __future__ import annotations

import json

import boto3
import pytest

from code_deploy.hosts import records as host_logs
from code_deploy.hosts import wave as host_wave
from code_deploy.hosts.schema import WaveRequest
from code_deploy.swarm import SwarmParameters

REGION = "us-west-2"
HOSTS = 2_500
FLEET = SwarmParameters(hosts=HOSTS, artifact_bytes=1, seeds=3, fanout=4, piece_bytes=1024)
OLD, NEW, LATER = (f"build-20261122T000000Z-0000000{n}" for n in (1, 2, 3))


@pytest.fixture
def region(stack):
    """The region's builds bucket holding the builds, and its host-state table (a boto3 Table)."""
    for build in (OLD, NEW, LATER):
        boto3.client("s3", region_name=REGION).put_object(
            Bucket=stack.regional_bucket(REGION), Key=f"builds/{build}.zip", Body=b"x" * 4096
        )
    return stack.host_state(REGION)


def wave(start: int, end: int, build: str = NEW, seq: int = 1, failure_percent: float = 0.0) -> WaveRequest:
    return WaveRequest(
        action="wave",
        deploymentId=f"deploy-{seq}",
        buildId=build,
        artifactKey=f"builds/{build}.zip",
        seq=seq,
        hostRange=(start, end),
        failurePercent=failure_percent,
        seed=7,
    )


def roll_out(stack, hosts_table, request: WaveRequest) -> host_wave.RegionalResult:
    log = records_log(stack.host_records_table(REGION))
    return host_wave.roll_out_wave(region_hosts(stack, hosts_table), request, log)


def region_hosts(stack, hosts_table) -> host_wave.RegionHosts:
    return host_wave.RegionHosts(
        REGION, stack.regional_bucket(REGION), boto3.client("s3", region_name=REGION), hosts_table, FLEET
    )


def records_log(table_name: str) -> host_wave.HostRecordsLog:
    return host_wave.HostRecordsLog(boto3.client("dynamodb", region_name=REGION), table_name, writers=4)


def roll_back(stack, hosts_table, target: str, seq: int) -> host_wave.RegionalResult:
    request = WaveRequest(
        action="rollback", deploymentId=f"deploy-{seq}", buildId=target, artifactKey=f"builds/{target}.zip", seq=seq
    )
    return host_wave.roll_back_region(region_hosts(stack, hosts_table), request)


def records(stack, build: str) -> int:
    return host_logs.count_host_records(stack.host_records(REGION), build, REGION, HOSTS)


def block_item(block: int, hosts: list[list], version: int = 1) -> dict:
    """A host-state item as a writer of another release, or a test, puts it: hosts as [current, previous, seq]."""
    return {"block": block, "version": version, "hosts": json.dumps(hosts)}


def before_sending(hosts_table, operation: str, block: int, action) -> None:
    """Runs `action` once, just before the first `operation` (GetItem, PutItem) on `block` is sent."""
    done = []

    def hook(params, **_):
        sent = json.loads(params["body"])
        key = sent.get("Key") or sent.get("Item")
        if not done and int(key["block"]["N"]) == block:
            done.append(block)
            action()

    hosts_table.meta.client.meta.events.register(f"before-call.dynamodb.{operation}", hook)


def reads_of(hosts_table) -> list[tuple[int, bool]]:
    """From now on, each GetItem of the table: (block, whether it read the whole item)."""
    seen: list[tuple[int, bool]] = []

    def hook(params, **_):
        sent = json.loads(params["body"])
        seen.append((int(sent["Key"]["block"]["N"]), "ProjectionExpression" not in sent))

    hosts_table.meta.client.meta.events.register("before-call.dynamodb.GetItem", hook)
    return seen


def test_a_block_saved_by_another_writer_meanwhile_is_changed_again_and_every_host_keeps_its_record(stack, region):
    # Given a later deployment's sync that saves block 1 (host 1500 on its build) between our read and our save
    later = [[None, None, 0]] * 1000
    later[500] = [LATER, None, 2]
    other_writer = boto3.resource("dynamodb", region_name=REGION).Table(region.name)
    before_sending(region, "PutItem", 1, lambda: other_writer.put_item(Item=block_item(1, later)))
    # When a wave of every host runs
    result = roll_out(stack, region, wave(0, HOSTS))
    # Then block 1 was read and changed again (its host 1500 left to the later deployment), and the
    # blocks saved before the conflict keep what this wave did to them: every host it switched has its record
    assert (result.updated, result.superseded, result.skipped) == (HOSTS - 1, 1, 0)
    assert result.hosts_by_build == {NEW: HOSTS - 1, LATER: 1}
    assert records(stack, NEW) == HOSTS - 1


def test_a_wave_reads_only_the_blocks_its_hosts_are_in(stack, region):
    # Given every host on the old build
    roll_out(stack, region, wave(0, HOSTS, OLD, seq=1))
    read = reads_of(region)
    # When a wave of hosts 1000-1099 runs
    result = roll_out(stack, region, wave(1000, 1100, seq=2))
    # Then it read block 1 whole, and of the others only their counts (their hosts per build)
    assert sorted(block for block, whole in read if whole) == [1]
    assert sorted(block for block, whole in read if not whole) == [0, 2]
    assert result.hosts_by_build == {NEW: 100, OLD: HOSTS - 100}
    assert result.updated == 100
    # And a rollback reads every block whole
    read.clear()
    rollback = roll_back(stack, region, OLD, seq=2)
    assert sorted(block for block, whole in read if whole) == [0, 1, 2]
    assert (rollback.updated, rollback.downloaded, rollback.hosts_by_build) == (100, 0, {OLD: HOSTS})


def test_a_block_written_before_blocks_kept_their_counts_is_counted_from_its_hosts(stack, region):
    # Given block 2 as an earlier release wrote it (its hosts, no counts)
    region.put_item(Item=block_item(2, [[OLD, None, 1]] * 500))
    # When a wave of block 0's first hosts runs
    result = roll_out(stack, region, wave(0, 10, seq=2))
    # Then the region's hosts per build count block 2's hosts too
    assert result.hosts_by_build == {NEW: 10, OLD: 500}


@pytest.fixture
def twin(stack):
    """Another host-state table and host-records table for the same region: a second region's worth of
    hosts that take the same failures (fault injection draws by region name) and plan the same swarm."""
    client = boto3.client("dynamodb", region_name=REGION)
    client.create_table(
        TableName="twin-host-state",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "block", "AttributeType": "N"}],
        KeySchema=[{"AttributeName": "block", "KeyType": "HASH"}],
    )
    client.create_table(
        TableName="twin-host-deployment-logs",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "host_id", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "host_id", "KeyType": "RANGE"}],
    )
    return boto3.resource("dynamodb", region_name=REGION).Table("twin-host-state")


def test_a_wave_retried_after_a_partial_save_answers_what_it_would_have_answered_whole(stack, region, twin):
    # Given what the wave answers when nothing interrupts it (2.5% of its hosts fail)
    request = wave(0, HOSTS, failure_percent=2.5)
    whole = host_wave.roll_out_wave(
        region_hosts(stack, twin), request, records_log("twin-host-deployment-logs")
    ).to_dict()

    # and a first attempt that dies while saving block 1, after some blocks were saved
    def dies():
        raise ConnectionError("the sync's Lambda timed out")

    before_sending(region, "PutItem", 1, dies)
    with pytest.raises(ConnectionError):
        roll_out(stack, region, request)
    # When the wave is retried, and retried again
    retried, again = (roll_out(stack, region, request).to_dict() for _ in range(2))
    # Then each retry answers what the whole wave did: the same hosts updated and failed, the same swarm
    for answer in (retried, again):
        assert {**answer, "hostsVersion": None} == {**whole, "hostsVersion": None}
    assert (whole["updated"] + whole["failed"], whole["skipped"]) == (HOSTS, 0)
    assert 0 < whole["failed"] < HOSTS * 0.05
    assert records(stack, NEW) == HOSTS  # a record a host, DEPLOYED or FAILED
    assert again["hostsVersion"] == retried["hostsVersion"]  # and the second retry changed no block


def test_a_rollback_retried_after_a_partial_save_answers_what_it_did(stack, region):
    # Given every host on the new build, deployed over the old one, and a rollback that dies while saving block 1
    roll_out(stack, region, wave(0, HOSTS, OLD, seq=1))
    roll_out(stack, region, wave(0, HOSTS, NEW, seq=2))

    def dies():
        raise ConnectionError("the sync's Lambda timed out")

    before_sending(region, "PutItem", 1, dies)
    with pytest.raises(ConnectionError):
        roll_back(stack, region, OLD, seq=2)
    # When it is retried, twice
    retried, again = (roll_back(stack, region, OLD, seq=2).to_dict() for _ in range(2))
    # Then each answers the whole rollback: every host switched back from its cache, nothing downloaded
    assert (retried["updated"], retried["downloaded"], retried["hostsByBuild"]) == (HOSTS, 0, {OLD: HOSTS})
    assert again == retried


def test_a_wave_of_so_many_hosts_passes_over_those_already_on_the_build_and_a_retry_ends_where_it_did(stack, region):
    # Given hosts 0-1499 on the new build by an earlier deployment, the others on the old one
    roll_out(stack, region, wave(0, HOSTS, OLD, seq=1))
    roll_out(stack, region, wave(0, 1500, NEW, seq=2))
    read = reads_of(region)
    # When a later deployment of it runs a wave of 600 hosts from host 0 on
    request = wave(0, HOSTS, NEW, seq=3).model_copy(update={"hosts": 600})
    result = roll_out(stack, region, request)
    # Then the wave passed over the 1,500 hosts on the build and took the next 600 (hosts 1500-2099),
    # reading each block it needed once
    assert (result.host_range, result.updated, result.skipped) == ((0, 2100), 600, 1500)
    assert sorted(block for block, whole in read if whole) == [0, 1, 2]
    # And a retry counts the hosts it switched as its own: it ends where it did, with the same answer
    assert roll_out(stack, region, request).to_dict() == result.to_dict()
