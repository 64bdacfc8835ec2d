"""Benchmarks the pipeline on the emulator: end-to-end latency by stage against the emulator's own floor,
the regional sync's host-record throughput against raw BatchWriteItem and a naive PutItem loop, and how
the rollout's time grows with hosts and regions. Prints a table with a PASS/MISS per target, writes
<out>/results.json and PNG plots under <out>/plots/.

    python -m tools.bench [--runs 5] [--hosts 1000,10000,100000] [--regions 2,5,10] [--out bench]
    python -m tools.bench --smoke --out /tmp/bench     # small sizes, for CI

The latency and throughput runs use the deployed stack (STACK_NAME) as it is. The scaling runs deploy a
scratch stack (`make redeploy`, same build, other HostsPerRegion and Regions), update it from one size
to the next and delete it at the end, so the deployed stack is left as `make deploy` made it.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import secrets
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.exceptions import ClientError

from code_deploy import store
from code_deploy.settings import RegionalSyncSettings
from code_deploy.swarm import Fleet
from tools import bench_floor, bench_plots, bench_profile, p2p_report
from tools.api_client import call
from tools.stack import api_base_url, emulator_endpoint, outputs, regional_buckets, stack_name

REPO = Path(__file__).resolve().parent.parent
POLL_SECONDS = 0.1
SCRATCH_STACK = "scd-bench"  # short: stack + region names must fit S3's 63-character bucket names
PROFILED_BUILDS = 5
REGION_NAMES = [f"region-{letter}" for letter in "abcdefghijklmnopqrstuvwxyz"]


@dataclass(frozen=True)
class Sizes:
    runs: int  # counted end-to-end runs on the deployed stack, after one warm-up run
    scaling_runs: int  # counted runs per scaling configuration, after one warm-up run
    hosts: list[int]  # hosts per region of the hosts sweep
    regions: list[int]  # region counts of the regions sweep
    hosts_sweep_regions: int = 3
    regions_sweep_hosts: int = 1000


SMOKE = Sizes(runs=2, scaling_runs=1, hosts=[100, 300], regions=[2, 3], regions_sweep_hosts=100)


def _epoch(timestamp: str) -> float:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()


@dataclass(frozen=True)
class Rollout:
    started_at: float
    completed_at: float
    hosts: int


@dataclass(frozen=True)
class PipelineRun:
    """One build from POST /builds to every host, timed by the records' own timestamps (the client's
    clock only for the POST: everything runs on this machine, so the clocks agree)."""

    build_id: str
    artifact_bytes: int
    posted_at: float
    queued_at: float
    building_at: float
    built_at: float
    replication_started_at: float
    replication_completed_at: float
    rollouts: dict[str, Rollout]

    @property
    def end_to_end(self) -> float:
        return max(r.completed_at for r in self.rollouts.values()) - self.posted_at

    def stages(self) -> dict[str, float]:
        first_start = min(r.started_at for r in self.rollouts.values())
        return {
            "api": self.queued_at - self.posted_at,
            "queueWait": self.building_at - self.queued_at,
            "build": self.built_at - self.building_at,
            "replicationStart": self.replication_started_at - self.built_at,
            "replication": self.replication_completed_at - self.replication_started_at,
            "rolloutStart": first_start - self.replication_started_at,
            "rollout": max(r.completed_at for r in self.rollouts.values()) - first_start,
            "endToEnd": self.end_to_end,
        }

    def rollout_seconds(self) -> dict[str, float]:
        return {region: r.completed_at - r.started_at for region, r in self.rollouts.items()}

    def sync_hosts_per_second(self) -> float:
        """Hosts written over the window in which the regions' syncs ran (they run side by side)."""
        window = max(r.completed_at for r in self.rollouts.values()) - min(r.started_at for r in self.rollouts.values())
        return sum(r.hosts for r in self.rollouts.values()) / window

    def summary(self) -> dict[str, Any]:
        return {
            "buildId": self.build_id,
            "stages": self.stages(),
            "rolloutByRegion": self.rollout_seconds(),
            "syncHostsPerSecond": self.sync_hosts_per_second(),
            "offsets": self.offsets(),
        }

    def offsets(self) -> dict[str, list[float]]:
        """Each stage's [start, end] in seconds after the POST, for the timeline plot."""
        at = lambda t: t - self.posted_at  # noqa: E731
        spans = {
            "api": [0.0, at(self.queued_at)],
            "queue wait": [at(self.queued_at), at(self.building_at)],
            "build": [at(self.building_at), at(self.built_at)],
            "replication start": [at(self.built_at), at(self.replication_started_at)],
            "replication": [at(self.replication_started_at), at(self.replication_completed_at)],
        }
        for region, rollout in sorted(self.rollouts.items()):
            spans[f"rollout {region}"] = [at(rollout.started_at), at(rollout.completed_at)]
        return spans


