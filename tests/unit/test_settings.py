"""Each function's settings, parsed once from the environment its template gives it."""

import pytest
from pydantic import ValidationError

from code_deploy.settings import ApiSettings, RegionalCopySettings, RegionalSyncSettings

REGIONAL_SYNC_ENV = {
    "AWS_REGION": "eu-west-1",
    "REGIONAL_BUCKET_NAME": "app-builds-123456789012-eu-west-1",
    "BUILDS_TABLE_ARN": "arn:aws:dynamodb:us-east-1:123456789012:table/app-builds",
    "HOST_RECORDS_TABLE_NAME": "app-eu-west-1-host-deployment-logs",
    "HOSTS_PER_REGION": "500",
    "SEED_HOSTS": "3",
    "P2P_FANOUT": "4",
}


def test_a_regional_sync_finds_the_global_builds_table_in_its_home_region():
    settings = RegionalSyncSettings.from_env(REGIONAL_SYNC_ENV)
    assert (settings.region, settings.builds_table_region, settings.builds_table) == (
        "eu-west-1",
        "us-east-1",
        "app-builds",
    )
    # the swarm's bandwidths default to one place (code_deploy.swarm); the fleet carries the hosts
    assert settings.fleet.hosts == 500 and settings.fleet.host_bandwidth == 125_000_000.0


def test_a_builds_table_that_is_not_an_arn_is_refused():
    with pytest.raises(ValidationError, match="BUILDS_TABLE_ARN"):
        RegionalSyncSettings.from_env({**REGIONAL_SYNC_ENV, "BUILDS_TABLE_ARN": "app-builds"})


def test_the_api_names_each_regions_bucket_by_the_templates_rule():
    settings = ApiSettings.from_env(
        {
            "REGIONS": "us-west-2,eu-west-1",
            "REGIONAL_BUCKET_PATTERN": "app-builds-123456789012-{region}",
            "BUILDS_TABLE_NAME": "app-builds",
            "BUILD_QUEUE_URL": "https://sqs/q",
            "COPY_TRACKING_TABLE_NAME": "app-FileCopyTracking",
            "IDEMPOTENCY_TABLE_NAME": "app-idempotency",
            "HOSTS_PER_REGION": "1000",
        }
    )
    assert settings.regional_buckets.bucket_names == [
        "app-builds-123456789012-us-west-2",
        "app-builds-123456789012-eu-west-1",
    ]


def test_copies_below_5_mib_parts_are_refused():
    with pytest.raises(ValidationError):
        RegionalCopySettings.from_env({"MULTIPART_COPY_THRESHOLD_BYTES": "5242880", "COPY_PART_BYTES": "1024"})
