"""A wave of a deployment on a region's simulated hosts, or its rollback: which hosts switch, which fetch the
artifact as a P2P swarm (code_deploy.swarm), and one host-deployment-logs record a host tried. The
regional sync function runs it in the region, next to its hosts' tables."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from code_deploy import swarm
from code_deploy.builds.model import utc_now
from code_deploy.deployments import model
from code_deploy.hosts import records, store
from code_deploy.hosts.model import RollbackOutcome, WaveOutcome, apply_rollback, apply_wave
from code_deploy.swarm import SwarmFigures, SwarmParameters, SwarmResult

if TYPE_CHECKING:  # pydantic's model, imported by the function that builds one: not every cold start needs pydantic
    from code_deploy.hosts.schema import WaveRequest


@dataclass(frozen=True)
class RegionalResult:
    """What a wave (or a rollback) did in a region, and the region's hosts after it."""

    region: str
    host_range: tuple[int, int]  # [start, end) of the hosts it covered (a rollback: every host)
    updated: int
    downloaded: int
    failed: int
    skipped: int
    superseded: int
    model_seconds: float  # the swarm model's time for it: download (if any) and switching over
    hosts_by_build: dict[str, int]
    hosts_version: int
    model: SwarmFigures | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "hostRange": list(self.host_range),
            "updated": self.updated,
            "downloaded": self.downloaded,
            "failed": self.failed,
            "skipped": self.skipped,
            "superseded": self.superseded,
            "modelSeconds": round(self.model_seconds, 6),
            "hostsByBuild": self.hosts_by_build,
            "hostsVersion": self.hosts_version,
            "model": dataclasses.asdict(self.model) if self.model else None,
        }


def _swarm_for(
    fleet: SwarmParameters, artifact_bytes: int, downloading: int, holding: int
) -> tuple[SwarmResult | None, float]:
    """The piece-level plan of the hosts downloading in a wave (seeded from the bucket; hosts already
    holding the build serve pieces too, as extra seeds), and the wave's model time including switching over."""
    if downloading == 0:
        return None, 0.0
    params = dataclasses.replace(
        fleet.with_artifact(artifact_bytes), hosts=downloading, seeds=max(fleet.seeds, min(holding, downloading))
    )
    return swarm.plan_region(params), model.wave_seconds(fleet.with_artifact(artifact_bytes), downloading, holding)


