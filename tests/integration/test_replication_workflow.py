"""The replication state machine, started directly with the plan's input."""

from __future__ import annotations

import hashlib
import json
import os
import uuid

import boto3
import pytest

from tests.integration.helpers import copy_tracking, execution_finished, subscribed_queue, wait_for


@pytest.fixture
def artifact_key(stack_outputs) -> str:
    """An object in the global bucket. Its upload starts a replication of its own, which writes the
    same FileCopyTracking row (fileKey + sourceBucket): the test starts its own execution only after
    that one has finished, as the plan's Step 6 starts one by hand."""
    key = f"direct/{uuid.uuid4().hex}.zip"
    boto3.client("s3").put_object(Bucket=stack_outputs["GlobalBuildsBucketName"], Key=key, Body=b"artifact")
    wait_for(
        lambda: copy_tracking(stack_outputs, key).get("status") not in (None, "IN_PROGRESS"),
        "the upload's own replication",
    )
    return key


def start(stack_outputs, payload: dict) -> dict:
    sfn = boto3.client("stepfunctions")
    execution = sfn.start_execution(
        stateMachineArn=stack_outputs["ReplicationStateMachineArn"],
        name=f"test-{uuid.uuid4().hex}",
        input=json.dumps(payload),
    )
    return wait_for(lambda: execution_finished(execution["executionArn"]), "the execution to finish")


def test_the_plans_input_copies_to_every_destination(stack_outputs, buckets, artifact_key):
    finished = start(
        stack_outputs,
        {
            "sourceBucket": stack_outputs["GlobalBuildsBucketName"],
            "sourceKey": artifact_key,
            "destinationBuckets": list(buckets.values()),
        },
    )
    assert finished["status"] == "SUCCEEDED", finished
    output = json.loads(finished["output"])
    assert output["status"] == "SUCCEEDED"
    assert sorted(result["bucket"] for result in output["results"]) == sorted(buckets.values())
    tracking = copy_tracking(stack_outputs, artifact_key)
    assert (tracking["status"], int(tracking["successfulCopies"]), int(tracking["failedCopies"])) == (
        "SUCCEEDED",
        len(buckets),
        0,
    )
    assert tracking["executionId"] == finished["executionArn"]
    # and a SUCCEEDED copy is an object in the bucket's own region, not only an answer of success
    for region, bucket in buckets.items():
        head = boto3.client("s3", region_name=region).head_object(Bucket=bucket, Key=artifact_key)
        assert head["ContentLength"] == len(b"artifact")
    assert {result["region"] for result in output["results"]} == set(buckets)


def test_destinations_may_name_their_region(stack_outputs, buckets, artifact_key):
    destinations = [{"bucket": bucket, "region": region} for region, bucket in buckets.items()]
    finished = start(
        stack_outputs,
        {
            "sourceBucket": stack_outputs["GlobalBuildsBucketName"],
            "sourceKey": artifact_key,
            "destinationBuckets": destinations,
        },
    )
    assert finished["status"] == "SUCCEEDED", finished
    assert sorted(r["region"] for r in json.loads(finished["output"])["results"]) == sorted(buckets)


@pytest.fixture
def failure_notifications(stack_outputs):
    """An SQS queue subscribed to file-copy-failures, to read what the workflow publishes."""
    with subscribed_queue(stack_outputs["FileCopyFailuresTopicArn"], "failures") as queue_url:
        yield queue_url


def test_a_missing_destination_is_recorded_and_notified(stack_outputs, buckets, artifact_key, failure_notifications):
    # Given one real destination and one bucket that does not exist
    missing = f"no-such-bucket-{uuid.uuid4().hex[:12]}"
    real = next(iter(buckets.values()))
    # When the workflow copies to both
    finished = start(
        stack_outputs,
        {
            "sourceBucket": stack_outputs["GlobalBuildsBucketName"],
            "sourceKey": artifact_key,
            "destinationBuckets": [real, missing],
        },
    )
    # Then the execution fails as a partial failure naming the missing bucket
    assert finished["status"] == "FAILED"
    history = boto3.client("stepfunctions").describe_execution(executionArn=finished["executionArn"])
    assert history["error"] == "PartialReplicationFailure"
    assert missing in history["cause"]
    # and FileCopyTracking records which copy failed and why, and that the notification went out
    tracking = copy_tracking(stack_outputs, artifact_key)
    assert (tracking["status"], int(tracking["successfulCopies"]), int(tracking["failedCopies"])) == (
        "PARTIAL_FAILURE",
        1,
        1,
    )
    results = {result["bucket"]: result for result in json.loads(tracking["results"])}
    assert results[real]["status"] == "SUCCEEDED"
    assert results[missing]["status"] == "FAILED" and results[missing]["error"]
    assert tracking["notificationStatus"] == "SENT"
    # and the SNS message names the build file and the failed bucket
    sqs = boto3.client("sqs")
    messages = wait_for(
        lambda: sqs.receive_message(QueueUrl=failure_notifications, WaitTimeSeconds=1).get("Messages"),
        "the failure notification",
    )
    message = messages[0]["Body"]
    assert artifact_key in message and missing in message and "PARTIALLY FAILED" in message


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"sourceBucket": "b", "sourceKey": "k", "destinationBuckets": []},
        {"sourceBucket": "b", "destinationBuckets": ["x"]},
    ],
)
def test_incomplete_input_fails_in_validate_input(stack_outputs, payload):
    finished = start(stack_outputs, payload)
    assert finished["status"] == "FAILED"
    described = boto3.client("stepfunctions").describe_execution(executionArn=finished["executionArn"])
    assert described["error"] == "InvalidInput"
    assert "sourceBucket" in described["cause"]


def test_an_artifact_over_the_multipart_threshold_is_copied_in_parts_byte_for_byte(stack_outputs, buckets):
    # Given an artifact bigger than the stack's multipart threshold (8 MiB locally, 5 GiB on AWS)
    threshold = int(stack_outputs["MultipartCopyThresholdBytes"])
    body = os.urandom(threshold + 12 * 1024 * 1024)
    key = f"large/{uuid.uuid4().hex}.zip"
    # When it lands in the global bucket
    boto3.client("s3").put_object(
        Bucket=stack_outputs["GlobalBuildsBucketName"],
        Key=key,
        Body=body,
        Metadata={"build-id": f"large-{uuid.uuid4().hex[:8]}"},
    )
    # Then every region gets it by multipart copy, the same bytes
    tracking = wait_for(
        lambda: (item := copy_tracking(stack_outputs, key)).get("status") not in (None, "IN_PROGRESS") and item,
        f"replication of {key}",
    )
    assert tracking["status"] == "SUCCEEDED", tracking
    results = json.loads(tracking["results"])
    assert {result["method"] for result in results} == {"multipart"}
    assert all(result["parts"] >= 2 for result in results)
    digest = hashlib.sha256(body).hexdigest()
    for region, bucket in buckets.items():
        copy = boto3.client("s3", region_name=region).get_object(Bucket=bucket, Key=key)
        assert hashlib.sha256(copy["Body"].read()).hexdigest() == digest
        assert copy["Metadata"]["build-id"].startswith("large-")
