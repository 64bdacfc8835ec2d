"""A build of an uploaded application (deployctl push) through the handlers, on moto: the API grants an
upload and queues a build of it once the zip is staged; the build worker checks it, publishes it to the
global bucket as it would an artifact it built, and deletes it from the staging bucket."""

from __future__ import annotations

import hashlib
import io
import json
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest

from code_deploy.builds import store as build_store
from code_deploy.builds.artifact import piece_hashes, piece_root
from code_deploy.builds.torrent import Torrent
from tests.unit.conftest import MAX_UPLOAD_BYTES
from tests.utils import api_event, application_zip, load_event, load_handler

COMMIT = "9fceb02d0ae598e95dc970b74767f19372d61af8"
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def api(stack):
    return load_handler("api")


@pytest.fixture
def worker(stack):
    return load_handler("build_worker")


def call(api, context, method: str, path: str, body: dict | None = None, headers: dict | None = None) -> tuple:
    event = api_event(method, path, json.dumps(body) if body is not None else None, {**JSON, **(headers or {})})
    response = api.lambda_handler(event, context)
    return response["statusCode"], json.loads(response["body"])


def granted_upload(api, context) -> str:
    status, grant = call(api, context, "POST", "/builds/uploads")
    assert status == 201, grant
    return grant["uploadId"]


def stage(stack, upload_id: str, content: bytes) -> None:
    """What the client's PUT to the uploadUrl leaves in the staging bucket."""
    boto3.client("s3").put_object(Bucket=stack.staging_bucket, Key=f"uploads/{upload_id}.zip", Body=content)


def staged_keys(stack) -> list[str]:
    listed = boto3.client("s3").list_objects_v2(Bucket=stack.staging_bucket)
    return [item["Key"] for item in listed.get("Contents", [])]


def queued_messages(stack) -> list[dict]:
    sqs = boto3.client("sqs")
    messages = sqs.receive_message(QueueUrl=stack.queue_url, MaxNumberOfMessages=10).get("Messages", [])
    return [message | {"body": json.loads(message["Body"])} for message in messages]


def delivered(message: dict, receive_count: int = 1) -> dict:
    """A queued message as the build worker gets it, shaped like the sample event's record."""
    record = load_event("sqs_build_message.json")["Records"][0]
    record.update(messageId=message["MessageId"], receiptHandle=message["ReceiptHandle"], body=message["Body"])
    record["attributes"]["ApproximateReceiveCount"] = str(receive_count)
    return {"Records": [record]}


def submitted_upload_build(api, stack, context, content: bytes) -> tuple[str, str, dict]:
    """An upload granted, staged and built: its id, the build's id and the message the worker gets."""
    upload_id = granted_upload(api, context)
    stage(stack, upload_id, content)
    status, accepted = call(api, context, "POST", "/builds", {"commit": COMMIT, "upload": upload_id})
    assert status == 202, accepted
    [message] = queued_messages(stack)
    return upload_id, accepted["buildId"], message


# --- the API ----------------------------------------------------------------------------------------------


def test_an_upload_is_granted_a_presigned_put_into_the_staging_bucket(api, stack, context):
    # Given no body at all, as deployctl sends it
    response = api.lambda_handler(api_event("POST", "/builds/uploads"), context)
    # Then the API answers 201 with where to PUT the zip, for 15 minutes, and the size limit
    assert response["statusCode"] == 201
    grant = json.loads(response["body"])
    assert set(grant) == {"uploadId", "uploadUrl", "method", "expiresAt", "maxBytes"}
    assert (grant["method"], grant["maxBytes"]) == ("PUT", MAX_UPLOAD_BYTES)
    url = urlsplit(grant["uploadUrl"])
    assert f"{stack.staging_bucket}" in url.netloc + url.path
    assert url.path.endswith(f"/uploads/{grant['uploadId']}.zip")
    query = parse_qs(url.query)
    assert query["X-Amz-Expires"] == ["900"] and "X-Amz-Signature" in query
    assert grant["expiresAt"].endswith("Z")
    # and `{}` is as good as no body; nothing was recorded or queued
    assert call(api, context, "POST", "/builds/uploads", {})[0] == 201
    assert queued_messages(stack) == []


