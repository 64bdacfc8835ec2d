"""The capacity model's two scenarios (the local default and the design problem), the assumptions it
measures on the code that writes the host records, and the dated price and quota tables in capacity/."""

from __future__ import annotations

import dataclasses
import json
import math
import tracemalloc
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from bench import p2p_report
from capacity.agents import AgentSettings
from capacity.model import Assumptions, CapacityMode, PriceTable, Quota, RecordLayout, Scenario
from capacity.templates import REPO, fleet_stack_settings
from code_deploy import swarm
from code_deploy.builds.artifact import build_artifact
from code_deploy.builds.model import artifact_key
from code_deploy.deployments import model as deployments
from code_deploy.deployments.store import Deployment, DeploymentStatusChange, RegionRollout
from code_deploy.hosts import fleet
from code_deploy.hosts import records as host_logs
from code_deploy.hosts import store as host_store
from code_deploy.hosts.model import Host
from code_deploy_agent import agent as code_deploy_agent
from code_deploy_agent import host_item, p2p
from code_deploy_agent.config import AgentConfig

PRICES = "capacity/aws-prices-us-east-1.json"
QUOTAS = "capacity/aws-quotas.json"
# The design problem: thousands of deployments a day (we take 2,000) to 100,000 hosts in each of 10
# regions, a 10 GB binary; the P2P figures are the P2P report's (bench/p2p_report.py).
DESIGN_DEPLOYMENTS_PER_DAY = 2_000
LOCAL_DEPLOYMENTS_PER_DAY = 100
SAMPLE_HOSTS = 2_000  # hosts of the plan whose records are measured
SAMPLE_REGIONS = ("us-west-2", "eu-west-1", "ap-southeast-2", "eu-central-1", "ap-northeast-1")
SAMPLE_BUILDS = ("build-20261123T000000Z-0123abcd", "build-20261122T000000Z-4567ef01")
SAMPLE_AT = "2026-11-23T00:00:00.000Z"


# --- what the code's own records measure ---------------------------------------------------------------


def _attribute_bytes(value: Any) -> int:
    """An attribute value's size as DynamoDB counts it: UTF-8 bytes of a string, about one byte per two
    digits of a number, plus one; a boolean or null one byte; a list or map 3 bytes and a byte an element
    besides the elements (and a map's names)."""
    if isinstance(value, str):
        return len(value.encode())
    if value is None or isinstance(value, bool):
        return 1
    if isinstance(value, int | float | Decimal):
        digits = len(str(value).replace("-", "").replace(".", "").lstrip("0")) or 1
        return math.ceil(digits / 2) + 1
    if isinstance(value, list | tuple):
        return 3 + sum(1 + _attribute_bytes(element) for element in value)
    if isinstance(value, dict):
        return 3 + sum(len(name.encode()) + 1 + _attribute_bytes(element) for name, element in value.items())
    raise TypeError(f"no size rule for {type(value).__name__}")


def item_bytes(item: dict[str, Any]) -> int:
    return sum(len(name.encode()) + _attribute_bytes(value) for name, value in item.items())


def measured_assumptions(parameters: dict[str, Any]) -> Assumptions:
    """The host record's size and the regional sync's memory per host, measured on the code that writes
    them: a plan of SAMPLE_HOSTS hosts, its records and their BatchWriteItem requests."""
    sample = swarm.SwarmParameters(
        hosts=SAMPLE_HOSTS,
        artifact_bytes=max(1, int(parameters["ArtifactPayloadBytes"])),
        seeds=int(parameters["SeedHosts"]),
        fanout=int(parameters["P2PFanout"]),
        piece_bytes=int(parameters["P2PPieceBytes"]),
    )
    build_id = "build-20261123T000000Z-0123abcd"
    bucket = "sam-code-deploy-us-west-2-builds-123456789012-us-west-2"
    plan = swarm.plan_region(sample, seed=1)
    tracemalloc.start()
    records = host_logs.host_records(build_id, "us-west-2", bucket, plan, "2026-11-23T00:00:00.000Z")
    batches = host_logs.host_record_batches(records)
    held, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del batches
    deployment, region = deployment_items(plan)
    return Assumptions(
        host_record_bytes=max(item_bytes(record) for record in records),
        sync_bytes_per_host=math.ceil(held / SAMPLE_HOSTS),
        deployment_record_bytes=item_bytes(deployment),
        region_rollout_bytes=item_bytes(region),
        host_state_block_bytes=host_state_block_bytes(),
    )