# --- one build through the deployed pipeline -----------------------------------------------------------


def run_build(stack_outputs: dict[str, str], timeout: float) -> PipelineRun:
    """POSTs a build and waits until every region's rollout summary counts every host. Polls the builds
    table (one Query) rather than the API, so the polling costs the emulator's two cores little."""
    api = api_base_url(stack_outputs)
    regions = stack_outputs["SimulatedRegions"].split(",")
    dynamodb = boto3.resource("dynamodb")
    builds = dynamodb.Table(stack_outputs["BuildsTableName"])
    tracking = dynamodb.Table(stack_outputs["CopyTrackingTableName"])
    posted_at = time.time()
    status, body = call("POST", f"{api}/builds", {"commit": secrets.token_hex(20)})
    if status != 202:
        raise RuntimeError(f"POST /builds answered {status}: {body}")
    build_id = body["buildId"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        items = store.get_build_items(builds, build_id)
        record = next(item for item in items if item["record"] == store.BUILD_RECORD)
        if record["status"] == "FAILED":
            raise RuntimeError(f"{build_id} FAILED: {record.get('failureReason')}")
        summaries = store.iter_regions(items)
        copy = (
            store.get_copy_tracking(tracking, record["artifactKey"], record["artifactBucket"])
            if "artifactKey" in record
            else None
        )
        done = all(
            region in summaries and summaries[region]["hostsDeployed"] >= summaries[region]["hostsTotal"]
            for region in regions
        )
        if done and copy and copy.get("completeTime"):
            return PipelineRun(
                build_id=build_id,
                artifact_bytes=int(record["artifactSize"]),
                posted_at=posted_at,
                queued_at=_epoch(record["queuedAt"]),
                building_at=_epoch(record["buildingAt"]),
                built_at=_epoch(record["builtAt"]),
                replication_started_at=_epoch(copy["startTime"]),
                replication_completed_at=_epoch(copy["completeTime"]),
                rollouts={
                    region: Rollout(
                        _epoch(summaries[region]["startedAt"]),
                        _epoch(summaries[region]["completedAt"]),
                        int(summaries[region]["hostsDeployed"]),
                    )
                    for region in regions
                },
            )
        time.sleep(POLL_SECONDS)
    raise TimeoutError(f"{build_id} not on every host after {timeout:.0f} s")


def rollout_timeout(hosts_per_region: int, regions: int) -> float:
    # Generous: a minute plus what a slow emulator needs at 500 host records a second.
    return 60 + hosts_per_region * regions / 500


# --- the deployed stack: latency, floor, throughput ------------------------------------------------------


def sync_config(stack_outputs: dict[str, str]) -> RegionalSyncSettings:
    """What the deployed regional sync function does (its swarm's fleet, its writers), read from its
    environment with the function's own settings model."""
    env = boto3.client("lambda").get_function_configuration(FunctionName=stack_outputs["RegionalSyncFunctionName"])
    return RegionalSyncSettings.from_env(env.get("Environment", {}).get("Variables", {}))


@dataclass
class StackMeasurements:
    warmup: PipelineRun
    runs: list[PipelineRun] = field(default_factory=list)
    floors: list[bench_floor.Floor] = field(default_factory=list)
    naive_seconds: list[float] = field(default_factory=list)


def measure_deployed_stack(stack_outputs: dict[str, str], runs: int, config: RegionalSyncSettings) -> StackMeasurements:
    """End-to-end runs interleaved with the floor and the naive loop, so all three see the same machine
    (the other processes on its two cores come and go)."""
    regions = stack_outputs["SimulatedRegions"].split(",")
    hosts = int(stack_outputs["SimulatedHostsPerRegion"])
    fleet = dataclasses.replace(config.fleet, hosts=hosts)
    timeout = rollout_timeout(hosts, len(regions))
    with (
        bench_floor.scratch_table(stack_outputs["HostDeploymentLogsTableName"]) as table,
        bench_floor.scratch_bucket() as bucket,
    ):
        measured = StackMeasurements(warmup=run_build(stack_outputs, timeout))
        print(f"  warm-up: {measured.warmup.end_to_end:.2f} s (not counted)", flush=True)
        artifact_bytes = measured.warmup.artifact_bytes
        floor_pass(table, bucket, artifact_bytes, regions, fleet, config.write_workers, "warm-up")  # clients, caches
        for index in range(runs):
            run = run_build(stack_outputs, timeout)
            floor = floor_pass(table, bucket, artifact_bytes, regions, fleet, config.write_workers, str(index))
            naive = bench_floor.naive_put_items(
                table,
                bench_floor.host_records(f"bench-naive-{index}-{secrets.token_hex(4)}", regions, fleet, artifact_bytes),
            )
            measured.runs.append(run)
            measured.floors.append(floor)
            measured.naive_seconds.append(naive)
            print(
                f"  run {index + 1}/{runs}: end-to-end {run.end_to_end:.2f} s, floor {floor.total_seconds:.2f} s, "
                f"naive loop {naive:.2f} s",
                flush=True,
            )
    return measured


def floor_pass(
    table: str,
    bucket: str,
    artifact_bytes: int,
    regions: Sequence[str],
    fleet: Fleet,
    writers: int,
    label: str,
) -> bench_floor.Floor:
    put_seconds, copy_seconds = bench_floor.put_and_copy(bucket, artifact_bytes, regions)
    records = bench_floor.host_records(f"bench-{label}-{secrets.token_hex(4)}", regions, fleet, artifact_bytes)
    return bench_floor.Floor(put_seconds, copy_seconds, bench_floor.raw_batch_write(table, records, writers))


# --- scaling: a scratch stack per size ---------------------------------------------------------------------


@dataclass
class ScalingPoint:
    hosts_per_region: int
    regions: int
    warmup_seconds: float = 0.0
    seconds: list[float] = field(default_factory=list)  # POST -> every host, per counted run
    rollout_seconds: list[float] = field(default_factory=list)  # first sync start -> last sync end
    # raw BatchWriteItem of the same records from this process, a process a region: what the emulator
    # itself needs for the point's writes, to tell its limits from the pipeline's
    floor_seconds: float = 0.0

    @property
    def median_seconds(self) -> float:
        return statistics.median(self.seconds)

    @property
    def ms_per_host(self) -> float:
        return 1000 * self.median_seconds / (self.hosts_per_region * self.regions)

    def summary(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "medianSeconds": self.median_seconds,
            "msPerHost": self.ms_per_host,
            "overFloor": self.median_seconds / self.floor_seconds if self.floor_seconds else None,
        }


def scaling_configurations(sizes: Sizes) -> list[tuple[int, int]]:
    """(hosts per region, regions), each once, the regions sweep first in rising region count so the
    scratch stack only gains buckets until the hosts sweep."""
    configs = [(sizes.regions_sweep_hosts, regions) for regions in sorted(sizes.regions)]
    configs += [(hosts, sizes.hosts_sweep_regions) for hosts in sorted(sizes.hosts)]
    return list(dict.fromkeys(configs))


def deploy_scratch_stack(name: str, hosts_per_region: int, regions: int) -> dict[str, str]:
    """Creates or updates the scratch stack with `make redeploy` (the deployed build, other parameters).
    Buckets of regions that go away are emptied first: CloudFormation deletes only empty buckets."""
    wanted = REGION_NAMES[:regions]
    try:
        for region, bucket in regional_buckets(fresh_outputs(name)).items():
            if region not in wanted:
                bench_floor.empty_bucket(bucket)
    except ClientError:
        pass  # not there yet
    port = urlsplit(emulator_endpoint() or "").port
    command = [
        "make",
        "--no-print-directory",
        "-s",
        "redeploy",
        f"STACK_NAME={name}",
        f"PARAMS=HostsPerRegion={hosts_per_region} Regions={','.join(wanted)}",
        f"EMULATOR_PORT={port}",
    ]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return fresh_outputs(name)


def fresh_outputs(name: str) -> dict[str, str]:
    outputs.cache_clear()  # the stack was just updated
    return outputs(name)


def delete_scratch_stack(name: str) -> None:
    cloudformation = boto3.client("cloudformation")
    try:
        stack_outputs = fresh_outputs(name)
    except ClientError:
        return
    for bucket in [stack_outputs["GlobalBuildsBucketName"], *regional_buckets(stack_outputs).values()]:
        bench_floor.empty_bucket(bucket)
    cloudformation.delete_stack(StackName=name)
    cloudformation.get_waiter("stack_delete_complete").wait(StackName=name, WaiterConfig={"Delay": 2})


def measure_scaling(sizes: Sizes, scratch_stack: str, config: RegionalSyncSettings) -> list[ScalingPoint]:
    points = []
    try:
        for hosts, regions in scaling_configurations(sizes):
            started = time.monotonic()
            stack_outputs = deploy_scratch_stack(scratch_stack, hosts, regions)
            print(f"  {regions} regions x {hosts:,} hosts: deployed in {time.monotonic() - started:.0f} s", flush=True)
            timeout = rollout_timeout(hosts, regions)
            warmup = run_build(stack_outputs, timeout)
            point = ScalingPoint(hosts, regions, warmup_seconds=warmup.end_to_end)
            for _ in range(sizes.scaling_runs):
                run = run_build(stack_outputs, timeout)
                point.seconds.append(run.end_to_end)
                point.rollout_seconds.append(run.stages()["rollout"])
            with bench_floor.scratch_table(stack_outputs["HostDeploymentLogsTableName"]) as table:
                records = bench_floor.host_records(
                    f"bench-scaling-{secrets.token_hex(4)}",
                    REGION_NAMES[:regions],
                    dataclasses.replace(config.fleet, hosts=hosts),
                    warmup.artifact_bytes,
                )
                point.floor_seconds = bench_floor.raw_batch_write(table, records, config.write_workers)
            print(
                f"    warm-up {point.warmup_seconds:.2f} s, median {point.median_seconds:.2f} s "
                f"({point.ms_per_host:.3f} ms a host); raw BatchWriteItem of its records {point.floor_seconds:.2f} s",
                flush=True,
            )
            points.append(point)
    finally:
        delete_scratch_stack(scratch_stack)
    return points


# --- targets and report ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    name: str
    value: float
    limit: float
    at_least: bool  # the value must be >= limit (else <= limit)

    @property
    def passed(self) -> bool:
        return self.value >= self.limit if self.at_least else self.value <= self.limit

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": round(self.value, 3),
            "target": f"{'>=' if self.at_least else '<='} {self.limit:g}",
            "result": "PASS" if self.passed else "MISS",
        }