def test_a_build_of_an_upload_never_put_is_404(api, stack, context):
    upload_id = granted_upload(api, context)
    status, answer = call(api, context, "POST", "/builds", {"commit": COMMIT, "upload": upload_id})
    assert (status, answer["message"]) == (404, f"no upload {upload_id}: PUT it to the uploadUrl first")
    assert queued_messages(stack) == []


def test_a_build_of_an_upload_over_the_limit_is_refused_with_its_size_and_the_limit(api, stack, context):
    upload_id = granted_upload(api, context)
    stage(stack, upload_id, b"x" * (MAX_UPLOAD_BYTES + 1))
    status, answer = call(api, context, "POST", "/builds", {"commit": COMMIT, "upload": upload_id})
    assert status == 422
    size, limit = f"{MAX_UPLOAD_BYTES + 1:,}", f"{MAX_UPLOAD_BYTES:,}"
    assert answer["message"] == f"upload {upload_id} is {size} bytes; the limit is {limit} bytes (MaxUploadBytes)"
    assert queued_messages(stack) == []


def test_a_malformed_upload_id_is_refused_with_its_rule(api, stack, context):
    status, answer = call(api, context, "POST", "/builds", {"commit": COMMIT, "upload": "../../etc"})
    assert (status, answer["message"]) == (
        422,
        "upload: must be 32 lowercase hex digits, as POST /builds/uploads gives it",
    )


def test_a_build_of_a_staged_upload_is_recorded_and_queued_naming_it(api, stack, context):
    # Given an upload whose zip was PUT
    upload_id = granted_upload(api, context)
    stage(stack, upload_id, application_zip())
    # When a build of it is asked for
    status, accepted = call(api, context, "POST", "/builds", {"commit": COMMIT, "upload": upload_id})
    # Then it is QUEUED, and its message names the upload
    assert (status, accepted["status"], accepted["commit"]) == (202, "QUEUED", COMMIT)
    assert [message["body"] for message in queued_messages(stack)] == [
        {"buildId": accepted["buildId"], "commit": COMMIT, "upload": upload_id}
    ]
    record = build_store.get_build_record(boto3.resource("dynamodb").Table(stack.builds_table), accepted["buildId"])
    assert (record.status, record.upload_id) == ("QUEUED", upload_id)


def test_an_idempotency_key_covers_the_upload_too(api, stack, context):
    first_upload, second_upload = granted_upload(api, context), granted_upload(api, context)
    for upload_id in (first_upload, second_upload):
        stage(stack, upload_id, application_zip())
    key = {"Idempotency-Key": "push-3f6c2b9e"}
    first = call(api, context, "POST", "/builds", {"commit": COMMIT, "upload": first_upload}, key)
    again = call(api, context, "POST", "/builds", {"commit": COMMIT, "upload": first_upload}, key)
    other = call(api, context, "POST", "/builds", {"commit": COMMIT, "upload": second_upload}, key)
    assert first[0] == again[0] == 202 and again[1]["buildId"] == first[1]["buildId"]
    assert other[0] == 422
    assert "Idempotency-Key was already used with another commit or upload" in other[1]["message"]
    assert len(queued_messages(stack)) == 1


# --- the build worker ---------------------------------------------------------------------------------------