def deployment_items(plan: swarm.SwarmResult) -> tuple[dict[str, Any], dict[str, Any]]:
    """A finished AutoDeploy deployment's record (its history: queued, in progress, succeeded) and one of
    its regions' items (with the swarm model's figures), as code_deploy.deployments.store writes them."""
    spec = deployments.spec_from_request(SAMPLE_BUILDS[0], SAMPLE_REGIONS)
    region = RegionRollout(
        region=SAMPLE_REGIONS[0],
        status=deployments.RegionRolloutStatus.SUCCEEDED,
        seq=1234,
        previous_build_id=SAMPLE_BUILDS[1],
        hosts_total=plan.params.hosts,
        waves=1,
        predicted_seconds=12.345678,
        hosts_updated=plan.params.hosts,
        failed_by_wave=(0,),
        seconds_by_wave=(12.345678,),
        wave=1,
        started_at=SAMPLE_AT,
        completed_at=SAMPLE_AT,
        model=dataclasses.asdict(swarm.figures(plan)),
    )
    deployment = Deployment(
        deployment_id="deploy-20261123T000000Z-0123abcd",
        build_id=SAMPLE_BUILDS[0],
        artifact_key=artifact_key(SAMPLE_BUILDS[0]),
        artifact_bytes=plan.params.artifact_bytes,
        spec=spec,
        status=deployments.DeploymentStatus.SUCCEEDED,
        trigger="auto",
        created_at=SAMPLE_AT,
        updated_at=SAMPLE_AT,
        predicted_seconds=12.345678,
        history=tuple(DeploymentStatusChange(status, SAMPLE_AT) for status in ("QUEUED", "IN_PROGRESS", "SUCCEEDED")),
        completed_at=SAMPLE_AT,
    )
    return deployment.to_item(), region.to_item(deployment.deployment_id)


class _Capture:
    """Stands in for a table and its client: keeps the items put."""

    name = "host-state"

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        self.meta = SimpleNamespace(client=self)

    def put_item(self, Item: dict[str, Any], **_: Any) -> None:  # noqa: N803 (boto3's name)
        self.items.append(Item)


def host_state_block_bytes() -> int:
    """A full host-state block as code_deploy.hosts.store saves it: every host on a build, with the one
    before in its cache and the goal change that put it there."""
    hosts = host_store.HOSTS_PER_BLOCK
    never_saved = host_store.Block(0, [Host()] * hosts, 0)
    after = [Host(SAMPLE_BUILDS[0], SAMPLE_BUILDS[1], 12_345) for _ in range(hosts)]
    table = _Capture()
    host_store.save_block(table, never_saved, after)
    return item_bytes(table.items[0])


def artifact_bytes_for(payload_bytes: int) -> int:
    """The artifact the build worker really makes for a payload: the zip with its manifest."""
    return len(
        build_artifact("0" * 40, "build-20261123T000000Z-0123abcd", "2026-11-23T00:00:00Z", payload_bytes).content
    )


def agent_settings(repo: Path = REPO) -> AgentSettings:
    """The agents' intervals from the agent's own defaults, the fleet table's items measured as the agent
    and code_deploy.hosts.fleet write them (a 10 GB artifact's goal, a host with a DEPLOYED report, a
    tally holding a task token), HostReportsFunction and the piece size from regional.yaml."""
    host_reports, batch_size, piece_bytes = fleet_stack_settings(repo)
    defaults = AgentConfig(region="", group="", host_id="", table="", bucket="", agent_dir=Path())
    host_id = "arn:aws:ec2:us-west-2:123456789012:instance/i-0123456789abcdef0"  # an instance's ARN, as on EC2
    goal = fleet.Goal(
        group="web",
        build_id=SAMPLE_BUILDS[0],
        previous_build_id=SAMPLE_BUILDS[1],
        deployment_id="deploy-20261123T000000Z-0123abcd",
        seq=12_345,
        wave=1,
        cumulative_percent=100.0,
        artifact=fleet.ArtifactRef(
            key=artifact_key(SAMPLE_BUILDS[0]),
            size=10**10,
            sha256="0" * 64,
            piece_bytes=piece_bytes,
            piece_root="0" * 64,
            pieces_key=artifact_key(SAMPLE_BUILDS[0]) + ".pieces.json",
            info_hash="0" * 40,
            torrent_key=artifact_key(SAMPLE_BUILDS[0]) + ".torrent",
        ),
    )
    registered = host_item.registration(
        host_id=host_id,
        group="web",
        region="us-west-2",
        zone="us-west-2a",
        address="10.0.123.45",
        app_port=8080,
        agent_version="0.1.0",
        state=host_item.IDLE,
        current_build_id=SAMPLE_BUILDS[1],
        previous_build_id=None,
        now=1_795_000_000,
    )
    report = host_item.Report(
        goal.deployment_id, 1, goal.build_id, host_item.DEPLOYED, download_seconds=81.234, download_bytes=10**10
    )
    host = {"pk": host_item.host_key(host_id)} | registered | host_item.outcome(report, goal.build_id, SAMPLE_BUILDS[1])
    # A host's announcement in the swarm directory, as AwsPeerDirectory.announce writes it
    announcement = {
        "pk": p2p.swarm_shard_key("0" * 40, 7),
        "sk": p2p.host_sort_key(host_id),
        "hostId": host_id,
        "address": "10.0.123.45",
        "port": 6881,
        "zone": "us-west-2a",
        "seed": False,
        "expiresAt": 1_795_000_300,
    }
    tally = fleet.Tally("web", goal.deployment_id, goal.build_id, 1, (0.0, 100.0), 100_000, 99_999, 1_795_000_000.0)
    return AgentSettings(
        poll_seconds=defaults.poll_seconds,
        poll_jitter=code_deploy_agent.POLL_JITTER,
        heartbeat_seconds=defaults.heartbeat_seconds,
        piece_bytes=piece_bytes,
        goal_item_bytes=item_bytes(goal.to_item(SAMPLE_AT, registered["groupShard"])),  # its shard's copy
        host_item_bytes=item_bytes({**host, "countedFor": f"{goal.deployment_id}#1#{goal.build_id}"}),
        # a task token is up to 1,024 characters
        tally_item_bytes=item_bytes(tally.to_item() | {"taskToken": "t" * 1024}),
        group_shards=fleet.GROUP_SHARDS,
        peer_item_bytes=item_bytes(announcement),
        stream_batch_size=batch_size,
        host_reports=host_reports,
    )


