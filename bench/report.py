"""The benchmark's results as the table `make bench` prints."""

from __future__ import annotations

from typing import Any

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
