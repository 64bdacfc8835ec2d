"""The regions and their builds buckets.

Each region's stack names its bucket by one rule; the global stack hands the rule to its functions as
a pattern with a `{region}` placeholder, so code and templates cannot disagree on a name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from code_deploy.errors import NotFound

# AWS region names: us-west-2, eu-west-1, ap-southeast-2, us-gov-west-1 ... (they end bucket names).
REGION_NAME_PATTERN = r"^[a-z]{2}(?:-[a-z]+)+-[0-9]{1,2}$"


@dataclass(frozen=True)
class RegionalBuckets:
    regions: tuple[str, ...]
    bucket_name_pattern: str  # e.g. "stack-builds-123456789012-{region}"

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


class RegionNotFound(NotFound):
    """Not one of the stack's regions."""


def check_region(region: str, known_regions: tuple[str, ...]) -> None:
    """Raises RegionNotFound, naming the stack's regions, for a name that is not one of them."""
    if region not in known_regions:
        raise RegionNotFound(f"no region {region}: the regions are {', '.join(known_regions)}")