# --- the scenarios -------------------------------------------------------------------------------------------


def local_scenario(parameters: dict[str, Any]) -> Scenario:
    """What `make deploy` runs on the emulator: the template's defaults."""
    regions = parameters["Regions"]
    region_count = len(regions if isinstance(regions, list) else str(regions).split(","))
    return Scenario(
        name="local default",
        deployments_per_day=LOCAL_DEPLOYMENTS_PER_DAY,
        regions=region_count,
        hosts_per_region=int(parameters["HostsPerRegion"]),
        artifact_bytes=artifact_bytes_for(int(parameters["ArtifactPayloadBytes"])),
        piece_bytes=int(parameters["P2PPieceBytes"]),
        host_bandwidth=float(parameters["P2PHostBandwidthBytesPerSecond"]),
        bucket_egress=float(parameters["P2PBucketEgressBytesPerSecond"]),
        seeds=int(parameters["SeedHosts"]),
        fanout=int(parameters["P2PFanout"]),
    )


def design_scenario() -> Scenario:
    return Scenario.of_swarm(
        p2p_report.DESIGN,
        name="design problem",
        deployments_per_day=DESIGN_DEPLOYMENTS_PER_DAY,
        regions=p2p_report.DESIGN_REGIONS,
    )


def design_assumptions(measured: Assumptions) -> Assumptions:
    """At the design scale the model's rates are p2p_report's (replication at its assumed copy rate)."""
    return replace(
        measured,
        build_seconds=p2p_report.BUILD_SECONDS,
        budget_seconds=p2p_report.BUDGET_SECONDS,
        copy_bytes_per_second=p2p_report.REPLICATION_BYTES_PER_SECOND,
    )


def design_choices(scenario: Scenario, assumptions: Assumptions) -> list[tuple[str, Scenario, Assumptions]]:
    """The design's choices, one changed at a time from `scenario` and `assumptions`."""
    kept_a_week = replace(assumptions, artifact_retention_days=7, host_record_retention_days=7)
    choices: list[tuple[str, Scenario | None]] = [
        ("as built: a record per host, on-demand", scenario),
        ("host records packed per shard key", replace(scenario, record_layout=RecordLayout.PER_SHARD)),
        ("provisioned capacity for the peak", replace(scenario, capacity_mode=CapacityMode.PROVISIONED)),
        ("3 records per host (a status per step)", replace(scenario, records_per_host=3)),
        ("4 waves per region", replace(scenario, waves=4)),
        ("1 GB artifact", replace(scenario, artifact_bytes=10**9)),
        ("artifacts and host records kept 7 days, not 30", None),
        ("P2P peers across AZs (2 of 3 bytes)", replace(scenario, cross_az_peer_fraction=2 / 3)),
        ("no P2P: every host from the bucket", replace(scenario, p2p=False)),
    ]
    return [(label, variant or scenario, assumptions if variant else kept_a_week) for label, variant in choices]


# --- the dated price and quota tables --------------------------------------------------------------------


def load_prices(repo: Path = REPO) -> PriceTable:
    return PriceTable.from_dict(json.loads((repo / PRICES).read_text()))


def load_quotas(repo: Path = REPO) -> dict[str, Quota]:
    data = json.loads((repo / QUOTAS).read_text())
    return {key: Quota(float(entry["value"]), entry["unit"], entry["source"]) for key, entry in data["quotas"].items()}
