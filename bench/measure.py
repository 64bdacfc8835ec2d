"""What the benchmark measures: the deployed stack's end-to-end runs interleaved with the emulator's floor
and a naive loop, and the scaling sweeps, one scratch stack size after another."""

from __future__ import annotations

import dataclasses
import secrets
import statistics
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import boto3

from bench import floor as bench_floor
from bench.scratch import delete_scratch_stack, deploy_scratch_stack
from bench.timing import COLD_START_ALLOWANCE_SECONDS, PipelineRun, rollout_timeout, run_build
from code_deploy.settings import RegionalSyncSettings
from code_deploy.swarm import SwarmParameters
from tools.stack import host_record_tables, regional_outputs, regions


@dataclass(frozen=True)
class Sizes:
    runs: int  # counted end-to-end runs on the deployed stack, after one warm-up run
    scaling_runs: int  # counted runs per scaling configuration, after one warm-up run
    hosts: list[int]  # hosts per region of the hosts sweep
    regions: list[int]  # region counts of the regions sweep
    hosts_sweep_regions: int = 3
    regions_sweep_hosts: int = 1000


# Every scaling point deploys a global scratch stack and a regional one a region: the smoke keeps to two.
SMOKE = Sizes(runs=2, scaling_runs=1, hosts=[100, 200], regions=[1, 2], hosts_sweep_regions=2, regions_sweep_hosts=100)


# --- the deployed stack: latency, floor, throughput ------------------------------------------------------


def sync_config(stack_outputs: dict[str, str]) -> RegionalSyncSettings:
    """What the deployed regional sync function does (its swarm's fleet, its writers), read from its
    environment with the function's own settings model."""
    region = regions(stack_outputs)[0]
    function = regional_outputs(stack_outputs, region)["RegionalSyncFunctionName"]
    env = boto3.client("lambda", region_name=region).get_function_configuration(FunctionName=function)
    return RegionalSyncSettings.from_env({"AWS_REGION": region, **env.get("Environment", {}).get("Variables", {})})


@dataclass
class StackMeasurements:
    warmup: PipelineRun
    runs: list[PipelineRun] = field(default_factory=list)
    floors: list[bench_floor.Floor] = field(default_factory=list)
    naive_seconds: list[float] = field(default_factory=list)


def measure_deployed_stack(stack_outputs: dict[str, str], runs: int, config: RegionalSyncSettings) -> StackMeasurements:
    """End-to-end runs interleaved with the floor and the naive loop, so all three see the same machine
    (the other processes on its two cores come and go)."""
    stack_regions = regions(stack_outputs)
    hosts = int(stack_outputs["SimulatedHostsPerRegion"])
    fleet = dataclasses.replace(config.fleet, hosts=hosts)
    timeout = rollout_timeout(hosts, len(stack_regions))
    with (
        bench_floor.scratch_tables(host_record_tables(stack_outputs)) as tables,
        bench_floor.scratch_buckets(stack_regions) as buckets,
    ):
        measured = StackMeasurements(warmup=run_build(stack_outputs, timeout + COLD_START_ALLOWANCE_SECONDS))
        print(f"  warm-up: {measured.warmup.end_to_end:.2f} s (not counted)", flush=True)
        artifact_bytes = measured.warmup.artifact_bytes
        floor_pass(tables, buckets, artifact_bytes, fleet, config.write_workers, "warm-up")  # clients, caches
        for index in range(runs):
            run = run_build(stack_outputs, timeout)
            floor = floor_pass(tables, buckets, artifact_bytes, fleet, config.write_workers, str(index))
            naive = bench_floor.naive_put_items(
                tables,
                bench_floor.host_records(
                    f"bench-naive-{index}-{secrets.token_hex(4)}", stack_regions, fleet, artifact_bytes
                ),
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
    tables: dict[str, str],
    buckets: tuple[str, dict[str, str]],
    artifact_bytes: int,
    fleet: SwarmParameters,
    writers: int,
    label: str,
) -> bench_floor.Floor:
    home_bucket, regional_scratch = buckets
    put_seconds, copy_seconds = bench_floor.put_and_copy(home_bucket, regional_scratch, artifact_bytes)
    records = bench_floor.host_records(f"bench-{label}-{secrets.token_hex(4)}", list(tables), fleet, artifact_bytes)
    return bench_floor.Floor(put_seconds, copy_seconds, bench_floor.raw_batch_write(tables, records, writers))


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


def measure_scaling(sizes: Sizes, scratch_stack: str, config: RegionalSyncSettings) -> list[ScalingPoint]:
    points = []
    try:
        for hosts, region_count in scaling_configurations(sizes):
            started = time.monotonic()
            stack_outputs = deploy_scratch_stack(scratch_stack, hosts, region_count)
            print(
                f"  {region_count} regions x {hosts:,} hosts: deployed in {time.monotonic() - started:.0f} s",
                flush=True,
            )
            timeout = rollout_timeout(hosts, region_count)
            warmup = run_build(stack_outputs, timeout + COLD_START_ALLOWANCE_SECONDS)
            point = ScalingPoint(hosts, region_count, warmup_seconds=warmup.end_to_end)
            for _ in range(sizes.scaling_runs):
                run = run_build(stack_outputs, timeout)
                point.seconds.append(run.end_to_end)
                point.rollout_seconds.append(run.stages()["rollout"])
            with bench_floor.scratch_tables(host_record_tables(stack_outputs)) as tables:
                records = bench_floor.host_records(
                    f"bench-scaling-{secrets.token_hex(4)}",
                    list(tables),
                    dataclasses.replace(config.fleet, hosts=hosts),
                    warmup.artifact_bytes,
                )
                point.floor_seconds = bench_floor.raw_batch_write(tables, records, config.write_workers)
            print(
                f"    warm-up {point.warmup_seconds:.2f} s, median {point.median_seconds:.2f} s "
                f"({point.ms_per_host:.3f} ms a host); raw BatchWriteItem of its records {point.floor_seconds:.2f} s",
                flush=True,
            )
            points.append(point)
    finally:
        delete_scratch_stack(scratch_stack)
    return points
