"""What the replication state machine asks the regional copy function to do, for one destination."""

from __future__ import annotations

from pydantic import Field

from code_deploy.schema import Schema


class CopyRequest(Schema):
    """What the replication state machine asks the regional copy function to copy, for one destination."""

    sourceBucket: str = Field(min_length=3)
    sourceKey: str = Field(min_length=1)
    destinationBucket: str = Field(min_length=3)
    destinationRegion: str | None = Field(
        default=None, description="The destination bucket's region; looked up (GetBucketLocation) when not given"
    )
