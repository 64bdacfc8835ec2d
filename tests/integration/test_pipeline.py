"""The whole pipeline, driven from outside: POST a build, or drop an artifact into the global bucket,
and see it replicated to every region and rolled out to every host."""

from __future__ import annotations

import secrets
import uuid

import boto3
from boto3.dynamodb.conditions import Key

from code_deploy.hosts import records as host_logs
from tests.integration.helpers import (
    copy_tracking,
    count_host_records,
    host_records_table,
    http,
    scan_count_host_records,
    wait_for,
)


def test_a_posted_build_reaches_every_host_of_every_region(api, stack_outputs, buckets, hosts_per_region):
    # Given a commit
    commit = secrets.token_hex(20)
    # When it is submitted
    status, accepted = http("POST", f"{api}/builds", {"commit": commit})
    assert status == 202, accepted
    build_id = accepted["buildId"]

    # Then it is built, replicated and rolled out everywhere
    def deployed():
        code, view = http("GET", f"{api}/builds/{build_id}")
        assert code == 200, view
        assert view["deploymentStatus"] != "FAILED", view
        return view if view["deploymentStatus"] == "DEPLOYED" else None

    view = wait_for(deployed, f"build {build_id} to be DEPLOYED")
    assert view["commit"] == commit
    # the history goes on past the build, each step dated by the records, to the last region's rollout
    deployment_steps = ["REPLICATING", "ROLLING_OUT", "DEPLOYED"]
    assert [change["status"] for change in view["statusHistory"]] == [
        "QUEUED",
        "BUILDING",
        "SUCCEEDED",
        *deployment_steps,
    ]
    steps = {change["status"]: change["at"] for change in view["statusHistory"]}
    assert steps["REPLICATING"] == view["replication"]["startedAt"]
    assert steps["ROLLING_OUT"] == min(r["rolloutStartedAt"] for r in view["regions"])
    assert steps["DEPLOYED"] == view["deployedAt"] == max(r["rolloutCompletedAt"] for r in view["regions"])
    assert (view["attempts"], view["lastError"]) == (0, None)
    assert view["replication"]["status"] == "SUCCEEDED"
    assert {r["region"]: (r["replication"], r["hostsDeployed"]) for r in view["regions"]} == {
        region: ("SUCCEEDED", hosts_per_region) for region in buckets
    }

    # and every copy is the artifact the build made, byte for byte
    # in a bucket that lives in its region, asked in that region
    s3 = boto3.client("s3")
    artifact = view["artifact"]
    original = s3.get_object(Bucket=artifact["bucket"], Key=artifact["key"])
    original_bytes = original["Body"].read()
    assert original["Metadata"]["sha256"] == artifact["sha256"]
    for region, bucket in buckets.items():
        regional_s3 = boto3.client("s3", region_name=region)
        assert (regional_s3.get_bucket_location(Bucket=bucket)["LocationConstraint"] or "us-east-1") == region
        copy = regional_s3.get_object(Bucket=bucket, Key=artifact["key"])
        assert copy["Body"].read() == original_bytes
        assert copy["Metadata"]["build-id"] == build_id

    # and the plan's checks hold
    assert copy_tracking(stack_outputs, artifact["key"])["status"] == "SUCCEEDED"
    expected_hosts = hosts_per_region * len(buckets)
    assert count_host_records(stack_outputs, build_id, buckets) == expected_hosts
    assert scan_count_host_records(stack_outputs, build_id) == expected_hosts


def test_each_region_rolls_out_as_a_p2p_swarm_and_says_how_long_it_took_in_the_model(
    api, stack_outputs, regional_stacks, hosts_per_region
):
    # Given a build rolled out everywhere
    status, accepted = http("POST", f"{api}/builds", {"commit": secrets.token_hex(20)})
    assert status == 202, accepted
    build_id = accepted["buildId"]

    def deployed():
        code, view = http("GET", f"{api}/builds/{build_id}")
        return view if code == 200 and view["deploymentStatus"] == "DEPLOYED" else None

    view = wait_for(deployed, f"build {build_id} to be DEPLOYED")
    # Then each region's status carries the swarm model's figures: the artifact cut into pieces
    # (P2PPieceBytes, 64 KiB), played piece by piece, and slower than the physical limit but near it
    pieces = -(-view["artifact"]["sizeBytes"] // (64 * 1024))
    for region in view["regions"]:
        model = region["rolloutModel"]
        assert (model["method"], model["pieces"]) == ("simulated", pieces)
        assert model["physicalLimitSeconds"] <= model["seconds"] <= 2 * model["physicalLimitSeconds"]
        assert model["directFromBucketSeconds"] > model["seconds"]

    # and every host's record holds its part of the plan: the seeds got their first piece from the
    # bucket, every other host from a peer, and the last host finished in the plan's last round
    region = view["regions"][0]
    table = host_records_table(stack_outputs, region["region"])
    shards = host_logs.host_record_shards(hosts_per_region)
    records = []
    for shard in range(shards):
        pk = host_logs.host_partition_key(build_id, region["region"], shard, shards)
        records += table.query(KeyConditionExpression=Key("pk").eq(pk))["Items"]
    assert len(records) == hosts_per_region
    from_bucket = [r for r in records if r["first_source"].startswith("s3://")]
    assert len(from_bucket) == int(regional_stacks[region["region"]]["SimulatedSeedHosts"])
    assert all(r["first_source"] == f"s3://{region['bucket']}" for r in from_bucket)
    assert max(int(r["completed_round"]) for r in records) == region["rolloutModel"]["rounds"]


def test_an_artifact_dropped_into_the_global_bucket_rolls_out_too(stack_outputs, buckets, hosts_per_region):
    # Given an artifact uploaded by hand, with a key that needs URL-encoding in S3 events
    stem = f"hand made ü+{uuid.uuid4().hex[:8]}"
    key = f"uploads/{stem}.zip"
    boto3.client("s3").put_object(Bucket=stack_outputs["GlobalBuildsBucketName"], Key=key, Body=b"hello")

    # Then it is replicated to every region and rolled out under its file name
    tracking = wait_for(
        lambda: (item := copy_tracking(stack_outputs, key)).get("status") not in (None, "IN_PROGRESS") and item,
        f"replication of {key}",
    )
    assert tracking["status"] == "SUCCEEDED", tracking
    assert int(tracking["successfulCopies"]) == len(buckets)
    for region, bucket in buckets.items():
        s3 = boto3.client("s3", region_name=region)
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == b"hello"
    expected = hosts_per_region * len(buckets)
    wait_for(
        lambda: count_host_records(stack_outputs, stem, buckets) == expected,
        f"{expected} host records for {stem}",
    )
