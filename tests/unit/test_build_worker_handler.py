import hashlib
import json

import boto3
import pytest

from code_deploy.builds import store as build_store
from code_deploy.builds.artifact import piece_hashes, piece_root, read_manifest
from tests.utils import load_event, load_handler

BUILD_ID = "build-20261122T101500Z-1a2b3c4d"
COMMIT = "9fceb02d0ae598e95dc970b74767f19372d61af8"


@pytest.fixture
def worker(stack):
    return load_handler("build_worker")


@pytest.fixture
def queued_build(builds_table):
    build_store.create_build(builds_table, BUILD_ID, COMMIT, "2026-11-22T10:15:00.000Z")
    return builds_table


def test_builds_the_artifact_into_the_global_bucket(worker, stack, queued_build, context):
    # Given a queued build and the sample SQS message for it
    event = load_event("sqs_build_message.json")
    # When the worker takes it
    response = worker.lambda_handler(event, context)
    # Then no message failed, the artifact is a valid zip with its metadata, and the build SUCCEEDED
    assert response == {"batchItemFailures": []}
    s3 = boto3.client("s3")
    key = f"builds/{BUILD_ID}.zip"
    head = s3.head_object(Bucket=stack.global_bucket, Key=key)
    assert head["Metadata"] == {"commit": COMMIT, "build-id": BUILD_ID, "sha256": head["Metadata"]["sha256"]}
    body = s3.get_object(Bucket=stack.global_bucket, Key=key)["Body"].read()
    manifest = read_manifest(body)
    assert (manifest["commit"], manifest["buildId"], manifest["payloadSize"]) == (COMMIT, BUILD_ID, 2048)
    record = build_store.get_build_record(queued_build, BUILD_ID)
    assert record.status == "SUCCEEDED"
    assert record.artifact.sha256 == manifest["sha256"] == head["Metadata"]["sha256"]
    # And a host can check it piece by piece: its piece list lies beside it, and the record vouches for both
    pieces = json.loads(s3.get_object(Bucket=stack.global_bucket, Key=f"{key}.pieces.json")["Body"].read())
    assert record.artifact.pieces_key == f"{key}.pieces.json"
    assert record.artifact.artifact_sha256 == hashlib.sha256(body).hexdigest()
    assert pieces == {
        "pieceBytes": record.artifact.piece_bytes,
        "pieces": piece_hashes(body, record.artifact.piece_bytes),
    }
    assert record.artifact.piece_root == piece_root(pieces["pieces"])


def test_a_redelivered_message_builds_nothing_twice(worker, stack, queued_build, context):
    event = load_event("sqs_build_message.json")
    worker.lambda_handler(event, context)
    assert worker.lambda_handler(event, context) == {"batchItemFailures": []}

    versions = boto3.client("s3").list_object_versions(Bucket=stack.global_bucket, Prefix=f"builds/{BUILD_ID}.zip")[
        "Versions"
    ]
    versions = [version for version in versions if version["Key"] == f"builds/{BUILD_ID}.zip"]
    assert len(versions) == 1
    history = build_store.get_build_record(queued_build, BUILD_ID).history
    assert [change.status for change in history] == ["QUEUED", "BUILDING", "SUCCEEDED"]


def received(stack, body: str, receive_count: int = 1) -> dict:
    """A message as the build worker gets it: sent to and received from the queue (a real receipt
    handle), shaped like the sample event's record, with the given receive count."""
    sqs = boto3.client("sqs")
    sqs.send_message(QueueUrl=stack.queue_url, MessageBody=body)
    [message] = sqs.receive_message(QueueUrl=stack.queue_url, MaxNumberOfMessages=1)["Messages"]
    record = load_event("sqs_build_message.json")["Records"][0]
    record.update(messageId=message["MessageId"], receiptHandle=message["ReceiptHandle"], body=body)
    record["attributes"]["ApproximateReceiveCount"] = str(receive_count)
    return record