def median_stages(runs: Sequence[PipelineRun]) -> dict[str, float]:
    return {name: statistics.median(run.stages()[name] for run in runs) for name in runs[0].stages()}


def throughput(measured: StackMeasurements) -> dict[str, float]:
    hosts = sum(r.hosts for r in measured.runs[0].rollouts.values())
    sync = statistics.median(run.sync_hosts_per_second() for run in measured.runs)
    ceiling = hosts / statistics.median(floor.batch_write_seconds for floor in measured.floors)
    naive = hosts / statistics.median(measured.naive_seconds)
    return {
        "hostRecords": hosts,
        "syncHostsPerSecond": sync,
        "ceilingHostsPerSecond": ceiling,
        "naiveHostsPerSecond": naive,
        "syncOverCeiling": sync / ceiling,
        "syncOverNaive": sync / naive,
    }


def targets(results: dict[str, Any], points: list[ScalingPoint], sizes: Sizes) -> list[Target]:
    rates = results["throughput"]
    found = [
        Target("regional sync / raw BatchWriteItem ceiling", rates["syncOverCeiling"], 0.9, at_least=True),
        Target("regional sync / naive PutItem loop", rates["syncOverNaive"], 10, at_least=True),
        Target("end-to-end / emulator floor", results["endToEnd"]["overFloor"], 2, at_least=False),
    ]
    by_config = {(p.hosts_per_region, p.regions): p for p in points}
    few, many = min(sizes.regions), max(sizes.regions)
    if few != many and points:
        ratio = (
            by_config[(sizes.regions_sweep_hosts, many)].median_seconds
            / by_config[(sizes.regions_sweep_hosts, few)].median_seconds
        )
        found.append(Target(f"time, {many} regions / {few} regions", ratio, 2, at_least=False))
    hosts = sorted(sizes.hosts)
    if len(hosts) >= 2 and points:
        smaller, larger = (by_config[(h, sizes.hosts_sweep_regions)] for h in hosts[-2:])
        found.append(
            Target(
                f"time a host, {larger.hosts_per_region:,} / {smaller.hosts_per_region:,} hosts",
                larger.ms_per_host / smaller.ms_per_host,
                1.25,
                at_least=False,
            )
        )
    return found


