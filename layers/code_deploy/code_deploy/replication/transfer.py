"""Copies of an artifact from the global builds bucket into a regional bucket, in the regional bucket's
own region: server side, no byte passes through the function.

One CopyObject up to a threshold (S3 takes at most 5 GB in one); above it boto3's managed multipart
copy, UploadPartCopy for each part, several at once, aborting the upload if a part fails. Every copy is
checked afterwards: an answer of success is not taken for the object being there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MIN_PART_BYTES = 5 * 1024 * 1024  # S3's smallest part, but for the last
MAX_PARTS = 10_000  # S3's most parts in one upload
US_EAST_1 = "us-east-1"


class CopyNotFound(Exception):
    """The copy answered success but the destination does not hold the object as the source has it."""


@dataclass(frozen=True)
class CopyResult:
    bucket: str
    region: str
    etag: str
    size: int
    parts: int  # 1 for a CopyObject
    method: str  # copyObject | multipart


def part_size_for(object_size: int, preferred_part_bytes: int) -> int:
    """The preferred part size, raised where needed so the object fits S3's 10,000 parts."""
    return max(preferred_part_bytes, MIN_PART_BYTES, math.ceil(object_size / MAX_PARTS))


def bucket_region(s3_client, bucket: str) -> str:
    """The region a bucket lives in. GetBucketLocation answers no constraint for us-east-1 and the
    legacy "EU" for eu-west-1."""
    constraint = s3_client.get_bucket_location(Bucket=bucket).get("LocationConstraint")
    return {None: US_EAST_1, "": US_EAST_1, "EU": "eu-west-1"}.get(constraint, constraint)


@dataclass(frozen=True)
class CopyPolicy:
    """How a copy is made: in parts above a threshold (how large, how many at once), and the tags it
    carries ("key=value", replacing the source's; None keeps them)."""

    threshold: int  # objects above it are copied in parts
    part_bytes: int
    max_concurrency: int = 10
    tagging: str | None = None


def copy_to_bucket(
    source_client,
    destination_client,
    source_bucket: str,
    key: str,
    destination_bucket: str,
    policy: CopyPolicy,
) -> CopyResult:
    """Copies `key` from the source bucket into the destination bucket with the destination region's
    client (the request goes to the bucket's own region), keeping metadata and content type, with the policy's tags."""
    source = source_client.head_object(Bucket=source_bucket, Key=key)
    size = int(source["ContentLength"])
    copy_source = {"Bucket": source_bucket, "Key": key}
    tags = {"Tagging": policy.tagging, "TaggingDirective": "REPLACE"} if policy.tagging else {}
    if size <= policy.threshold:
        destination_client.copy_object(CopySource=copy_source, Bucket=destination_bucket, Key=key, **tags)
        parts, method = 1, "copyObject"
    else:
        from boto3.s3.transfer import TransferConfig  # boto3 on the multipart path only (code_deploy.aws)

        part_bytes = part_size_for(size, policy.part_bytes)
        config = TransferConfig(
            multipart_threshold=part_bytes, multipart_chunksize=part_bytes, max_concurrency=policy.max_concurrency
        )
        destination_client.copy(
            CopySource=copy_source,
            Bucket=destination_bucket,
            Key=key,
            # CreateMultipartUpload does not copy metadata as CopyObject does: the regional sync reads the
            # build id from it, so it is carried over explicitly.
            ExtraArgs={
                "Metadata": source.get("Metadata", {}),
                "ContentType": source.get("ContentType", "binary/octet-stream"),
                "MetadataDirective": "REPLACE",
                # CreateMultipartUpload's tags (boto3 passes the directive to CopyObject only, below a part)
                **tags,
            },
            SourceClient=source_client,
            Config=config,
        )
        parts, method = max(1, math.ceil(size / part_bytes)), "multipart"
    copied = _head_or_none(destination_client, destination_bucket, key)
    if copied is None or int(copied["ContentLength"]) != size:
        found = "nothing" if copied is None else f"{copied['ContentLength']} bytes"
        raise CopyNotFound(f"s3://{destination_bucket}/{key} holds {found} after the copy; the source has {size}")
    region = destination_client.meta.region_name
    return CopyResult(destination_bucket, region, copied["ETag"], size, parts, method)


def _head_or_none(s3_client, bucket: str, key: str) -> dict | None:
    try:
        return s3_client.head_object(Bucket=bucket, Key=key)
    except s3_client.exceptions.ClientError as error:
        if error.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
            return None
        raise
