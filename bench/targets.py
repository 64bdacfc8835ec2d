"""The benchmark's targets, each a PASS or a MISS, and the medians and rates they are judged on."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bench.measure import ScalingPoint, Sizes, StackMeasurements
from bench.timing import PipelineRun


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
        Target("rollback / the rollout it undoes", results["deployments"]["rollbackOverRollout"], 0.5, at_least=False),
    ]
    found += [
        Target(f"rollback / rollout, {fleet['agents']} real agents", fleet["rollbackOverRollout"], 0.2, at_least=False)
        for fleet in results.get("fleets", [])
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