STAGE_LABELS = {
    "api": "POST -> queued (API)",
    "queueWait": "queue wait",
    "build": "build",
    "replicationStart": "S3 event -> replication",
    "replication": "replication (Step Functions)",
    "rolloutStart": "replication -> first sync",
    "rollout": "rollout (all regions)",
    "endToEnd": "end-to-end",
}


def _row(label: str, seconds: float) -> str:
    return f"  {label:<33} {seconds:7.3f} s"


def report_lines(results: dict[str, Any]) -> list[str]:
    e2e, floor, rates = results["endToEnd"], results["floor"], results["throughput"]
    config = results["config"]
    lines = [
        f"End-to-end, {len(config['regions'])} regions x {config['hostsPerRegion']:,} hosts: median of "
        f"{config['runs']} runs (warm-up {e2e['warmupSeconds']:.2f} s, not counted)",
    ]
    lines += [_row(STAGE_LABELS[name], seconds) for name, seconds in e2e["medianStages"].items()]
    lines += [_row(f"rollout in {region}", seconds) for region, seconds in e2e["medianRolloutByRegion"].items()]
    lines += [
        f"Emulator floor, from this process (median of {config['runs']})",
        _row(f"PutObject of {config['artifactBytes']:,} B", floor["putSeconds"]),
        _row(f"CopyObject x {len(config['regions'])}, side by side", floor["copySeconds"]),
        _row(f"BatchWriteItem of {rates['hostRecords']:,} records", floor["batchWriteSeconds"]),
        _row("floor", floor["totalSeconds"]) + f"   end-to-end / floor = {e2e['overFloor']:.2f}",
        f"Host records a second ({config['syncWriters']} writers a region, regions side by side)",
        f"  {'regional sync':<33} {rates['syncHostsPerSecond']:9,.0f}",
        f"  {'raw BatchWriteItem ceiling':<33} {rates['ceilingHostsPerSecond']:9,.0f}",
        f"  {'naive PutItem loop':<33} {rates['naiveHostsPerSecond']:9,.0f}",
    ]
    if results["scaling"]:
        lines.append("Scaling: POST -> every host (median; warm-up not counted)")
        lines.append(
            f"  {'regions':>7} {'hosts/region':>12} {'seconds':>8} {'ms a host':>10} {'raw writes s':>12} {'/ raw':>6}"
        )
        lines += [
            f"  {p['regions']:>7} {p['hosts_per_region']:>12,} {p['medianSeconds']:>8.2f} {p['msPerHost']:>10.4f} "
            f"{p['floor_seconds']:>12.2f} {p['overFloor'] or 0:>6.2f}"
            for p in results["scaling"]
        ]
    lines.append("Targets")
    lines += [
        f"  {t['result']:<4}  {t['name']:<45} {t['value']:>8.2f}  (target {t['target']})" for t in results["targets"]
    ]
    regions_sweep = [p for p in results["scaling"] if p["hosts_per_region"] == config["regionsSweepHosts"]]
    if len(regions_sweep) >= 2 and all(p["floor_seconds"] for p in regions_sweep):
        few, many = min(regions_sweep, key=lambda p: p["regions"]), max(regions_sweep, key=lambda p: p["regions"])
        lines.append(
            f"  (the emulator's raw writes alone, {many['regions']} / {few['regions']} regions: "
            f"{many['floor_seconds'] / few['floor_seconds']:.2f}; the pipeline: "
            f"{many['medianSeconds'] / few['medianSeconds']:.2f})"
        )
    return lines


