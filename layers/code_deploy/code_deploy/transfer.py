"""Copies too large for one CopyObject (S3 allows at most 5 GB) as a multipart copy.

boto3's managed transfer does the work: UploadPartCopy for each part, several at once, server side
(no byte passes through the function), and it aborts the upload if a part fails.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from boto3.s3.transfer import TransferConfig

MIN_PART_BYTES = 5 * 1024 * 1024  # S3's smallest part, but for the last
MAX_PARTS = 10_000  # S3's most parts in one upload


@dataclass(frozen=True)
class CopyResult:
    etag: str
    size: int
    parts: int
    part_bytes: int


def part_size_for(object_size: int, preferred_part_bytes: int) -> int:
    """The preferred part size, raised where needed so the object fits S3's 10,000 parts."""
    return max(preferred_part_bytes, MIN_PART_BYTES, math.ceil(object_size / MAX_PARTS))


def multipart_copy(
    s3_client, source_bucket: str, key: str, destination_bucket: str, part_bytes: int, max_concurrency: int = 10
) -> CopyResult:
    """Copies `key` from one bucket to another in parts, keeping its metadata and content type."""
    source = s3_client.head_object(Bucket=source_bucket, Key=key)
    size = int(source["ContentLength"])
    part_bytes = part_size_for(size, part_bytes)
    config = TransferConfig(
        multipart_threshold=part_bytes, multipart_chunksize=part_bytes, max_concurrency=max_concurrency
    )
    s3_client.copy(
        CopySource={"Bucket": source_bucket, "Key": key},
        Bucket=destination_bucket,
        Key=key,
        # CreateMultipartUpload does not copy metadata as CopyObject does: the regional sync reads the
        # build id from it, so it is carried over explicitly.
        ExtraArgs={
            "Metadata": source.get("Metadata", {}),
            "ContentType": source.get("ContentType", "binary/octet-stream"),
            "MetadataDirective": "REPLACE",
        },
        Config=config,
    )
    copied = s3_client.head_object(Bucket=destination_bucket, Key=key)
    return CopyResult(copied["ETag"], int(copied["ContentLength"]), max(1, math.ceil(size / part_bytes)), part_bytes)
