"""Every name a function needs comes from its environment, set in template.yaml and parsed once."""

from __future__ import annotations

import os
from functools import cached_property

from pydantic import BaseModel, ConfigDict, Field

from code_deploy.builds.upload import Staging
from code_deploy.regions import RegionalBuckets
from code_deploy.swarm import DEFAULT_BUCKET_EGRESS, DEFAULT_HOST_BANDWIDTH, DEFAULT_PIECE_BYTES, SwarmParameters


class _EnvSettings(BaseModel):
    # Built at first use (defer_build): a function builds its own settings class, not all seven.
    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore", defer_build=True)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None):
        return cls.model_validate(dict(os.environ if environ is None else environ))


class _RegionalSettings(_EnvSettings):
    """For functions that name the regional buckets: the regions and the template's naming rule."""

    regions: str = Field(alias="REGIONS")
    regional_bucket_pattern: str = Field(alias="REGIONAL_BUCKET_PATTERN")

    @cached_property
    def regional_buckets(self) -> RegionalBuckets:
        return RegionalBuckets.parse(self.regions, self.regional_bucket_pattern)


class _SwarmSettings(_EnvSettings):
    """The P2P swarm model's parameters (the template's P2P* parameters)."""

    hosts_per_region: int = Field(alias="HOSTS_PER_REGION", ge=1)
    seed_hosts: int = Field(alias="SEED_HOSTS", default=3, ge=1)
    fanout: int = Field(alias="P2P_FANOUT", default=4, ge=2)
    piece_bytes: int = Field(alias="P2P_PIECE_BYTES", default=DEFAULT_PIECE_BYTES, ge=1)
    host_bandwidth: float = Field(alias="P2P_HOST_BANDWIDTH", default=DEFAULT_HOST_BANDWIDTH, gt=0)
    bucket_egress: float = Field(alias="P2P_BUCKET_EGRESS", default=DEFAULT_BUCKET_EGRESS, gt=0)

    @cached_property
    def fleet(self) -> SwarmParameters:
        """A region's hosts and network in the P2P model; each rollout sets its artifact's size."""
        return SwarmParameters(
            hosts=self.hosts_per_region,
            artifact_bytes=1,
            seeds=self.seed_hosts,
            fanout=self.fanout,
            piece_bytes=self.piece_bytes,
            host_bandwidth=self.host_bandwidth,
            bucket_egress=self.bucket_egress,
        )


class _RolloutSettings(_RegionalSettings, _SwarmSettings):
    """For functions that accept or roll out deployments: the deployments, the regions' goals, the builds
    and their copies, and the rollout workflow."""

    deployments_table: str = Field(alias="DEPLOYMENTS_TABLE_NAME")
    regions_table: str = Field(alias="REGIONS_TABLE_NAME")
    builds_table: str = Field(alias="BUILDS_TABLE_NAME")
    copy_tracking_table: str = Field(alias="COPY_TRACKING_TABLE_NAME")
    rollout_state_machine_arn: str = Field(alias="ROLLOUT_STATE_MACHINE_ARN")
    # The services other than `default`; a stack without the table deploys the default service alone.
    services_table: str = Field(alias="SERVICES_TABLE_NAME", default="")

    @property
    def home_region(self) -> str:
        """The global stack's region: the rollout workflow's (arn:partition:states:<region>:...)."""
        return self.rollout_state_machine_arn.split(":")[3]


class _StagingSettings(_EnvSettings):
    """Where uploads wait for their build (deployctl push), and how large one may be."""

    staging_bucket: str = Field(alias="STAGING_BUCKET_NAME")
    max_upload_bytes: int = Field(alias="MAX_UPLOAD_BYTES", ge=1)

    @cached_property
    def staging(self) -> Staging:
        return Staging(self.staging_bucket, self.max_upload_bytes)