def parse_sizes(args: argparse.Namespace) -> Sizes:
    if args.smoke:
        return SMOKE
    return Sizes(
        runs=args.runs,
        scaling_runs=args.scaling_runs,
        hosts=[int(h) for h in args.hosts.split(",")],
        regions=[int(r) for r in args.regions.split(",")],
        regions_sweep_hosts=args.regions_sweep_hosts,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--scaling-runs", type=int, default=2)
    parser.add_argument("--hosts", default="1000,10000,100000", help="hosts per region of the hosts sweep (3 regions)")
    parser.add_argument("--regions", default="2,5,10", help="region counts of the regions sweep")
    parser.add_argument("--regions-sweep-hosts", type=int, default=1000)
    parser.add_argument("--no-scaling", action="store_true", help="skip the scaling sweeps (no scratch stack)")
    parser.add_argument("--smoke", action="store_true", help="small sizes, to check that it all runs (CI)")
    parser.add_argument(
        "--profile", action="store_true", help="py-spy samples of the emulator and the sync during more builds"
    )
    parser.add_argument("--scratch-stack", default=SCRATCH_STACK)
    parser.add_argument("--out", type=Path, default=REPO / "bench")
    args = parser.parse_args()
    if not emulator_endpoint():
        print("The benchmark runs on the emulator: set AWS_ENDPOINT_URL (make bench does).", file=sys.stderr)
        return 2
    sizes = parse_sizes(args)
    plots_dir = args.out / "plots"
    plots_dir.mkdir(parents=True, exist_ok=True)

    stack_outputs = outputs()
    config = sync_config(stack_outputs)
    print(f"Stack {stack_name()}: end-to-end, floor and throughput ({sizes.runs} runs after a warm-up)", flush=True)
    measured = measure_deployed_stack(stack_outputs, sizes.runs, config)
    profiled = {}
    if args.profile:
        # Several builds, for enough samples of a rollout that lasts a fraction of a second.
        builds = PROFILED_BUILDS
        seconds = 3 + 2 * builds * statistics.median(run.end_to_end for run in measured.runs)
        print(f"Profiling {builds} more builds ({seconds:.0f} s of py-spy samples)", flush=True)
        profiled = bench_profile.profile(
            stack_outputs["RegionalSyncFunctionName"],
            seconds,
            args.out / "profile",
            lambda: [run_build(stack_outputs, 120) for _ in range(builds)],
        )
    points: list[ScalingPoint] = []
    if not args.no_scaling:
        print(f"Scaling, on the scratch stack {args.scratch_stack}", flush=True)
        points = measure_scaling(sizes, args.scratch_stack, config)

    floor_medians = {
        "putSeconds": statistics.median(f.put_seconds for f in measured.floors),
        "copySeconds": statistics.median(f.copy_seconds for f in measured.floors),
        "batchWriteSeconds": statistics.median(f.batch_write_seconds for f in measured.floors),
        "totalSeconds": statistics.median(f.total_seconds for f in measured.floors),
    }
    stages = median_stages(measured.runs)
    regions = stack_outputs["SimulatedRegions"].split(",")
    results: dict[str, Any] = {
        "config": {
            "stack": stack_name(),
            "regions": regions,
            "hostsPerRegion": int(stack_outputs["SimulatedHostsPerRegion"]),
            "artifactBytes": measured.warmup.artifact_bytes,
            "runs": sizes.runs,
            "scalingRuns": sizes.scaling_runs,
            "syncWriters": config.write_workers,
            "hostsSweepRegions": sizes.hosts_sweep_regions,
            "regionsSweepHosts": sizes.regions_sweep_hosts,
            "smoke": args.smoke,
            "at": datetime.now().astimezone().isoformat(timespec="seconds"),
        },
        "endToEnd": {
            "warmupSeconds": measured.warmup.end_to_end,
            "medianStages": stages,
            "medianRolloutByRegion": {
                region: statistics.median(run.rollout_seconds()[region] for run in measured.runs) for region in regions
            },
            "overFloor": stages["endToEnd"] / floor_medians["totalSeconds"],
            "warmup": measured.warmup.summary(),
            "runs": [run.summary() for run in measured.runs],
        },
        "floor": {**floor_medians, "runs": [asdict(f) for f in measured.floors]},
        "throughput": {**throughput(measured), "naiveRunsSeconds": measured.naive_seconds},
        "scaling": [point.summary() for point in points],
    }
    if profiled:
        results["profile"] = profiled
    results["targets"] = [target.summary() for target in targets(results, points, sizes)]
    median_run = sorted(measured.runs, key=lambda run: run.end_to_end)[len(measured.runs) // 2]
    results["plots"] = bench_plots.draw_all(results, median_run.offsets(), plots_dir)
    # The P2P model's figures and plots (no emulator); a smoke run leaves out its 15-second simulation.
    results["p2p"] = p2p_report.report(plots_dir, quick=args.smoke)
    (args.out / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    print("\n".join(report_lines(results)))
    print("\n".join(p2p_report.lines(results["p2p"])))
    for name, frames in profiled.items():
        print(f"Profile of {name}: share of CPU samples by module of the innermost frame")
        print("\n".join(f"  {share:6.1%}  {frame}" for frame, share in frames[:8]))
    print(f"Wrote {args.out / 'results.json'} and {len(results['plots'])} plots in {plots_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
