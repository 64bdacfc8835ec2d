"""What the system does, costs and meets as it grows: a capacity and cost model on paper.

The emulator cannot run the design problem's scale (thousands of deployments a day to hundreds of
thousands of hosts in up to 10 regions, 10 GB binaries), and AWS bills every request and record. This
model counts, for one deployment, the work every service does (requests, invocations, GB-seconds, state
transitions, request units, bytes stored and moved), prices it from a dated price table, sets each rate
against the AWS quota or physical limit it meets and says which one breaks first and at what scale, and
times the deployment against its budget with the P2P swarm's closed form.

It models the system as laid out for real AWS regions: a global stack (API, build queue and worker,
global bucket, replication workflow with one copy per destination region, the deployments and the
regions' goals, the rollout workflow and its deployment step) and one regional stack per region (its
bucket, its regional sync, its host-state and host-deployment-logs tables). A deployment is AutoDeploy's:
every region at once, in `Scenario.waves` waves. Plain Python, no AWS calls: capacity.templates reads the
templates' settings and both workflows' ASL into `TemplateSettings`, `python -m capacity` prints the
tables (`make capacity`); docs/capacity.md explains every assumption.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields, replace
from enum import StrEnum
from typing import Any

from code_deploy.hosts.records import host_record_shards
from code_deploy.hosts.store import HOSTS_PER_BLOCK
from code_deploy.swarm import SwarmParameters, direct_from_bucket_seconds, pipelined_broadcast_seconds

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB  # AWS bills storage and transfer per GB of 2^30 bytes
HOURS_PER_MONTH = 730  # AWS's billing month
DAYS_PER_MONTH = HOURS_PER_MONTH / 24
SECONDS_PER_DAY = 86_400
BATCH_WRITE_ITEMS = 25  # BatchWriteItem's most items a call
BOTO3_MULTIPART_THRESHOLD = 8 * MIB  # boto3's upload_fileobj default: above it, parts of 8 MiB
BOTO3_MULTIPART_CHUNK = 8 * MIB
S3_MAX_PARTS = 10_000
S3_MIN_PART = 5 * MIB
DYNAMODB_ITEM_OVERHEAD_BYTES = 100  # what DynamoDB adds to each item's size for storage billing


class RecordLayout(StrEnum):
    PER_HOST = "per-host"  # today: one item per host and deployment
    PER_SHARD = "per-shard"  # one item per shard key, the shard's hosts packed in it


class CapacityMode(StrEnum):
    ON_DEMAND = "on-demand"  # today: PAY_PER_REQUEST
    PROVISIONED = "provisioned"  # capacity bought by the hour, sized for the peak


@dataclass(frozen=True)
class FunctionSettings:
    memory_mb: int  # the function's MemorySize
    timeout_seconds: int  # its Timeout


@dataclass(frozen=True)
class RolloutShape:
    """What a rollout that succeeds does, read from its ASL (capacity.templates.rollout_shape): states
    entered (each a billed transition) and the deployment step's invocations, outside the Maps, per region
    wave, per region and per wave of a region."""

    fixed_states: int
    fixed_invocations: int
    states_per_region_wave: int
    states_per_region: int
    states_per_wave: int
    invocations_per_region: int
    invocations_per_wave: int

    def transitions(self, region_waves: int, regions: int, waves: int) -> int:
        return (
            self.fixed_states
            + region_waves * self.states_per_region_wave
            + regions * (self.states_per_region + waves * self.states_per_wave)
        )

    def invocations(self, regions: int, waves: int) -> int:
        return self.fixed_invocations + regions * (self.invocations_per_region + waves * self.invocations_per_wave)


# The rollout workflow as statemachine/roll_out_deployment.asl.json has it when this was written; the
# model reads the real one (capacity.templates), this is for TemplateSettings made by hand.
ROLLOUT_AS_WRITTEN = RolloutShape(
    fixed_states=3,  # StartDeployment, RegionWaves, FinishDeployment
    fixed_invocations=2,  # start, finish
    states_per_region_wave=1,  # Regions
    states_per_region=1,  # RegionDone
    states_per_wave=2,  # Wave, HealthGate
    invocations_per_region=0,
    invocations_per_wave=1,  # the wave step, which invokes the region's sync and waits for it
)


@dataclass(frozen=True)
class TemplateSettings:
    """What the templates decide, read from template.yaml (and the replication workflow's ASL) by
    capacity.templates, so the model follows the code instead of a copy of its numbers."""

    api: FunctionSettings
    build_worker: FunctionSettings
    replication_starter: FunctionSettings
    copy: FunctionSettings
    regional_sync: FunctionSettings
    # Every copy goes through the copy function (the regional layout's RegionalCopyFunction); else only those
    # above multipart_copy_threshold_bytes do, the others are one CopyObject from the state machine.
    copy_function_for_every_copy: bool
    multipart_copy_threshold_bytes: int
    multipart_copy_part_bytes: int
    replication_top_level_transitions: int  # states entered by a successful execution, the Map's items aside
    replication_transitions_per_destination: int  # states entered by one Map item that copies successfully
    replication_map_max_concurrency: int
    api_rate_limit: float  # the API stage's steady requests a second
    api_burst_limit: int
    build_queue_batch_size: int
    hosts_per_region_max: int  # the template's MaxValue for HostsPerRegion
    host_record_writers: int  # BatchWriteItem calls the regional sync keeps in flight
    deployment_step: FunctionSettings = FunctionSettings(512, 300)
    auto_deploy_invocations: int = 1  # the replication's call of the deployment step (AutoDeploy)
    rollout: RolloutShape = ROLLOUT_AS_WRITTEN


# The swarm model's parameters that a scenario holds under the same names: all but its hosts (a scenario's
# hosts are per region, its swarms' per wave).
SWARM_FIELDS = tuple(parameter.name for parameter in fields(SwarmParameters) if parameter.name != "hosts")


@dataclass(frozen=True)
class Scenario:
    """A workload: what a user would say about their fleet and their pace."""

    name: str
    deployments_per_day: float
    regions: int
    hosts_per_region: int
    artifact_bytes: int
    piece_bytes: int
    host_bandwidth: float  # bytes/s each host uploads and downloads
    bucket_egress: float  # bytes/s a regional bucket serves the seeds
    seeds: int
    fanout: int
    # Waves per region: each wave a swarm of hosts / waves hosts, its own regional sync and deployment step
    # (AutoDeploy deploys in one wave; POST /deployments may ask for more).
    waves: int = 1
    records_per_host: int = 1  # host records written per host and deployment (e.g. 3 with a status per step)
    record_layout: RecordLayout = RecordLayout.PER_HOST
    capacity_mode: CapacityMode = CapacityMode.ON_DEMAND
    status_polls_per_deployment: int = 30  # GET /builds/{id} a client makes while it waits
    idempotency_keys: bool = True  # POST /builds with an Idempotency-Key (two more writes)
    cross_az_peer_fraction: float = 0.0  # P2P bytes that cross an Availability Zone (0: AZ-aware peering)
    p2p: bool = True  # False: every host pulls the whole artifact from its regional bucket

    def __post_init__(self) -> None:
        if self.deployments_per_day <= 0 or self.regions < 1 or self.hosts_per_region < 1 or self.artifact_bytes < 1:
            raise ValueError("deployments_per_day, regions, hosts_per_region and artifact_bytes must be positive")
        if not 1 <= self.waves <= self.hosts_per_region:
            raise ValueError("waves must be between 1 and hosts_per_region")
        if self.records_per_host < 1:
            raise ValueError("records_per_host must be at least 1")
        if not 0 <= self.cross_az_peer_fraction <= 1:
            raise ValueError("cross_az_peer_fraction is a fraction, between 0 and 1")

    @classmethod
    def of_swarm(cls, swarm: SwarmParameters, **workload: Any) -> Scenario:
        """A scenario of `swarm`'s hosts a region and swarm parameters, and `workload`'s other fields."""
        return cls(hosts_per_region=swarm.hosts, **{name: getattr(swarm, name) for name in SWARM_FIELDS}, **workload)

    def swarm(self, hosts: int | None = None) -> SwarmParameters:
        return SwarmParameters(
            hosts=hosts or self.hosts_per_region, **{name: getattr(self, name) for name in SWARM_FIELDS}
        )

    @property
    def hosts_per_wave(self) -> int:
        return math.ceil(self.hosts_per_region / self.waves)

    @property
    def seeds_per_wave(self) -> int:
        """The hosts the bucket feeds in each wave (a wave smaller than the seeds is all seeds)."""
        return min(self.seeds, self.hosts_per_wave)


@dataclass(frozen=True)
class Assumptions:
    """Rates and sizes the model cannot read from the code; docs/capacity.md says where each comes from."""

    build_seconds: float = 15 * 60  # the design problem's build, outside Lambda (CodeBuild or a build fleet)
    budget_seconds: float = 30 * 60  # from commit to every host
    peak_to_average: float = 3.0  # deployments bunch in working hours
    upload_bytes_per_second: float = 100 * 10**6  # build worker -> global bucket, managed multipart upload
    copy_bytes_per_second: float = 250 * 10**6  # server-side copy to one destination region (UploadPartCopy)
    batch_write_seconds: float = 0.025  # one BatchWriteItem of 25 items, as seen from Lambda
    api_call_seconds: float = 0.05  # one warm API function invocation
    short_call_seconds: float = 0.2  # a starter invocation, a sync's planning and HEAD, the worker's overhead
    bake_seconds_between_waves: float = 0.0
    host_record_bytes: int = 260  # one host record's size as DynamoDB counts it (capacity.scenarios measures it)
    packed_host_bytes: int = 16  # one host in a per-shard item: index, status, round, source, time
    shard_item_overhead_bytes: int = 120  # a per-shard item's keys and attributes besides its hosts
    sync_bytes_per_host: int = 3_000  # regional sync memory per host (capacity.scenarios measures it)
    sync_base_memory_bytes: int = 120 * MIB  # the runtime, boto3 and Powertools
    worker_base_memory_bytes: int = 120 * MIB
    build_record_bytes: int = 700
    rollout_summary_bytes: int = 600
    # The deployments' and the regions' items, and a host-state block (capacity.scenarios measures the
    # deployment's, its region's and the block's on the code that writes them).
    deployment_record_bytes: int = 1_000
    region_rollout_bytes: int = 700
    region_goal_bytes: int = 300
    host_state_block_bytes: int = 70_000  # HOSTS_PER_BLOCK hosts, each its build, the one before and a seq
    tracking_row_bytes: int = 400  # FileCopyTracking when it starts
    tracking_bytes_per_destination: int = 250  # what each copy's result adds to the row
    log_bytes_per_invocation: int = 1_500  # Powertools' JSON lines and EMF metrics
    artifact_retention_days: float = 30  # the buckets' lifecycle rules (ArtifactRetentionDays)
    host_record_retention_days: float = 30  # host-deployment-logs' TTL (HostRecordRetentionDays)
    idle_sqs_requests_per_month: float = 648_000  # the SQS event source's long polls when the queue is empty
    history_events_per_transition: float = 4  # entered/exited and a task's scheduled/started/succeeded
    status_poll_interval_seconds: float = 10.0


DESIGN_SOURCE = "the design problem"
REGION_WAVES = 1  # AutoDeploy's deployment: every region at once


# --- work ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkItem:
    """One kind of work in one deployment, counted in the unit AWS bills it by (`usage`, a key of the
    price table), so the same list gives the work table and the cost."""

    service: str
    what: str
    count: float
    usage: str


@dataclass(frozen=True)
class Counts:
    """What one deployment leaves behind, countable on a real run (tests/integration/test_capacity.py)."""

    build_records: int
    status_history_entries: int
    replication_executions: int
    replication_state_transitions: int
    tracking_rows: int
    artifact_copies: int
    artifact_objects: int
    stored_artifact_bytes: int
    regional_sync_invocations: int
    rollout_summaries: int
    host_records: int
    host_record_items: int  # items written: host records, or shard items when packed
    deployment_records: int = 0  # the deployment and one item a region it reaches
    region_goals: int = 0  # regions whose goal it set
    rollout_state_transitions: int = 0
    deployment_step_invocations: int = 0  # AutoDeploy's and the rollout's
    host_state_blocks_written: int = 0  # every region's, every wave's


def artifact_parts(size: int, part_bytes: int) -> int:
    """Parts of a multipart transfer: code_deploy.transfer's rule (the part grown to fit 10,000 parts)."""
    part = max(part_bytes, S3_MIN_PART, math.ceil(size / S3_MAX_PARTS))
    return max(1, math.ceil(size / part))


def upload_requests(size: int) -> int:
    """PUT-class requests of boto3's upload_fileobj: one PUT, or create + parts + complete."""
    if size <= BOTO3_MULTIPART_THRESHOLD:
        return 1
    return 2 + math.ceil(size / BOTO3_MULTIPART_CHUNK)


def write_units(item_bytes: float) -> int:
    return max(1, math.ceil(item_bytes / KIB))


def read_units(item_bytes: float) -> int:
    return max(1, math.ceil(item_bytes / (4 * KIB)))  # strongly consistent


@dataclass(frozen=True)
class HostRecordWrites:
    items: int  # items written in one region for one wave
    write_units: int
    batch_calls: int
    stored_bytes: int


def host_record_writes(scenario: Scenario, assumptions: Assumptions, hosts: int) -> HostRecordWrites:
    """One region's (or one wave's) host records: per host, or packed one item per shard key (as many
    keys as the regional sync spreads them over)."""
    records = hosts * scenario.records_per_host
    if scenario.record_layout is RecordLayout.PER_HOST:
        size = assumptions.host_record_bytes
        return HostRecordWrites(
            items=records,
            write_units=records * write_units(size),
            batch_calls=math.ceil(records / BATCH_WRITE_ITEMS),
            stored_bytes=records * (size + DYNAMODB_ITEM_OVERHEAD_BYTES),
        )
    shards = host_record_shards(hosts)
    hosts_per_shard = math.ceil(hosts / shards)
    size = assumptions.shard_item_overhead_bytes + hosts_per_shard * assumptions.packed_host_bytes
    items = shards * scenario.records_per_host
    return HostRecordWrites(
        items=items,
        write_units=items * write_units(size),
        batch_calls=math.ceil(items / BATCH_WRITE_ITEMS),
        stored_bytes=items * (size + DYNAMODB_ITEM_OVERHEAD_BYTES),
    )


@dataclass(frozen=True)
class Durations:
    """Seconds each function runs for one invocation, and the deployment's stages."""

    api: float
    build_worker: float
    replication_starter: float
    copy: float  # one destination
    regional_sync: float  # one region, one wave
    deployment_step: float  # a step without a wave: a few reads and writes
    deployment_wave_step: float  # a wave's step, which waits for the region's sync
    replication: float  # all destinations, in the Map's batches
    rollout: float  # one region, every wave, P2P
    total: float  # build + replication + rollout


def sync_write_rate(template: TemplateSettings, assumptions: Assumptions) -> float:
    """Items a second one regional sync writes: its writers each keep one BatchWriteItem in flight."""
    return template.host_record_writers * BATCH_WRITE_ITEMS / assumptions.batch_write_seconds


def seed_range_bytes(scenario: Scenario) -> int:
    """A seed reads the artifact from its bucket in ranged GETs of boto3's 8 MiB chunk, or of a piece
    when pieces are larger."""
    return max(scenario.piece_bytes, BOTO3_MULTIPART_CHUNK)


def copies_in_parts(scenario: Scenario, template: TemplateSettings) -> bool:
    """Above the threshold an artifact is copied by multipart copy (UploadPartCopy); else by CopyObject."""
    return scenario.artifact_bytes > template.multipart_copy_threshold_bytes


def copies_by_function(scenario: Scenario, template: TemplateSettings) -> bool:
    """Whether each copy is a Lambda invocation: always with the regional layout's copy function, else
    only the multipart ones (the state machine makes the others with CopyObject itself)."""
    return template.copy_function_for_every_copy or copies_in_parts(scenario, template)


def rollout_seconds(scenario: Scenario, assumptions: Assumptions) -> float:
    """One region's rollout: each wave a swarm of its hosts (the closed form at scale), waves one after
    another with the bake time between them; or every host pulling from the bucket without P2P."""
    wave = scenario.swarm(scenario.hosts_per_wave)
    one_wave = pipelined_broadcast_seconds(wave) if scenario.p2p else direct_from_bucket_seconds(wave)
    return scenario.waves * one_wave + (scenario.waves - 1) * assumptions.bake_seconds_between_waves


def durations(scenario: Scenario, template: TemplateSettings, assumptions: Assumptions) -> Durations:
    artifact = scenario.artifact_bytes
    build_worker = assumptions.short_call_seconds + artifact / assumptions.upload_bytes_per_second
    copy = artifact / assumptions.copy_bytes_per_second
    writes = host_record_writes(scenario, assumptions, scenario.hosts_per_wave)
    regional_sync = assumptions.short_call_seconds + writes.items / sync_write_rate(template, assumptions)
    batches = math.ceil(scenario.regions / template.replication_map_max_concurrency)
    replication = assumptions.short_call_seconds + batches * copy
    rollout = rollout_seconds(scenario, assumptions)
    return Durations(
        api=assumptions.api_call_seconds,
        build_worker=build_worker,
        replication_starter=assumptions.short_call_seconds,
        copy=copy,
        regional_sync=regional_sync,
        deployment_step=assumptions.short_call_seconds,
        deployment_wave_step=assumptions.short_call_seconds + regional_sync,
        replication=replication,
        rollout=rollout,
        total=assumptions.build_seconds + build_worker + replication + rollout,
    )


def counts(scenario: Scenario, template: TemplateSettings, assumptions: Assumptions) -> Counts:
    regions, waves = scenario.regions, scenario.waves
    per_wave = host_record_writes(scenario, assumptions, scenario.hosts_per_wave)
    return Counts(
        build_records=1,
        status_history_entries=3,  # QUEUED, BUILDING, SUCCEEDED
        replication_executions=1,
        replication_state_transitions=template.replication_top_level_transitions
        + regions * template.replication_transitions_per_destination,
        tracking_rows=1,
        artifact_copies=regions,
        artifact_objects=3 * (1 + regions),  # each artifact, its piece list and its torrent beside it, in every bucket
        stored_artifact_bytes=(1 + regions) * scenario.artifact_bytes,
        regional_sync_invocations=regions * waves,
        rollout_summaries=regions,  # one per region, when its rollout ends
        host_records=regions * scenario.hosts_per_region * scenario.records_per_host,
        host_record_items=regions * waves * per_wave.items,
        deployment_records=1 + regions,
        region_goals=regions,
        rollout_state_transitions=template.rollout.transitions(REGION_WAVES, regions, waves),
        deployment_step_invocations=template.auto_deploy_invocations + template.rollout.invocations(regions, waves),
        host_state_blocks_written=regions * waves * host_state_blocks(scenario.hosts_per_wave),
    )


def host_state_blocks(hosts: int) -> int:
    """The host-state blocks `hosts` hosts fill (code_deploy.hosts.store): a wave reads every block of
    its region and writes those its hosts are in."""
    return max(1, math.ceil(hosts / HOSTS_PER_BLOCK))


def _gb_seconds(settings: FunctionSettings, seconds: float) -> float:
    return settings.memory_mb / 1024 * seconds


def _build_query_read_units(scenario: Scenario, assumptions: Assumptions) -> int:
    """One status poll's consistent Query of the build: its record and every region's rollout summary."""
    return read_units(assumptions.build_record_bytes + scenario.regions * assumptions.rollout_summary_bytes)


def _bucket_gets(scenario: Scenario) -> int:
    """GETs the regional buckets serve: with P2P each wave's seeds read the whole artifact, peers pass the
    pieces on to everyone else; without it every host reads it all."""
    artifact = scenario.artifact_bytes
    if scenario.p2p:
        parts = artifact_parts(artifact, seed_range_bytes(scenario))
        return scenario.regions * scenario.waves * scenario.seeds_per_wave * parts
    return scenario.regions * scenario.hosts_per_region * artifact_parts(artifact, BOTO3_MULTIPART_CHUNK)


def _peer_bytes(scenario: Scenario) -> int:
    """Bytes hosts pass one another with P2P: the whole artifact to every host but the seeds."""
    if not scenario.p2p:
        return 0
    hosts_fed_by_peers = scenario.hosts_per_region - scenario.waves * scenario.seeds_per_wave
    return scenario.regions * hosts_fed_by_peers * scenario.artifact_bytes


def _invocations(scenario: Scenario, template: TemplateSettings, count: Counts) -> dict[str, int]:
    """Each function's invocations in one deployment, by the name the work table gives it."""
    return {
        "api": 1 + scenario.status_polls_per_deployment,
        "build worker": 1,
        "replication starter": 1,
        "copy": scenario.regions if copies_by_function(scenario, template) else 0,
        "regional sync": count.regional_sync_invocations,
        "deployment step": count.deployment_step_invocations,
    }


def _lambda_work(
    scenario: Scenario, template: TemplateSettings, times: Durations, invocations: dict[str, int]
) -> list[WorkItem]:
    # A wave's step invokes the region's sync synchronously: it is billed while the sync runs.
    wave_steps = scenario.regions * scenario.waves
    gb_seconds = {
        "api": invocations["api"] * _gb_seconds(template.api, times.api),
        "build worker": _gb_seconds(template.build_worker, times.build_worker),
        "replication starter": _gb_seconds(template.replication_starter, times.replication_starter),
        "copy": invocations["copy"] * _gb_seconds(template.copy, times.copy),
        "regional sync": invocations["regional sync"] * _gb_seconds(template.regional_sync, times.regional_sync),
        "deployment step": wave_steps * _gb_seconds(template.deployment_step, times.deployment_wave_step)
        + (invocations["deployment step"] - wave_steps) * _gb_seconds(template.deployment_step, times.deployment_step),
    }
    return [
        *(WorkItem("Lambda", f"{name} invocations", calls, "lambda.requests") for name, calls in invocations.items()),
        *(WorkItem("Lambda", f"{name} GB-seconds", used, "lambda.gb_seconds") for name, used in gb_seconds.items()),
    ]


def _step_functions_work(count: Counts) -> list[WorkItem]:
    return [
        WorkItem(
            "Step Functions",
            "replication state transitions",
            count.replication_state_transitions,
            "stepfunctions.state_transitions",
        ),
        WorkItem(
            "Step Functions",
            "rollout state transitions (its ASL: start, a region's waves and health gates, finish)",
            count.rollout_state_transitions,
            "stepfunctions.state_transitions",
        ),
    ]


def _s3_work(scenario: Scenario, template: TemplateSettings, assumptions: Assumptions, count: Counts) -> list[WorkItem]:
    regions, artifact = scenario.regions, scenario.artifact_bytes
    by_function = copies_by_function(scenario, template)
    in_parts = copies_in_parts(scenario, template)
    copy_parts = artifact_parts(artifact, template.multipart_copy_part_bytes) if in_parts else 0
    return [
        WorkItem("S3", "artifact upload: PUT or multipart parts", upload_requests(artifact), "s3.tier1_requests"),
        WorkItem(
            "S3",
            "regional copies: COPY, or create + UploadPartCopy parts + complete",
            regions * (copy_parts + 2 if in_parts else 1),
            "s3.tier1_requests",
        ),
        WorkItem(
            "S3",
            "HEADs: worker, workflow, copies, syncs",
            1 + 1 + (2 * regions if by_function else 0) + count.regional_sync_invocations,
            "s3.tier2_requests",
        ),
        WorkItem(
            "S3",
            "retention tags: the deployment's copies pinned before and after its goals, the dropped ones released",
            3 * regions,
            "s3.tier1_requests",
        ),
        WorkItem(
            "S3",
            "retention tags: each copy reads the tag of the copy it replaces",
            regions if by_function else 0,
            "s3.tier2_requests",
        ),
        WorkItem(
            "S3",
            "GETs: seeds' pieces (P2P) or every host's parts (no P2P)",
            _bucket_gets(scenario),
            "s3.tier2_requests",
        ),
        WorkItem(
            "S3",
            f"artifact storage, {assumptions.artifact_retention_days:g} days x (1 + regions) copies",
            count.stored_artifact_bytes / GIB * assumptions.artifact_retention_days / DAYS_PER_MONTH,
            "s3.storage_gb_month",
        ),
    ]


def _transfer_work(scenario: Scenario) -> list[WorkItem]:
    return [
        WorkItem(
            "Data transfer",
            "artifact to every destination region",
            scenario.regions * scenario.artifact_bytes / GIB,
            "transfer.inter_region_gb",
        ),
        WorkItem(
            "Data transfer",
            "P2P bytes between hosts that cross an Availability Zone",
            _peer_bytes(scenario) * scenario.cross_az_peer_fraction / GIB,
            "transfer.cross_az_gb",
        ),
    ]


def _dynamodb_work(scenario: Scenario, assumptions: Assumptions) -> list[WorkItem]:
    regions, waves = scenario.regions, scenario.waves
    per_wave = host_record_writes(scenario, assumptions, scenario.hosts_per_wave)
    tracking_final = assumptions.tracking_row_bytes + regions * assumptions.tracking_bytes_per_destination
    status_read_units = _build_query_read_units(scenario, assumptions) + read_units(tracking_final)
    return [
        WorkItem(
            "DynamoDB",
            "builds: QUEUED put, BUILDING and SUCCEEDED updates",
            3 * write_units(assumptions.build_record_bytes),
            "dynamodb.write_units",
        ),
        WorkItem(
            "DynamoDB",
            "idempotency record: put, complete",
            2 if scenario.idempotency_keys else 0,
            "dynamodb.write_units",
        ),
        WorkItem(
            "DynamoDB",
            "FileCopyTracking: start put, final update",
            write_units(assumptions.tracking_row_bytes) + write_units(tracking_final),
            "dynamodb.write_units",
        ),
        WorkItem(
            "DynamoDB",
            f"host records ({scenario.record_layout.value}), BatchWriteItem",
            regions * waves * per_wave.write_units,
            "dynamodb.write_units",
        ),
        WorkItem(
            "DynamoDB",
            "rollout summaries (one put per region, when its rollout ends)",
            regions * write_units(assumptions.rollout_summary_bytes),
            "dynamodb.write_units",
        ),
        *_deployment_tables_work(scenario, assumptions),
        *_host_state_work(scenario, assumptions),
        WorkItem(
            "DynamoDB",
            "status polls: Query of the build + GetItem of its tracking row",
            scenario.status_polls_per_deployment * status_read_units,
            "dynamodb.read_units",
        ),
        WorkItem(
            "DynamoDB",
            f"host records stored, {assumptions.host_record_retention_days:g} days (+ point-in-time recovery)",
            regions * waves * per_wave.stored_bytes / GIB * assumptions.host_record_retention_days / DAYS_PER_MONTH,
            "dynamodb.storage_gb_month",
        ),
    ]


def _deployment_read_units(scenario: Scenario, assumptions: Assumptions) -> int:
    """One consistent Query of the deployment: its record and an item a region."""
    return read_units(assumptions.deployment_record_bytes + scenario.regions * assumptions.region_rollout_bytes)


def _deployment_tables_work(scenario: Scenario, assumptions: Assumptions) -> list[WorkItem]:
    """The deployments and regions tables (global stack), as code_deploy.deployments reads and writes
    them: the acceptance (AutoDeploy's), then each step of the rollout (start, a step a wave, finish)."""
    regions, waves = scenario.regions, scenario.waves
    deployment = write_units(assumptions.deployment_record_bytes)
    rollout = write_units(assumptions.region_rollout_bytes)
    goal = write_units(assumptions.region_goal_bytes)
    goal_read = read_units(assumptions.region_goal_bytes)
    query = _deployment_read_units(scenario, assumptions)
    return [
        WorkItem(
            "DynamoDB",
            "accepted in one transaction: the deployment, its regions, their goals (a transaction's units x2)",
            2 * (deployment + regions * (rollout + goal)),
            "dynamodb.write_units",
        ),
        WorkItem(
            "DynamoDB",
            "acceptance reads: each region's goal (twice: before, and after the retention tags), the "
            "deployment that set it",
            2 * regions * goal_read + read_units(assumptions.deployment_record_bytes),
            "dynamodb.read_units",
        ),
        WorkItem(
            "DynamoDB",
            "rollout steps' writes: status at start and finish; a region's progress twice a wave, its hosts per build",
            2 * deployment + regions * waves * (2 * rollout + goal),
            "dynamodb.write_units",
        ),
        WorkItem(
            "DynamoDB",
            "rollout steps' reads: the deployment (a Query) every step, the region's goal every wave",
            (2 + regions * waves) * query + regions * waves * goal_read,
            "dynamodb.read_units",
        ),
    ]


def _host_state_work(scenario: Scenario, assumptions: Assumptions) -> list[WorkItem]:
    """Each region's host-state table: a wave reads every block of the region (consistent) and writes
    back the blocks its hosts are in, each about host_state_block_bytes (70 KB for 1,000 hosts)."""
    regions, waves = scenario.regions, scenario.waves
    block_size = assumptions.host_state_block_bytes * min(scenario.hosts_per_region, HOSTS_PER_BLOCK) / HOSTS_PER_BLOCK
    return [
        WorkItem(
            "DynamoDB",
            "host-state blocks written by the waves",
            regions * waves * host_state_blocks(scenario.hosts_per_wave) * write_units(block_size),
            "dynamodb.write_units",
        ),
        WorkItem(
            "DynamoDB",
            "host-state blocks read by the waves (every block of the region, each wave)",
            regions * waves * host_state_blocks(scenario.hosts_per_region) * read_units(block_size),
            "dynamodb.read_units",
        ),
    ]


def work(scenario: Scenario, template: TemplateSettings, assumptions: Assumptions) -> list[WorkItem]:
    """Everything one deployment does, service by service, in billing units (what it does not do left out)."""
    count = counts(scenario, template, assumptions)
    invocations = _invocations(scenario, template, count)
    items = [
        WorkItem(
            "API Gateway", "REST requests: POST /builds and status polls", invocations["api"], "apigateway.requests"
        ),
        WorkItem("SQS", "build message: send, receive, delete", 3, "sqs.requests"),
        *_lambda_work(scenario, template, durations(scenario, template, assumptions), invocations),
        *_step_functions_work(count),
        *_s3_work(scenario, template, assumptions, count),
        *_transfer_work(scenario),
        *_dynamodb_work(scenario, assumptions),
        WorkItem(
            "CloudWatch Logs",
            "every invocation's log lines",
            sum(invocations.values()) * assumptions.log_bytes_per_invocation / GIB,
            "logs.ingested_gb",
        ),
    ]
    return [item for item in items if item.count]


def usage(items: Iterable[WorkItem]) -> dict[str, float]:
    totals: dict[str, float] = defaultdict(float)
    for item in items:
        totals[item.usage] += item.count
    return dict(totals)


# --- cost ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Price:
    usd: float  # per `per` units
    per: float
    unit: str
    source: str

    @property
    def unit_price(self) -> float:
        return self.usd / self.per


@dataclass(frozen=True)
class PriceTable:
    region: str
    retrieved: str  # the date the prices were read
    prices: dict[str, Price]

    @classmethod
    def from_dict(cls, data: dict) -> PriceTable:
        prices = {
            key: Price(float(entry["usd"]), float(entry["per"]), entry["unit"], entry["source"])
            for key, entry in data["prices"].items()
        }
        return cls(data["region"], data["retrieved"], prices)

    def unit_price(self, usage_key: str) -> float:
        try:
            return self.prices[usage_key].unit_price
        except KeyError:
            raise KeyError(f"the price table has no price for {usage_key!r}") from None


# The service each usage key's cost is reported under.
SERVICE_OF_USAGE = {
    "apigateway.requests": "API Gateway",
    "sqs.requests": "SQS",
    "lambda.requests": "Lambda",
    "lambda.gb_seconds": "Lambda",
    "stepfunctions.state_transitions": "Step Functions",
    "s3.tier1_requests": "S3 requests",
    "s3.tier2_requests": "S3 requests",
    "s3.storage_gb_month": "S3 storage",
    "transfer.inter_region_gb": "Data transfer",
    "transfer.cross_az_gb": "Data transfer",
    "dynamodb.write_units": "DynamoDB",
    "dynamodb.read_units": "DynamoDB",
    "dynamodb.storage_gb_month": "DynamoDB",
    "dynamodb.pitr_gb_month": "DynamoDB",
    "dynamodb.provisioned_wcu_hours": "DynamoDB",
    "dynamodb.provisioned_rcu_hours": "DynamoDB",
    "logs.ingested_gb": "CloudWatch Logs",
}


@dataclass(frozen=True)
class Cost:
    per_deployment: dict[str, float]  # service -> USD
    fixed_per_month: dict[str, float]  # service -> USD that does not scale with deployments

    @property
    def deployment_total(self) -> float:
        return sum(self.per_deployment.values())

    def per_month(self, deployments_per_day: float) -> dict[str, float]:
        monthly: dict[str, float] = defaultdict(float)
        for service, usd in self.per_deployment.items():
            monthly[service] += usd * deployments_per_day * DAYS_PER_MONTH
        for service, usd in self.fixed_per_month.items():
            monthly[service] += usd
        return dict(monthly)

    def month_total(self, deployments_per_day: float) -> float:
        return sum(self.per_month(deployments_per_day).values())


def peak_deployments_per_second(scenario: Scenario, assumptions: Assumptions) -> float:
    return scenario.deployments_per_day / SECONDS_PER_DAY * assumptions.peak_to_average


def cost(scenario: Scenario, template: TemplateSettings, assumptions: Assumptions, prices: PriceTable) -> Cost:
    used = usage(work(scenario, template, assumptions))
    # Point-in-time recovery is on for every table: billed on the same bytes as storage.
    used["dynamodb.pitr_gb_month"] = used.get("dynamodb.storage_gb_month", 0.0)
    fixed = {"SQS": assumptions.idle_sqs_requests_per_month * prices.unit_price("sqs.requests")}
    if scenario.capacity_mode is CapacityMode.PROVISIONED:
        # Capacity bought for the peak's sustained rate, every hour of the month, in every region's
        # table; the request units are then not billed one by one.
        units_written = used.pop("dynamodb.write_units", 0.0)
        units_read = used.pop("dynamodb.read_units", 0.0)
        peak = peak_deployments_per_second(scenario, assumptions)
        fixed["DynamoDB"] = HOURS_PER_MONTH * (
            units_written * peak * prices.unit_price("dynamodb.provisioned_wcu_hours")
            + units_read * peak * prices.unit_price("dynamodb.provisioned_rcu_hours")
        )
    per_deployment: dict[str, float] = defaultdict(float)
    for key, quantity in used.items():
        per_deployment[SERVICE_OF_USAGE[key]] += quantity * prices.unit_price(key)
    return Cost(dict(per_deployment), fixed)


# --- limits --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Quota:
    value: float
    unit: str
    source: str


class LimitKind(StrEnum):
    QUOTA = "AWS quota"  # a service quota or physical limit of AWS
    SETTING = "template setting"  # a value of this project's templates, changed by editing them
    BUDGET = "design budget"  # the design problem's 30 minutes


@dataclass(frozen=True)
class Limit:
    name: str
    demand: float
    limit: float
    unit: str
    source: str
    what_breaks: str
    kind: LimitKind = LimitKind.QUOTA

    @property
    def headroom(self) -> float:
        """How many times the demand fits the limit: below 1, it breaks."""
        return math.inf if self.demand <= 0 else self.limit / self.demand


@dataclass(frozen=True)
class _Peak:
    """One scenario at its peak (average x peak_to_average): what every limit's demand is worked out from."""

    scenario: Scenario
    template: TemplateSettings
    assumptions: Assumptions
    quotas: dict[str, Quota]
    deployments_per_second: float
    times: Durations
    per_wave: HostRecordWrites  # one region's host-record writes for one wave
    copies_by_function: bool
    api_requests: int  # POST /builds and its status polls

    def limit(
        self,
        name: str,
        demand: float,
        what_breaks: str,
        quota_key: str | None = None,
        *,
        value: float | None = None,
        unit: str = "",
        source: str = "",
    ) -> Limit:
        """A limit from the quota table (quota_key), or one the template or the design sets (value)."""
        if quota_key is not None:
            quota = self.quotas[quota_key]
            return Limit(name, demand, quota.value, quota.unit, quota.source, what_breaks)
        kind = LimitKind.BUDGET if source == DESIGN_SOURCE else LimitKind.SETTING
        return Limit(name, demand, float(value or 0), unit, source, what_breaks, kind)


def _home_concurrency(at: _Peak) -> float:
    """Little's law: concurrent invocations = arrivals a second x seconds each."""
    times, scenario = at.times, at.scenario
    wave_steps = scenario.regions * scenario.waves
    other_steps = counts(scenario, at.template, at.assumptions).deployment_step_invocations - wave_steps
    return at.deployments_per_second * (
        at.api_requests * times.api
        + times.build_worker
        + times.replication_starter
        + (scenario.regions * times.copy if at.copies_by_function else 0)
        + wave_steps * times.deployment_wave_step  # each waits for its region's sync
        + other_steps * times.deployment_step
    )


def _lambda_limits(at: _Peak) -> list[Limit]:
    rows = [
        ("Lambda concurrency, home region", _home_concurrency(at), "API, worker and copies throttled",
         "lambda.concurrent_executions"),
        ("Lambda concurrency, each region", at.deployments_per_second * at.scenario.waves * at.times.regional_sync,
         "regional syncs throttled, S3 events retried", "lambda.concurrent_executions"),
    ]  # fmt: skip
    return [at.limit(*row) for row in rows]


TIMEOUT, MEMORY = "Timeout", "MemorySize"  # the function settings a limit compares against


def _function_limit(
    at: _Peak, name: str, demand: float, what_breaks: str, function: str, settings: FunctionSettings, setting: str
) -> Limit:
    """A function's run time (seconds) or memory (MB) against its Timeout or MemorySize in the template."""
    memory = setting == MEMORY
    return at.limit(
        name,
        demand,
        what_breaks,
        value=settings.memory_mb if memory else settings.timeout_seconds,
        unit="MB" if memory else "seconds",
        source=f"template: {function} {setting}",
    )


def _function_setting_limits(at: _Peak) -> list[Limit]:
    """Each function's run time and memory against what the template gives it."""
    scenario, template, assumptions = at.scenario, at.template, at.assumptions
    worker_memory = assumptions.worker_base_memory_bytes + 2 * scenario.artifact_bytes  # payload + its zip
    sync_memory = assumptions.sync_base_memory_bytes + scenario.hosts_per_wave * assumptions.sync_bytes_per_host
    sync, worker = ("RegionalSyncFunction", template.regional_sync), ("BuildWorkerFunction", template.build_worker)
    rows = [
        ("Regional sync run time vs its timeout", at.times.regional_sync,
         "the sync times out before its records are written", *sync, TIMEOUT),
        ("Regional sync memory (host records held)", sync_memory / MIB, "the sync runs out of memory", *sync, MEMORY),
        ("Build worker memory (artifact built in memory)", worker_memory / MIB,
         "the worker runs out of memory", *worker, MEMORY),
        ("Build worker upload time vs its timeout", at.times.build_worker, "the upload times out", *worker, TIMEOUT),
        ("Copy time vs the copy function's timeout", at.times.copy if at.copies_by_function else 0.0,
         "a regional copy times out", "the copy function's", template.copy, TIMEOUT),
    ]  # fmt: skip
    return [_function_limit(at, *row) for row in rows]


def _host_record_write_units(at: _Peak) -> tuple[float, float]:
    """Write units a second on one region's host-record table and on one of its partitions."""
    scenario, per_wave = at.scenario, at.per_wave
    write_units_per_item = per_wave.write_units / per_wave.items
    syncs_at_once = max(1.0, at.deployments_per_second * scenario.waves * at.times.regional_sync)
    # What one sync writes in its busiest second: its writers' pace, or all its items if they take less.
    sync_burst_units = min(sync_write_rate(at.template, at.assumptions), per_wave.items) * write_units_per_item
    table_units = max(
        at.deployments_per_second * scenario.waves * per_wave.write_units,  # sustained at the peak
        syncs_at_once * sync_burst_units,  # while syncs write
    )
    # the writers spread items over the shards
    partition_units = sync_burst_units * syncs_at_once / host_record_shards(scenario.hosts_per_wave)
    return table_units, partition_units


def _status_read_units_per_second(at: _Peak) -> float:
    """One build's partition, read by its client's status polls."""
    if not at.scenario.status_polls_per_deployment:
        return 0.0
    return _build_query_read_units(at.scenario, at.assumptions) / at.assumptions.status_poll_interval_seconds


def _host_state_write_units(at: _Peak) -> float:
    """Write units a second on one region's host-state table: at the peak's sustained rate, or while
    syncs save their blocks, one PutItem (of a ~70 KB block) after another."""
    scenario, assumptions = at.scenario, at.assumptions
    block_units = write_units(
        assumptions.host_state_block_bytes * min(scenario.hosts_per_region, HOSTS_PER_BLOCK) / HOSTS_PER_BLOCK
    )
    blocks = host_state_blocks(scenario.hosts_per_wave)
    syncs_at_once = max(1.0, at.deployments_per_second * scenario.waves * at.times.regional_sync)
    one_sync = min(blocks, 1 / assumptions.batch_write_seconds) * block_units  # its busiest second
    return max(at.deployments_per_second * scenario.waves * blocks * block_units, syncs_at_once * one_sync)


def _dynamodb_limits(at: _Peak) -> list[Limit]:
    table_units, partition_units = _host_record_write_units(at)
    rows = [
        ("DynamoDB writes, one region's host-state table", _host_state_write_units(at),
         "a wave's host-state saves throttled", "dynamodb.table_write_units_per_second"),
        ("DynamoDB writes, one region's host-record table", table_units, "host-record writes throttled",
         "dynamodb.table_write_units_per_second"),
        ("DynamoDB writes, one partition (host-record shard keys)", partition_units, "hot partition: writes throttled",
         "dynamodb.partition_write_units_per_second"),
        ("DynamoDB reads, one build's partition (status polls)", _status_read_units_per_second(at),
         "status reads throttled", "dynamodb.partition_read_units_per_second"),
    ]  # fmt: skip
    return [at.limit(*row) for row in rows]


def _upload_put_rate(at: _Peak) -> float:
    """PUTs a second on the global bucket: one upload's parts at the worker's pace, or every upload's."""
    scenario = at.scenario
    return max(
        at.assumptions.upload_bytes_per_second / BOTO3_MULTIPART_CHUNK
        if scenario.artifact_bytes > BOTO3_MULTIPART_THRESHOLD
        else 0,
        at.deployments_per_second * upload_requests(scenario.artifact_bytes),
    )


def _bucket_get_rate(at: _Peak) -> float:
    """GETs a second on a regional bucket while a wave rolls out."""
    scenario = at.scenario
    if scenario.p2p:
        # each seed reads at its own bandwidth, one ranged GET at a time
        return scenario.seeds_per_wave * scenario.host_bandwidth / seed_range_bytes(scenario)
    parts = artifact_parts(scenario.artifact_bytes, BOTO3_MULTIPART_CHUNK)
    return scenario.hosts_per_wave * parts / max(at.times.rollout / scenario.waves, 1e-9)


def _s3_limits(at: _Peak) -> list[Limit]:
    rows = [
        ("S3 PUT/COPY, global bucket's builds/ prefix", _upload_put_rate(at), "uploads answered 503 Slow Down",
         "s3.put_per_prefix_per_second"),
        ("S3 GET, a regional bucket's builds/ prefix", _bucket_get_rate(at), "piece downloads answered 503 Slow Down",
         "s3.get_per_prefix_per_second"),
    ]  # fmt: skip
    return [at.limit(*row) for row in rows]


def _step_functions_limits(at: _Peak) -> list[Limit]:
    scenario, peak = at.scenario, at.deployments_per_second
    count = counts(scenario, at.template, at.assumptions)
    transitions, rollout_transitions = count.replication_state_transitions, count.rollout_state_transitions
    history = at.assumptions.history_events_per_transition
    return [
        at.limit(
            "Step Functions StartExecution rate",
            peak,
            "replications not started (the starter retries)",
            "stepfunctions.start_execution_per_second",
        ),
        at.limit(
            "Step Functions state transitions rate",
            peak * (transitions + rollout_transitions),
            "workflows throttled",
            "stepfunctions.state_transitions_per_second",
        ),
        at.limit(
            "Step Functions execution history",
            transitions * history,
            "the replication execution fails",
            "stepfunctions.history_events",
        ),
        at.limit(
            "Step Functions execution history, rollout",
            rollout_transitions * history,
            "the rollout execution fails",
            "stepfunctions.history_events",
        ),
        at.limit(
            "Replication Map concurrency vs regions",
            scenario.regions,
            "copies wait for a free slot (replication takes longer)",
            value=at.template.replication_map_max_concurrency,
            unit="regions",
            source="statemachine: CopyToMultipleBuckets MaxConcurrency",
        ),
    ]


def _front_door_limits(at: _Peak) -> list[Limit]:
    """The API's requests and the build queue's messages."""
    api_rate = at.deployments_per_second * at.api_requests
    return [
        at.limit(
            "API stage throttling (template)",
            api_rate,
            "clients get 429",
            value=at.template.api_rate_limit,
            unit="requests/s",
            source="template: ApiThrottlingRateLimit",
        ),
        at.limit("API Gateway account throttle", api_rate, "clients get 429", "apigateway.account_requests_per_second"),
        at.limit(
            "SQS in-flight build messages",
            at.deployments_per_second * at.times.build_worker,
            "OverLimit on receive",
            "sqs.in_flight_messages",
        ),
    ]


def _scale_limits(at: _Peak) -> list[Limit]:
    """The fleet the template accepts, and the deployment's time against the design's budget."""
    rows = [
        ("HostsPerRegion bound in the template", at.scenario.hosts_per_region, "the stack refuses the parameter",
         at.template.hosts_per_region_max, "hosts", "template: HostsPerRegion MaxValue"),
        ("Build + replication + rollout vs the 30-minute budget", at.times.total, "deployments miss the budget",
         at.assumptions.budget_seconds, "seconds", DESIGN_SOURCE),
    ]  # fmt: skip
    return [
        at.limit(name, demand, what_breaks, value=value, unit=unit, source=source)
        for name, demand, what_breaks, value, unit, source in rows
    ]


def limits(
    scenario: Scenario, template: TemplateSettings, assumptions: Assumptions, quotas: dict[str, Quota]
) -> list[Limit]:
    """Every limit the scenario meets, its demand at the peak (average x peak_to_average) against it."""
    at = _Peak(
        scenario=scenario,
        template=template,
        assumptions=assumptions,
        quotas=quotas,
        deployments_per_second=peak_deployments_per_second(scenario, assumptions),
        times=durations(scenario, template, assumptions),
        per_wave=host_record_writes(scenario, assumptions, scenario.hosts_per_wave),
        copies_by_function=copies_by_function(scenario, template),
        api_requests=1 + scenario.status_polls_per_deployment,
    )
    return [
        *_lambda_limits(at),
        *_function_setting_limits(at),
        *_dynamodb_limits(at),
        *_s3_limits(at),
        *_step_functions_limits(at),
        *_front_door_limits(at),
        *_scale_limits(at),
    ]


def first_limit(found: Iterable[Limit], kind: LimitKind | None = None) -> Limit:
    """The limit with the least headroom (of one kind, if given): the first to break as the load grows."""
    return min((limit for limit in found if kind is None or limit.kind is kind), key=lambda limit: limit.headroom)


# The scenario's inputs a sweep can grow, and how.
AXES: dict[str, Callable[[Scenario, float], Scenario]] = {
    "hosts_per_region": lambda s, v: replace(
        s, hosts_per_region=max(1, round(v)), waves=min(s.waves, max(1, round(v)))
    ),
    "deployments_per_day": lambda s, v: replace(s, deployments_per_day=v),
    "artifact_bytes": lambda s, v: replace(s, artifact_bytes=max(1, round(v))),
    "regions": lambda s, v: replace(s, regions=max(1, round(v))),
}


@dataclass(frozen=True)
class BreakingPoint:
    limit: str
    axis: str
    value: float | None  # the axis's value where the limit's headroom falls below 1; None: never (up to 1e12)
    kind: LimitKind = LimitKind.QUOTA

    @property
    def at_any_scale(self) -> bool:
        """Broken whatever the axis's value (the limit does not depend on it, and is already broken)."""
        return self.value is not None and self.value <= 1


def breaking_points(
    scenario: Scenario,
    template: TemplateSettings,
    assumptions: Assumptions,
    quotas: dict[str, Quota],
    axis: str,
    ceiling: float = 1e12,
) -> list[BreakingPoint]:
    """For each limit, the scale of `axis` at which it breaks, all else as in `scenario`, found by
    bisection on a log scale (every limit's demand grows with every axis), smallest first."""
    grow = AXES[axis]
    current = float(getattr(scenario, axis))

    def headroom(name: str, value: float) -> float:
        grown = grow(scenario, value)
        return next(limit for limit in limits(grown, template, assumptions, quotas) if limit.name == name).headroom

    points = []
    for limit in limits(scenario, template, assumptions, quotas):

        def holds(value: float, name: str = limit.name) -> bool:
            return headroom(name, value) >= 1

        if limit.headroom < 1:
            value: float | None = _bisect(holds, 1.0, current)
        elif holds(ceiling):
            value = None
        else:
            value = _bisect(holds, current, ceiling)
        points.append(BreakingPoint(limit.name, axis, value, limit.kind))
    return sorted(points, key=lambda point: math.inf if point.value is None else point.value)


def _bisect(holds: Callable[[float], bool], low: float, high: float) -> float:
    """The smallest value in (low, high] where `holds` stops holding (holds(low) and not holds(high)),
    to 0.1%; low itself when even it does not hold."""
    if not holds(low):
        return low
    while high / low > 1.001:
        middle = math.sqrt(low * high)
        low, high = (middle, high) if holds(middle) else (low, middle)
    return high


# --- everything at once ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Report:
    scenario: Scenario
    work: list[WorkItem]
    counts: Counts
    cost: Cost
    limits: list[Limit]
    durations: Durations
    first: Limit = field(init=False)
    first_quota: Limit = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "first", first_limit(self.limits))
        object.__setattr__(self, "first_quota", first_limit(self.limits, LimitKind.QUOTA))


def report(
    scenario: Scenario,
    template: TemplateSettings,
    assumptions: Assumptions,
    prices: PriceTable,
    quotas: dict[str, Quota],
) -> Report:
    return Report(
        scenario=scenario,
        work=work(scenario, template, assumptions),
        counts=counts(scenario, template, assumptions),
        cost=cost(scenario, template, assumptions, prices),
        limits=limits(scenario, template, assumptions, quotas),
        durations=durations(scenario, template, assumptions),
    )