def test_the_worker_publishes_an_upload_as_the_builds_artifact(api, worker, stack, context):
    # Given a build of a staged upload
    content = application_zip()
    _, build_id, message = submitted_upload_build(api, stack, context, content)
    # When the worker takes its message
    assert worker.lambda_handler(delivered(message), context) == {"batchItemFailures": []}
    # Then the zip is the artifact in the global bucket, byte for byte, with a built artifact's metadata
    s3 = boto3.client("s3")
    key = f"builds/{build_id}.zip"
    sha256 = hashlib.sha256(content).hexdigest()
    assert s3.get_object(Bucket=stack.global_bucket, Key=key)["Body"].read() == content
    head = s3.head_object(Bucket=stack.global_bucket, Key=key)
    assert head["Metadata"] == {"commit": COMMIT, "build-id": build_id, "sha256": sha256}
    # and its piece list beside it, which the build's record vouches for with the zip's hashes
    record = build_store.get_build_record(boto3.resource("dynamodb").Table(stack.builds_table), build_id)
    assert record.status == "SUCCEEDED"
    artifact = record.artifact
    assert (artifact.sha256, artifact.artifact_sha256) == (sha256, sha256)
    assert (artifact.size, artifact.payload_size) == (len(content), len(content))
    pieces = json.loads(s3.get_object(Bucket=stack.global_bucket, Key=f"{key}.pieces.json")["Body"].read())
    assert pieces == {"pieceBytes": artifact.piece_bytes, "pieces": piece_hashes(content, artifact.piece_bytes)}
    assert artifact.piece_root == piece_root(pieces["pieces"])
    # and its torrent, whose info hash the record keeps (what a host fetching from its peers believes)
    torrent = s3.get_object(Bucket=stack.global_bucket, Key=f"{key}.torrent")["Body"].read()
    assert torrent == Torrent.of(io.BytesIO(content), f"{build_id}.zip").metainfo
    assert (artifact.info_hash, artifact.torrent_key) == (
        Torrent.of(io.BytesIO(content), f"{build_id}.zip").info_hash,
        f"{key}.torrent",
    )
    # and the staging bucket holds it no more
    assert staged_keys(stack) == []
    # A redelivery publishes nothing a second time
    assert worker.lambda_handler(delivered(message, 2), context) == {"batchItemFailures": []}
    versions = s3.list_object_versions(Bucket=stack.global_bucket, Prefix=key)["Versions"]
    assert [version["Key"] for version in versions].count(key) == 1


def test_a_refused_upload_fails_its_build_at_once_with_the_reason(api, worker, stack, context):
    # Given a build of a zip whose validate hook's script was left out
    content = application_zip(**{"hooks/validate.sh": None})
    _, build_id, message = submitted_upload_build(api, stack, context, content)
    # When the worker takes its first delivery
    response = worker.lambda_handler(delivered(message), context)
    # Then the message is done (no retry: the same bytes would be refused again) and the build FAILED, saying why
    assert response == {"batchItemFailures": []}
    record = build_store.get_build_record(boto3.resource("dynamodb").Table(stack.builds_table), build_id)
    assert record.status == "FAILED"
    assert record.failure_reason == (
        "upload refused: deploy.yaml: hooks.validate_service[0].run: hooks/validate.sh is not in the upload"
    )
    assert [change.status for change in record.history] == ["QUEUED", "BUILDING", "FAILED"]
    # and nothing reached the global bucket, nor stays in staging
    assert boto3.client("s3").list_objects_v2(Bucket=stack.global_bucket).get("KeyCount") == 0
    assert staged_keys(stack) == []


def test_an_upload_gone_from_staging_fails_its_build(api, worker, stack, context):
    upload_id, build_id, message = submitted_upload_build(api, stack, context, application_zip())
    boto3.client("s3").delete_object(Bucket=stack.staging_bucket, Key=f"uploads/{upload_id}.zip")
    assert worker.lambda_handler(delivered(message), context) == {"batchItemFailures": []}
    record = build_store.get_build_record(boto3.resource("dynamodb").Table(stack.builds_table), build_id)
    assert (record.status, record.failure_reason) == (
        "FAILED",
        f"upload refused: upload {upload_id} is no longer in the staging bucket",
    )


def test_a_worker_that_died_after_publishing_an_upload_leaves_one_artifact(api, worker, stack, context, monkeypatch):
    # Given a first attempt that dies after the publish, before the build is recorded as done
    _, build_id, message = submitted_upload_build(api, stack, context, application_zip())
    finish = build_store.finish_build

    def die_once(*args, **kwargs):
        monkeypatch.setattr(build_store, "finish_build", finish)
        raise TimeoutError("the worker was stopped")

    monkeypatch.setattr(build_store, "finish_build", die_once)
    assert worker.lambda_handler(delivered(message, 1), context)["batchItemFailures"]
    # When the message comes back
    assert worker.lambda_handler(delivered(message, 2), context) == {"batchItemFailures": []}
    # Then the build SUCCEEDED with one version of its artifact, and the upload is gone from staging
    s3 = boto3.client("s3")
    key = f"builds/{build_id}.zip"
    versions = s3.list_object_versions(Bucket=stack.global_bucket, Prefix=key)["Versions"]
    assert [version["Key"] for version in versions].count(key) == 1
    table = boto3.resource("dynamodb").Table(stack.builds_table)
    assert build_store.get_build_record(table, build_id).status == "SUCCEEDED"
    assert staged_keys(stack) == []