class ApiSettings(_RolloutSettings, _StagingSettings):
    build_queue_url: str = Field(alias="BUILD_QUEUE_URL")
    idempotency_table: str = Field(alias="IDEMPOTENCY_TABLE_NAME")
    # The real hosts: each region's fleet table (in its region), by the regional stacks' rule, and when a
    # silent one counts as lost.
    fleet_table_pattern: str = Field(alias="FLEET_TABLE_PATTERN", pattern=r"\{region\}")
    host_lost_after_seconds: float = Field(alias="HOST_LOST_AFTER_SECONDS", default=90, gt=0)
    # The simulated hosts: each region's host-state table (in its region), by the regional stacks' rule.
    host_state_table_pattern: str = Field(alias="HOST_STATE_TABLE_PATTERN", pattern=r"\{region\}")

    def fleet_table_name(self, region: str) -> str:
        return self.fleet_table_pattern.format(region=region)

    def host_state_table_name(self, region: str) -> str:
        return self.host_state_table_pattern.format(region=region)


class BuildWorkerSettings(_StagingSettings):
    builds_table: str = Field(alias="BUILDS_TABLE_NAME")
    build_queue_url: str = Field(alias="BUILD_QUEUE_URL")
    global_bucket: str = Field(alias="GLOBAL_BUCKET_NAME")
    payload_size: int = Field(alias="ARTIFACT_PAYLOAD_BYTES", ge=0)
    piece_bytes: int = Field(alias="ARTIFACT_PIECE_BYTES", default=1024 * 1024, ge=16 * 1024)
    max_attempts: int = Field(alias="BUILD_MAX_RECEIVE_COUNT", ge=1)
    failing_commit_prefix: str = Field(alias="SIMULATED_FAILING_COMMIT_PREFIX", default="")


class RegionalCopySettings(_EnvSettings):
    multipart_threshold: int = Field(alias="MULTIPART_COPY_THRESHOLD_BYTES", ge=5 * 1024 * 1024)
    part_bytes: int = Field(alias="COPY_PART_BYTES", ge=5 * 1024 * 1024)


class ReplicationStarterSettings(_RegionalSettings):
    state_machine_arn: str = Field(alias="STATE_MACHINE_ARN")


class RegionalSyncSettings(_SwarmSettings):
    """The regional sync runs in its region's stack, next to its bucket and its hosts' tables."""

    region: str = Field(alias="AWS_REGION")  # set by Lambda
    bucket: str = Field(alias="REGIONAL_BUCKET_NAME")
    host_records_table: str = Field(alias="HOST_RECORDS_TABLE_NAME")
    host_state_table: str = Field(alias="HOST_STATE_TABLE_NAME")
    write_workers: int = Field(alias="HOST_RECORD_WRITERS", default=8, ge=1)
    # The real hosts (agents) of the region: their table, and when a silent one counts as lost.
    fleet_table: str = Field(alias="FLEET_TABLE_NAME", default="")
    host_lost_after_seconds: float = Field(alias="HOST_LOST_AFTER_SECONDS", default=90, gt=0)
    host_record_retention_days: int = Field(alias="HOST_RECORD_RETENTION_DAYS", default=30, ge=1)


class DeploymentStepSettings(_RolloutSettings):
    """The deployment workflow's steps (global stack), and each region's sync function, named by the
    regional stacks' rule."""

    regional_sync_function_pattern: str = Field(alias="REGIONAL_SYNC_FUNCTION_PATTERN")
    # Where deployment events go (signals.py), and the namespace of the metrics it publishes.
    deployment_events_topic_arn: str = Field(alias="DEPLOYMENT_EVENTS_TOPIC_ARN")
    metrics_namespace: str = Field(alias="METRICS_NAMESPACE")

    def regional_sync_function(self, region: str) -> str:
        return self.regional_sync_function_pattern.format(region=region)


class GateAlarmsSettings(_EnvSettings):
    """An alarm's action: the deployments table, where the bakes waiting on an alarm keep their tokens."""

    deployments_table: str = Field(alias="DEPLOYMENTS_TABLE_NAME")


class HostReportsSettings(_EnvSettings):
    """The fleet table's stream consumer (regional stack): the table, and where the rollout workflow runs."""

    fleet_table: str = Field(alias="FLEET_TABLE_NAME")
    home_region: str = Field(alias="HOME_REGION")
    # The reports' metrics (hosts deployed, failed, hook seconds) go to the app's namespace, in this region.
    region: str = Field(alias="AWS_REGION")  # set by Lambda
    metrics_namespace: str = Field(alias="POWERTOOLS_METRICS_NAMESPACE")