def test_a_bad_message_fails_alone(worker, stack, queued_build, context):
    # Given a batch with the good message, one for an unknown build and one that is not JSON
    good = load_event("sqs_build_message.json")["Records"][0]
    unknown = {**received(stack, json.dumps({"buildId": "build-x", "commit": COMMIT})), "messageId": "unknown"}
    garbage = {**received(stack, "{{"), "messageId": "garbage"}
    # When the worker takes the batch
    response = worker.lambda_handler({"Records": [unknown, good, garbage]}, context)
    # Then only the two bad messages go back to the queue, and the good build is done
    assert sorted(f["itemIdentifier"] for f in response["batchItemFailures"]) == ["garbage", "unknown"]
    assert build_store.get_build_record(queued_build, BUILD_ID).status == "SUCCEEDED"
    artifact = boto3.client("s3").get_object(Bucket=stack.global_bucket, Key=f"builds/{BUILD_ID}.zip")
    assert len(artifact["Body"].read()) > 2048


def test_a_build_that_never_builds_is_retried_then_failed_with_its_reason(worker, stack, context):
    # Given a queued build of a commit the simulated compiler rejects
    builds = boto3.resource("dynamodb").Table(stack.builds_table)
    build_store.create_build(builds, "build-bad", "deadbeef00", "2026-11-22T10:15:00.000Z")
    body = json.dumps({"buildId": "build-bad", "commit": "deadbeef00"})

    # When its first two deliveries fail
    for attempt in (1, 2):
        response = worker.lambda_handler({"Records": [received(stack, body, attempt)]}, context)
        assert len(response["batchItemFailures"]) == 1
        record = build_store.get_build_record(builds, "build-bad")
        # Then the build waits for its next attempt, with the error kept
        assert record.status == "BUILDING"
        assert (record.failed_attempts, "simulated compile error" in record.last_error) == (attempt, True)

    # When the last delivery fails too
    worker.lambda_handler({"Records": [received(stack, body, 3)]}, context)
    # Then the build is FAILED with the reason, once, and no artifact exists
    record = build_store.get_build_record(builds, "build-bad")
    assert record.status == "FAILED"
    assert record.failure_reason.startswith("build failed after 3 attempts: SimulatedBuildFailure: simulated")
    # and its count of failed attempts agrees with the reason, the last attempt's error kept as the others'
    assert (record.failed_attempts, record.last_error.startswith("SimulatedBuildFailure")) == (3, True)
    assert [change.status for change in record.history] == ["QUEUED", "BUILDING", "FAILED"]
    assert boto3.client("s3").list_objects_v2(Bucket=stack.global_bucket).get("KeyCount") == 0


def test_a_worker_that_died_after_uploading_leaves_one_artifact(worker, stack, queued_build, context, monkeypatch):
    # Given a first attempt that dies after the upload, before the build is recorded as done
    finish = build_store.finish_build

    def die_once(*args, **kwargs):
        monkeypatch.setattr(build_store, "finish_build", finish)
        raise TimeoutError("the worker was stopped")

    monkeypatch.setattr(build_store, "finish_build", die_once)
    body = load_event("sqs_build_message.json")["Records"][0]["body"]
    assert worker.lambda_handler({"Records": [received(stack, body, 1)]}, context)["batchItemFailures"]
    assert build_store.get_build_record(queued_build, BUILD_ID).status == "BUILDING"

    # When the message comes back
    assert worker.lambda_handler({"Records": [received(stack, body, 2)]}, context) == {"batchItemFailures": []}

    # Then the build SUCCEEDED with a single version of its artifact (no second upload, no second replication)
    assert build_store.get_build_record(queued_build, BUILD_ID).status == "SUCCEEDED"
    versions = boto3.client("s3").list_object_versions(Bucket=stack.global_bucket, Prefix=f"builds/{BUILD_ID}.zip")[
        "Versions"
    ]
    versions = [version for version in versions if version["Key"] == f"builds/{BUILD_ID}.zip"]
    assert len(versions) == 1
