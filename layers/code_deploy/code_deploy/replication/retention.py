"""Which regional copies of an artifact the buckets' lifecycle rules may expire, told by one tag.

A region's hosts fetch a build from the region's builds bucket, and hosts that do not cache it fetch it
again there to roll back: so a region's copy of a build is kept while the region's goal or previous goal
names the build (tagged `retention=pinned`), and is releasable otherwise (`retention=expirable`). S3
lifecycle filters match tags positively, so each regional bucket's rule expires what is tagged
releasable, ArtifactRetentionDays after it was copied (regional.yaml), and keeps everything else.

A copy starts releasable (a build no goal names yet: AutoDeploy off, it may never be deployed); accepting
a deployment pins its build in every region it reaches before the goals change, and releases the builds
the new goals no longer name (code_deploy.deployments.accept)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from code_deploy.regions import RegionalBuckets

TAG = "retention"
PINNED = "pinned"  # a region's goal or previous goal names the build: kept
EXPIRABLE = "expirable"  # no goal names it: the lifecycle rule expires it

# What S3 answers for a key with no current object: none ever, or a delete marker (the rule expired it).
_GONE = frozenset({"NoSuchKey", "404", "NotFound", "MethodNotAllowed", "405"})


def tagging(value: str) -> str:
    """The tag as PutObject and CopyObject take it (URL query form)."""
    return f"{TAG}={value}"


def is_gone(error: ClientError) -> bool:
    return error.response["Error"]["Code"] in _GONE


def tag_of(s3_client, bucket: str, key: str) -> str | None:
    """The copy's retention tag; None when there is no copy or it has none."""
    try:
        tags = s3_client.get_object_tagging(Bucket=bucket, Key=key)["TagSet"]
    except ClientError as error:
        if is_gone(error):
            return None
        raise
    return next((tag["Value"] for tag in tags if tag["Key"] == TAG), None)


def tag_for_copy(s3_client, bucket: str, key: str) -> str:
    """A new copy is releasable, unless the copy it replaces is pinned (a goal names the build)."""
    return PINNED if tag_of(s3_client, bucket, key) == PINNED else EXPIRABLE


@dataclass(frozen=True)
class RegionalCopies:
    """Each region's copy of an artifact: in the region's builds bucket, reached with a client of its region."""

    buckets: RegionalBuckets
    s3_for_region: Callable[[str], Any]

    def tag(self, region: str, key: str, value: str) -> None:
        """Raises ClientError, is_gone() for a copy that is not there (never made, or expired)."""
        self.s3_for_region(region).put_object_tagging(
            Bucket=self.buckets.bucket_for(region), Key=key, Tagging={"TagSet": [{"Key": TAG, "Value": value}]}
        )
