import hashlib
import os

import boto3
import pytest

from code_deploy.transfer import MAX_PARTS, MIN_PART_BYTES, multipart_copy, part_size_for
from tests.utils import load_event, load_handler

MIB = 1024 * 1024


def test_part_size_respects_s3s_limits():
    assert part_size_for(10 * MIB, 1 * MIB) == MIN_PART_BYTES
    assert part_size_for(10 * 1024**3, 512 * MIB) == 512 * MIB
    huge = 6 * 1024**4  # 6 TiB would need more than 10,000 parts of 512 MiB
    assert part_size_for(huge, 512 * MIB) * MAX_PARTS >= huge


def test_multipart_copy_is_byte_for_byte_and_keeps_metadata(stack):
    # Given a 12 MiB artifact with the build's metadata
    s3 = boto3.client("s3")
    body = os.urandom(12 * MIB)
    key = "builds/big build ü.zip"
    s3.put_object(
        Bucket=stack.global_bucket,
        Key=key,
        Body=body,
        ContentType="application/zip",
        Metadata={"build-id": "build-big", "sha256": hashlib.sha256(body).hexdigest()},
    )
    destination = stack.regional_bucket("region-a")

    # When it is copied in 5 MiB parts
    result = multipart_copy(s3, stack.global_bucket, key, destination, 5 * MIB)

    # Then the copy is the same bytes, made of 3 parts, with the same metadata and content type
    copy = s3.get_object(Bucket=destination, Key=key)
    assert copy["Body"].read() == body
    assert (result.parts, result.size) == (3, 12 * MIB)
    assert result.etag.strip('"').endswith("-3")
    assert copy["Metadata"] == {"build-id": "build-big", "sha256": hashlib.sha256(body).hexdigest()}
    assert copy["ContentType"] == "application/zip"


def test_the_handler_copies_what_the_state_machine_asks(stack, context, monkeypatch):
    monkeypatch.setenv("COPY_PART_BYTES", str(5 * MIB))
    event = load_event("large_copy_input.json")
    boto3.client("s3").put_object(Bucket=event["sourceBucket"], Key=event["sourceKey"], Body=b"z" * (6 * MIB))

    answer = load_handler("large_copy").lambda_handler(event, context)

    assert answer["bucket"] == event["destinationBucket"]
    assert (answer["size"], answer["parts"]) == (6 * MIB, 2)


def test_the_handler_refuses_an_incomplete_request(stack, context, monkeypatch):
    monkeypatch.setenv("COPY_PART_BYTES", str(5 * MIB))
    with pytest.raises(ValueError, match="destinationBucket"):
        load_handler("large_copy").lambda_handler({"sourceBucket": "abc", "sourceKey": "k"}, context)
