import io
import json

import boto3
import pytest

from code_deploy import store
from code_deploy.artifact import read_manifest
from tests.utils import load_event, load_handler

BUILD_ID = "build-20261122T101500Z-1a2b3c4d"
COMMIT = "9fceb02d0ae598e95dc970b74767f19372d61af8"


@pytest.fixture
def worker(stack):
    return load_handler("build_worker")


@pytest.fixture
def queued_build(stack):
    table = boto3.resource("dynamodb").Table(stack.builds_table)
    store.create_build(table, BUILD_ID, COMMIT, "2026-11-22T10:15:00.000Z")
    return table


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
    record = store.get_build_record(queued_build, BUILD_ID)
    assert record["status"] == "SUCCEEDED"
    assert record["sha256"] == manifest["sha256"] == head["Metadata"]["sha256"]


def test_a_redelivered_message_builds_nothing_twice(worker, stack, queued_build, context):
    event = load_event("sqs_build_message.json")
    worker.lambda_handler(event, context)
    assert worker.lambda_handler(event, context) == {"batchItemFailures": []}

    versions = boto3.client("s3").list_object_versions(Bucket=stack.global_bucket)["Versions"]
    assert len(versions) == 1
    history = store.get_build_record(queued_build, BUILD_ID)["statusHistory"]
    assert [change["status"] for change in history] == ["QUEUED", "BUILDING", "SUCCEEDED"]


def test_a_bad_message_fails_alone(worker, stack, queued_build, context):
    # Given a batch with the good message, one for an unknown build and one that is not JSON
    good = load_event("sqs_build_message.json")["Records"][0]
    unknown = {**good, "messageId": "unknown", "body": json.dumps({"buildId": "build-x", "commit": COMMIT})}
    garbage = {**good, "messageId": "garbage", "body": "{{"}
    # When the worker takes the batch
    response = worker.lambda_handler({"Records": [unknown, good, garbage]}, context)
    # Then only the two bad messages go back to the queue, and the good build is done
    assert sorted(f["itemIdentifier"] for f in response["batchItemFailures"]) == ["garbage", "unknown"]
    assert store.get_build_record(queued_build, BUILD_ID)["status"] == "SUCCEEDED"
    assert (
        io.BytesIO(
            boto3.client("s3").get_object(Bucket=stack.global_bucket, Key=f"builds/{BUILD_ID}.zip")["Body"].read()
        )
        .getbuffer()
        .nbytes
        > 2048
    )
