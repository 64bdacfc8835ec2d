"""Each function's settings, parsed once from the environment its template gives it."""

import pytest
from pydantic import ValidationError

from code_deploy.builds.upload import Staging
from code_deploy.settings import ApiSettings, DeploymentStepSettings, RegionalCopySettings, RegionalSyncSettings

REGIONAL_SYNC_ENV = {
    "AWS_REGION": "eu-west-1",
    "REGIONAL_BUCKET_NAME": "app-builds-123456789012-eu-west-1",
    "HOST_STATE_TABLE_NAME": "app-eu-west-1-host-state",
    "HOST_RECORDS_TABLE_NAME": "app-eu-west-1-host-deployment-logs",
    "HOSTS_PER_REGION": "500",
    "SEED_HOSTS": "3",
    "P2P_FANOUT": "4",
}


def test_a_regional_sync_works_in_its_own_region_on_its_own_tables():
    settings = RegionalSyncSettings.from_env(REGIONAL_SYNC_ENV)
    assert (settings.region, settings.host_state_table) == ("eu-west-1", "app-eu-west-1-host-state")
    # the swarm's bandwidths default to one place (code_deploy.swarm); the fleet carries the hosts
    assert settings.fleet.hosts == 500 and settings.fleet.host_bandwidth == 125_000_000.0


def test_the_rollout_steps_name_each_regions_sync_by_the_templates_rule():
    settings = DeploymentStepSettings.from_env(
        {
            "REGIONS": "us-west-2,eu-west-1",
            "REGIONAL_BUCKET_PATTERN": "app-builds-123456789012-{region}",
            "DEPLOYMENTS_TABLE_NAME": "app-deployments",
            "REGIONS_TABLE_NAME": "app-regions",
            "BUILDS_TABLE_NAME": "app-builds",
            "COPY_TRACKING_TABLE_NAME": "app-FileCopyTracking",
            "ROLLOUT_STATE_MACHINE_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:app-roll-out",
            "REGIONAL_SYNC_FUNCTION_PATTERN": "app-{region}-sync",
            "DEPLOYMENT_EVENTS_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:app-deployment-events",
            "METRICS_NAMESPACE": "app",
            "HOSTS_PER_REGION": "1000",
        }
    )
    assert settings.regional_sync_function("eu-west-1") == "app-eu-west-1-sync"
    assert settings.home_region == "us-east-1"


def test_the_api_names_each_regions_bucket_by_the_templates_rule():
    settings = ApiSettings.from_env(
        {
            "REGIONS": "us-west-2,eu-west-1",
            "REGIONAL_BUCKET_PATTERN": "app-builds-123456789012-{region}",
            "BUILDS_TABLE_NAME": "app-builds",
            "BUILD_QUEUE_URL": "https://sqs/q",
            "COPY_TRACKING_TABLE_NAME": "app-FileCopyTracking",
            "IDEMPOTENCY_TABLE_NAME": "app-idempotency",
            "DEPLOYMENTS_TABLE_NAME": "app-deployments",
            "REGIONS_TABLE_NAME": "app-regions",
            "ROLLOUT_STATE_MACHINE_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:app-roll-out",
            "HOSTS_PER_REGION": "1000",
            "FLEET_TABLE_PATTERN": "app-{region}-fleet",
            "HOST_STATE_TABLE_PATTERN": "app-{region}-host-state",
            "STAGING_BUCKET_NAME": "app-staging-123456789012-us-east-1",
            "MAX_UPLOAD_BYTES": "536870912",
        }
    )
    assert settings.staging == Staging("app-staging-123456789012-us-east-1", 512 * 1024 * 1024)
    assert settings.regional_buckets.bucket_names == [
        "app-builds-123456789012-us-west-2",
        "app-builds-123456789012-eu-west-1",
    ]
    # and each region's fleet table by the regional stacks' rule, a silent host lost after 90 s
    assert settings.fleet_table_name("eu-west-1") == "app-eu-west-1-fleet"
    assert settings.host_state_table_name("eu-west-1") == "app-eu-west-1-host-state"
    assert settings.host_lost_after_seconds == 90


def test_copies_below_5_mib_parts_are_refused():
    with pytest.raises(ValidationError):
        RegionalCopySettings.from_env({"MULTIPART_COPY_THRESHOLD_BYTES": "5242880", "COPY_PART_BYTES": "1024"})
