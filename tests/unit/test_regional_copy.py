import hashlib
import os

import boto3
import pytest

from code_deploy.replication import copy as replication_copy
from code_deploy.replication import retention, transfer
from code_deploy.replication.schema import CopyRequest
from code_deploy.replication.transfer import MAX_PARTS, MIN_PART_BYTES, CopyPolicy, copy_to_bucket, part_size_for
from tests.utils import load_event, load_handler

MIB = 1024 * 1024


def test_part_size_respects_s3s_limits():
    assert part_size_for(10 * MIB, 1 * MIB) == MIN_PART_BYTES
    assert part_size_for(10 * 1024**3, 512 * MIB) == 512 * MIB
    huge = 6 * 1024**4  # 6 TiB would need more than 10,000 parts of 512 MiB
    assert part_size_for(huge, 512 * MIB) * MAX_PARTS >= huge


def test_a_buckets_region_is_where_it_lives(stack):
    s3 = boto3.client("s3")
    assert transfer.bucket_region(s3, stack.regional_bucket("eu-west-1")) == "eu-west-1"
    assert transfer.bucket_region(s3, stack.global_bucket) == "us-east-1"


def test_a_small_artifact_is_copied_into_another_region_with_its_metadata(stack):
    # Given an artifact in the global bucket (us-east-1)
    s3 = boto3.client("s3")
    s3.put_object(Bucket=stack.global_bucket, Key="builds/b.zip", Body=b"zip", Metadata={"build-id": "build-b"})
    destination = boto3.client("s3", region_name="ap-southeast-2")
    # When it is copied with a client of the destination's region
    result = copy_to_bucket(
        s3,
        destination,
        stack.global_bucket,
        "builds/b.zip",
        stack.regional_bucket("ap-southeast-2"),
        CopyPolicy(8 * MIB, 5 * MIB),
    )
    # Then one CopyObject put it there, metadata and all
    assert (result.method, result.parts, result.size, result.region) == ("copyObject", 1, 3, "ap-southeast-2")
    copy = destination.get_object(Bucket=stack.regional_bucket("ap-southeast-2"), Key="builds/b.zip")
    assert (copy["Body"].read(), copy["Metadata"]) == (b"zip", {"build-id": "build-b"})


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
    destination_bucket = stack.regional_bucket("us-west-2")
    destination = boto3.client("s3", region_name="us-west-2")

    # When it is copied in 5 MiB parts (above the 8 MiB threshold)
    result = copy_to_bucket(s3, destination, stack.global_bucket, key, destination_bucket, CopyPolicy(8 * MIB, 5 * MIB))

    # Then the copy is the same bytes, made of 3 parts, with the same metadata and content type
    copy = destination.get_object(Bucket=destination_bucket, Key=key)
    assert copy["Body"].read() == body
    assert (result.method, result.parts, result.size) == ("multipart", 3, 12 * MIB)
    assert result.etag.strip('"').endswith("-3")
    assert copy["Metadata"] == {"build-id": "build-big", "sha256": hashlib.sha256(body).hexdigest()}
    assert copy["ContentType"] == "application/zip"


def test_a_copy_that_answers_success_without_the_object_is_an_error(stack):
    # Given a destination that answers CopyObject with success but writes nothing (as a Step Functions
    # aws-sdk:s3 task on the emulator does for a bucket in another region)
    s3 = boto3.client("s3")
    s3.put_object(Bucket=stack.global_bucket, Key="builds/c.zip", Body=b"zip")
    destination = boto3.client("s3", region_name="eu-west-1")
    destination.meta.events.register("before-call.s3.CopyObject", lambda **kwargs: (_ok(), {}))
    # When it is copied, then the check after the copy refuses to call it done
    with pytest.raises(transfer.CopyNotFound, match="holds nothing after the copy"):
        copy_to_bucket(
            s3,
            destination,
            stack.global_bucket,
            "builds/c.zip",
            stack.regional_bucket("eu-west-1"),
            CopyPolicy(MIB * 8, MIB * 5),
        )


def _ok():
    from botocore.awsrequest import AWSResponse

    return AWSResponse("https://s3", 200, {}, None)


def test_a_missing_destination_bucket_is_a_failed_copy_not_an_error(stack):
    boto3.client("s3").put_object(Bucket=stack.global_bucket, Key="builds/d.zip", Body=b"zip")
    request = CopyRequest(
        sourceBucket=stack.global_bucket, sourceKey="builds/d.zip", destinationBucket="no-such-bucket-x"
    )
    s3 = boto3.client("s3")
    result = replication_copy.copy_to_region(
        s3, lambda region: boto3.client("s3", region_name=region), request, MIB, MIB
    )
    assert (result["bucket"], result["status"], result["error"]) == ("no-such-bucket-x", "FAILED", "S3.NoSuchBucket")


