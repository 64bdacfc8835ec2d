"""The simulated regions and their builds buckets.

The template names every regional bucket by one rule and hands the rule to the functions as a
pattern with a `{region}` placeholder, so code and template cannot disagree on a name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Region names become part of bucket names and of CloudFormation logical ids.
REGION_NAME_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,18}[a-z0-9])?$"


@dataclass(frozen=True)
class RegionalBuckets:
    regions: tuple[str, ...]
    bucket_name_pattern: str  # e.g. "stack-{region}-builds-123456789012-us-east-1"

    def __post_init__(self) -> None:
        if not self.regions:
            raise ValueError("at least one region is needed")
        for region in self.regions:
            if not re.fullmatch(REGION_NAME_PATTERN, region):
                raise ValueError(f"invalid region name {region!r}")
        if "{region}" not in self.bucket_name_pattern:
            raise ValueError("the bucket name pattern needs a {region} placeholder")

    @classmethod
    def parse(cls, regions_csv: str, bucket_name_pattern: str) -> RegionalBuckets:
        regions = tuple(r.strip() for r in regions_csv.split(",") if r.strip())
        return cls(regions, bucket_name_pattern)

    def bucket_for(self, region: str) -> str:
        return self.bucket_name_pattern.format(region=region)

    @property
    def bucket_names(self) -> list[str]:
        return [self.bucket_for(region) for region in self.regions]

    def region_of(self, bucket: str) -> str:
        for region in self.regions:
            if self.bucket_for(region) == bucket:
                return region
        raise KeyError(f"bucket {bucket!r} belongs to none of the regions {', '.join(self.regions)}")