def _wave_hosts(host_state_table, hosts_total: int, request: WaveRequest) -> tuple[int, int, list[store.Block]]:
    """The wave's hosts, [start, end), and the blocks they are in, as read. Given `request.hosts`, the
    wave ends after that many hosts from hostRange's start on that the deployment updates, passing over
    hosts an earlier deployment put on the build (the plan counts them out of every wave too,
    model.wave_sizes); a retry finds the same end, as the hosts it updated still count. It reads the
    blocks of the next `hosts` hosts at once, and the next ones while it has not found them all."""
    start, limit = request.hostRange[0], min(request.hostRange[1], hosts_total)
    if request.hosts is None:
        return start, limit, store.load(host_state_table, hosts_total, store.blocks_of(start, limit), request.service)
    read: dict[int, store.Block] = {}
    end, left = start, request.hosts
    while left > 0 and end < limit:
        unread = [number for number in store.blocks_of(end, min(limit, end + left)) if number not in read]
        read |= {block.number: block for block in store.load(host_state_table, hosts_total, unread, request.service)}
        read_to = min(limit, (max(read) + 1) * store.HOSTS_PER_BLOCK)
        while left > 0 and end < read_to:
            block = read[end // store.HOSTS_PER_BLOCK]
            if block.hosts[end - block.first].to_update_by(request.buildId, request.seq):
                left -= 1
            end += 1
    return start, end, [read[number] for number in store.blocks_of(start, end)]


@dataclass(frozen=True)
class RegionHosts:
    """A region's hosts as its sync switches them: the region, its builds bucket (and an S3 client in the
    region), its host-state table, and its hosts as the swarm model sees them."""

    region: str
    bucket: str
    s3_client: Any
    host_state_table: Any
    fleet: SwarmParameters


@dataclass(frozen=True)
class HostRecordsLog:
    """Where a wave's host-deployment-logs records go: the table (a DynamoDB client and the table's name),
    written by `writers` threads at once, each record kept `retention_days`."""

    dynamodb_client: Any
    table_name: str
    writers: int
    retention_days: int = records.DEFAULT_RETENTION_DAYS


def roll_out_wave(hosts: RegionHosts, request: WaveRequest, log: HostRecordsLog) -> RegionalResult:
    """Switches one wave of the region's hosts (`_wave_hosts`) to the deployment's build: hosts
    already on it are skipped, hosts a later deployment changed are left alone, the fault injection's
    hosts fail. The hosts that did not hold the build fetch it as a P2P swarm (code_deploy.swarm), served
    also by the hosts of earlier waves; one host-deployment-logs record a host tried.

    Safe to repeat, and a repeat answers the same: each host keeps how this deployment changed it
    (code_deploy.hosts.model.Change), so a retry counts the hosts an earlier attempt switched as
    updated (not skipped) and its failed hosts as failed (not tried again), plans the same swarm and
    writes the same records; the health gate's failure rate is the same whichever attempt answers."""
    region, fleet, host_state_table = hosts.region, hosts.fleet, hosts.host_state_table
    head = hosts.s3_client.head_object(Bucket=hosts.bucket, Key=request.artifactKey)  # the copy is in the region
    start, end, blocks = _wave_hosts(host_state_table, fleet.hosts, request)
    failing = model.failed_hosts(
        request.buildId, region, range(start, end), model.Simulation(request.failurePercent, request.seed)
    )
    changed = store.change(
        host_state_table,
        fleet.hosts,
        blocks,
        lambda block: apply_wave(block.hosts, block.first, range(start, end), request.buildId, request.seq, failing),
        request.service,
    )
    outcome = WaveOutcome.combined(block_outcome for _, block_outcome in changed)
    counts = store.region_counts(host_state_table, fleet.hosts, [block for block, _ in changed], request.service)
    holding_before = counts.hosts_by_build.get(request.buildId, 0) - len(outcome.updated)
    plan, model_seconds = _swarm_for(fleet, head["ContentLength"], len(outcome.downloaded), holding_before)
    if outcome.activated and not outcome.downloaded:
        model_seconds = model.ACTIVATION_SECONDS
    tried = records.WaveTried(
        build_id=request.buildId,
        region=region,
        bucket=hosts.bucket,
        hosts_total=fleet.hosts,
        outcome=outcome,
        plan=plan,
    )
    host_records = records.wave_host_records(tried, utc_now(), log.retention_days)
    records.write_host_records(log.dynamodb_client, log.table_name, host_records, log.writers)
    return RegionalResult(
        region=region,
        host_range=(start, end),
        updated=len(outcome.updated),
        downloaded=len(outcome.downloaded),
        failed=len(outcome.failed),
        skipped=len(outcome.skipped),
        superseded=len(outcome.superseded),
        model_seconds=model_seconds,
        hosts_by_build=counts.hosts_by_build,
        hosts_version=counts.version,
        model=swarm.figures(plan) if plan else None,
    )


def roll_back_region(hosts: RegionHosts, request: WaveRequest) -> RegionalResult:
    """Returns the region's hosts to the previous goal build (`request.buildId` here): hosts that hold it
    in their cache switch back in the activation time alone, whatever the artifact's size; hosts that do
    not fetch it again from the region's bucket, where it still is."""
    region, fleet, host_state_table = hosts.region, hosts.fleet, hosts.host_state_table
    changed = store.change(
        host_state_table,
        fleet.hosts,
        store.load(host_state_table, fleet.hosts, range(store.block_count(fleet.hosts)), request.service),
        lambda block: apply_rollback(block.hosts, block.first, request.buildId, request.seq),
        request.service,
    )
    outcome = RollbackOutcome.combined(block_outcome for _, block_outcome in changed)
    counts = store.region_counts(host_state_table, fleet.hosts, [block for block, _ in changed], request.service)
    carrying = fleet
    if outcome.downloaded:  # (a rollback to no build downloads nothing)
        carrying = fleet.with_artifact(
            hosts.s3_client.head_object(Bucket=hosts.bucket, Key=request.artifactKey)["ContentLength"]
        )
    holding = counts.hosts_by_build.get(request.buildId, 0) - len(outcome.downloaded) if request.buildId else 0
    model_seconds = model.rollback_seconds(carrying, len(outcome.activated), len(outcome.downloaded), holding)
    return RegionalResult(
        region=region,
        host_range=(0, fleet.hosts),
        updated=len(outcome.activated) + len(outcome.downloaded),
        downloaded=len(outcome.downloaded),
        failed=0,
        skipped=0,
        superseded=len(outcome.superseded),
        model_seconds=model_seconds,
        hosts_by_build=counts.hosts_by_build,
        hosts_version=counts.version,
    )