def test_the_handler_copies_what_the_state_machine_asks_into_the_buckets_region(stack, context):
    event = load_event("regional_copy_input.json")
    boto3.client("s3").put_object(Bucket=event["sourceBucket"], Key=event["sourceKey"], Body=b"z" * (9 * MIB))

    answer = load_handler("regional_copy").lambda_handler(event, context)

    assert answer["bucket"] == event["destinationBucket"]
    assert (answer["status"], answer["region"], answer["method"]) == ("SUCCEEDED", "us-west-2", "multipart")
    assert (answer["size"], answer["parts"]) == (9 * MIB, 2)


def test_the_handler_takes_the_region_when_given(stack, context):
    event = {**load_event("regional_copy_input.json"), "destinationRegion": "us-west-2"}
    boto3.client("s3").put_object(Bucket=event["sourceBucket"], Key=event["sourceKey"], Body=b"z")
    assert load_handler("regional_copy").lambda_handler(event, context)["region"] == "us-west-2"


def test_the_handler_refuses_an_incomplete_request(stack, context):
    with pytest.raises(ValueError, match="destinationBucket"):
        load_handler("regional_copy").lambda_handler({"sourceBucket": "abc", "sourceKey": "k"}, context)


def test_an_artifacts_piece_list_and_torrent_are_copied_with_it(stack, context):
    # Given an artifact with its piece list and its torrent beside it in the global bucket
    event = {**load_event("regional_copy_input.json"), "destinationRegion": "us-west-2"}
    s3 = boto3.client("s3")
    s3.put_object(Bucket=event["sourceBucket"], Key=event["sourceKey"], Body=b"z")
    s3.put_object(Bucket=event["sourceBucket"], Key=f"{event['sourceKey']}.pieces.json", Body=b'{"pieces": []}')
    s3.put_object(Bucket=event["sourceBucket"], Key=f"{event['sourceKey']}.torrent", Body=b"d4:infode")
    # When the handler copies the artifact
    assert load_handler("regional_copy").lambda_handler(event, context)["status"] == "SUCCEEDED"
    # Then the region's bucket holds the list and the torrent too
    regional = boto3.client("s3", region_name="us-west-2")
    copied = regional.get_object(Bucket=event["destinationBucket"], Key=f"{event['sourceKey']}.pieces.json")
    assert copied["Body"].read() == b'{"pieces": []}'
    torrent = regional.get_object(Bucket=event["destinationBucket"], Key=f"{event['sourceKey']}.torrent")
    assert torrent["Body"].read() == b"d4:infode"


def copy_tags(region: str, bucket: str, key: str) -> dict[str, str]:
    tags = boto3.client("s3", region_name=region).get_object_tagging(Bucket=bucket, Key=key)["TagSet"]
    return {tag["Key"]: tag["Value"] for tag in tags}


def artifact_to_copy(stack, key: str, size: int, region: str) -> CopyRequest:
    """An artifact of `size` bytes put in the global bucket, and the request to copy it into `region`."""
    boto3.client("s3").put_object(Bucket=stack.global_bucket, Key=key, Body=b"z" * size)
    return CopyRequest(sourceBucket=stack.global_bucket, sourceKey=key, destinationBucket=stack.regional_bucket(region))


def copy_into_region(request: CopyRequest) -> None:
    """The copy as the function makes it: over 8 MiB in 5 MiB parts (the local stack's settings)."""
    s3_for_region = lambda region: boto3.client("s3", region_name=region)  # noqa: E731
    replication_copy.copy_to_region(boto3.client("s3"), s3_for_region, request, 8 * MIB, 5 * MIB)


@pytest.mark.parametrize("size", [3, 12 * MIB], ids=["CopyObject", "multipart"])
def test_a_copy_is_releasable_until_a_regions_goal_names_it(stack, size):
    # Given an artifact in the global bucket, a build that no region's goal names yet
    request = artifact_to_copy(stack, "builds/e.zip", size, "eu-west-1")
    # When it is copied into a region
    copy_into_region(request)
    # Then the copy is tagged for the bucket's lifecycle rule to expire (code_deploy.replication.retention)
    assert copy_tags("eu-west-1", request.destinationBucket, "builds/e.zip") == {retention.TAG: retention.EXPIRABLE}


@pytest.mark.parametrize("size", [3, 12 * MIB], ids=["CopyObject", "multipart"])
def test_a_copy_made_again_of_a_pinned_artifact_stays_pinned(stack, size):
    # Given a region whose goal names the build: its copy is pinned
    request = artifact_to_copy(stack, "builds/f.zip", size, "us-west-2")
    copy_into_region(request)
    boto3.client("s3", region_name="us-west-2").put_object_tagging(
        Bucket=request.destinationBucket,
        Key="builds/f.zip",
        Tagging={"TagSet": [{"Key": retention.TAG, "Value": retention.PINNED}]},
    )
    # When the artifact is copied there again (a new version of it replicated)
    copy_into_region(request)
    # Then the new copy is pinned too: the lifecycle rule must not expire what a goal names
    assert copy_tags("us-west-2", request.destinationBucket, "builds/f.zip") == {retention.TAG: retention.PINNED}
