"""Peer to peer for real: a fleet of code-deploy-agents in one region of the deployed stack fetches an
application padded to a large artifact from each other (code_deploy_agent.p2p), each agent's download and
upload capped at a host's link, the regional bucket only the swarm's origin. Measured against the physical
limit (the artifact over one link) and against the swarm model, calibrated on one fleet size and checked
on another; with churn, some agents are killed mid-transfer (SIGKILL) and started again.

    python -m bench.p2p [--agents 100] [--calibrate-agents 40] [--artifact-mib 64] [--rate 1000000]
                        [--churn 0,10] [--out bench/p2p.json] [--plot bench/plots/p2p-cdf.png]

Each run is a fresh group: its agents register, `deployctl push` builds the padded application, AutoDeploy
deploys it, and the run ends when every agent has reported DEPLOYED. An agent's completion is when its
download verified (its `swarm.json`), from the moment the first agent began (the goal reached the fleet).
The bucket's egress is what the agents received less what they sent each other, counted by the engine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3

from bench.fleets import BenchFailed, auto_deployment, push, wait_for_reports
from bench.p2p_model import Calibration, Churn, calibrate, modelled
from code_deploy.builds import model as build_model
from code_deploy.hosts import fleet
from tools import fleet as local_fleet
from tools.stack import api_base_url, regional_outputs, regions

MIB = 1024 * 1024
GOAL_P50_OVER_PHYSICAL = 1.5
GOAL_P99_OVER_P50 = 1.3
GOAL_MODEL_ERROR = 0.15
GOAL_EGRESS_ARTIFACTS = 2.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
POLL_SECONDS = 0.5
CHURN_AT = 0.4  # the churned agents are killed this far into the physical limit's time
RESTART_AFTER_SECONDS = 2.0
STARTED_STATES = {"downloading", "installing", "deployed"}  # an agent's states once a download began


@dataclass(frozen=True)
class P2PSettings:
    agents: int
    artifact_bytes: int  # the padding's size: the artifact is a few KiB more
    rate: float  # bytes a second, each agent's download and upload cap
    churn_percent: int = 0
    timeout_seconds: float = 900.0


def _cpu_seconds(pid: int) -> float:
    """A process's user + system CPU time so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def _machine_busy() -> tuple[float, float]:
    """The machine's busy and total CPU time so far, every core (Linux /proc/stat)."""
    values = [int(value) for value in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values) - idle) / CLOCK_TICKS, sum(values) / CLOCK_TICKS


def _quantile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


def _downloading(table, group: str, count: int, timeout: float) -> None:
    """Until `count` of the group's hosts are downloading (or past it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        started = [host for host in fleet.group_hosts(table, group) if host.state.lower() in STARTED_STATES]
        if len(started) >= count:
            return
        time.sleep(POLL_SECONDS)
    raise BenchFailed(f"{group}: {count} agents were not downloading within {timeout:.0f} s")


def _stats(base_dir: Path, region: str) -> list[dict[str, Any]]:
    found = []
    for stats_file in sorted((base_dir / region).glob("*/swarm.json")):
        found.append(json.loads(stats_file.read_text()) | {"host": stats_file.parent.name})
    return found


def run(stack_outputs: dict[str, str], settings: P2PSettings, scratch: Path) -> dict[str, Any]:
    """One fleet, one deployment; the figures of the issue's table."""
    api, region = api_base_url(stack_outputs), regions(stack_outputs)[0]
    names = regional_outputs(stack_outputs, region)
    table = boto3.resource("dynamodb", region_name=region).Table(names["FleetTableName"])
    # A group of its own, new each run: no goal of an earlier run's deployment waits for its agents
    group = f"p2p-{settings.agents}-{settings.churn_percent}-{time.time_ns() % 10**6:06d}"
    base_dir = scratch / group
    churned = round(settings.agents * settings.churn_percent / 100)
    timing = local_fleet.AgentTiming(
        download_bytes_per_second=settings.rate, upload_bytes_per_second=settings.rate, p2p=True
    )
    app = local_fleet.padded_application("hello", settings.artifact_bytes, scratch / f"app-{group}-{time.time_ns()}")
    steady_prefix = local_fleet.host_prefix(region, group)
    churn_prefix = f"{steady_prefix}c"  # not "<steady prefix>-...": each process's registration is counted apart
    fleets: list[local_fleet.RegionFleet] = []
    restarted: list[local_fleet.RegionFleet] = []
    # A deployment waits for every live real host of the region: an earlier run's agents, stopped but not
    # yet lost (a run cut short), would count as failed.
    for earlier in fleet.groups(table):
        if earlier.startswith("p2p-"):
            local_fleet.retire(table, earlier)
    try:
        since = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        fleets.append(local_fleet.spawn(region, group, settings.agents - churned, base_dir, names, timing, network=1))
        if churned:
            fleets.append(
                local_fleet.spawn(region, group, churned, base_dir, names, timing, network=2, prefix=churn_prefix)
            )
        for region_fleet, count in zip(fleets, [settings.agents - churned, churned], strict=False):
            local_fleet.wait_for_registration([region_fleet], group, count, since, 120)
        busy_before, total_before = _machine_busy()
        cpu_before = sum(_cpu_seconds(region_fleet.process.pid) for region_fleet in fleets)
        wall_started = time.monotonic()
        build_id = push(app)
        if churned:
            _downloading(table, group, settings.agents // 2, settings.timeout_seconds)
            time.sleep(CHURN_AT * settings.artifact_bytes / settings.rate)
            victim = fleets.pop()
            cpu_before -= _cpu_seconds(victim.process.pid)  # its CPU until the kill is not counted: a lower bound
            os.killpg(victim.process.pid, signal.SIGKILL)  # mid-transfer, as a host that loses power
            victim.process.wait()
            time.sleep(RESTART_AFTER_SECONDS)
            restarted.append(
                local_fleet.spawn(region, group, churned, base_dir, names, timing, network=2, prefix=churn_prefix)
            )
        deployment = auto_deployment(api, build_id, {"SUCCEEDED"}, settings.timeout_seconds)
        wait_for_reports(table, group, deployment["deploymentId"], build_id, settings.agents, 120)
        cpu_seconds = sum(_cpu_seconds(region_fleet.process.pid) for region_fleet in fleets + restarted) - cpu_before
        wall_seconds = time.monotonic() - wall_started
        busy_after, total_after = _machine_busy()
    finally:
        local_fleet.terminate(fleets + restarted)  # SIGTERM: each agent writes its swarm.json's last totals
        local_fleet.retire(table, group)
    stats = _stats(base_dir, region)
    shutil.rmtree(base_dir, ignore_errors=True)
    shutil.rmtree(app, ignore_errors=True)
    if len(stats) != settings.agents or not all(entry.get("completedAt") for entry in stats):
        raise BenchFailed(f"{group}: {len(stats)} agents' swarm.json, not every one complete")
    began = min(entry["startedAt"] for entry in stats)
    completions = sorted(entry["completedAt"] - began for entry in stats)
    artifact = boto3.client("s3", region_name=region).head_object(
        Bucket=names["RegionalBuildsBucketName"], Key=build_model.artifact_key(build_id)
    )["ContentLength"]
    churned_hosts = [entry for entry in stats if entry["host"].startswith(churn_prefix)]
    return {
        "agents": settings.agents,
        "artifactBytes": artifact,
        "rateBytesPerSecond": settings.rate,
        "churnPercent": settings.churn_percent,
        "p50Seconds": round(_quantile(completions, 0.5), 2),
        "p99Seconds": round(_quantile(completions, 0.99), 2),
        "maxSeconds": round(completions[-1], 2),
        "physicalSeconds": round(artifact / settings.rate, 2),
        # What the agents that read from the bucket received in all: at most what they read from it (a
        # bound, as the engine does not say which bytes came from the web seed once its connection closed);
        # at least what their web seeds' connections were seen to read.
        "bucketEgressBytes": sum(
            entry["receivedBytes"] + entry.get("redundantBytes", 0) for entry in stats if entry.get("readBucket")
        ),
        "bucketEgressAtLeastBytes": sum(entry.get("webSeedBytes", 0) for entry in stats),
        "agentsReadingTheBucket": sum(1 for entry in stats if entry.get("readBucket")),
        # The agents' processes, in percent of one core, from the push to the last report; the machine's (two
        # cores: 200 %), the emulator's functions included.
        "cpuPercent": round(100 * cpu_seconds / wall_seconds, 1),
        "machineCpuPercent": round(200 * (busy_after - busy_before) / (total_after - total_before), 1),
        "restartedAgents": len(churned_hosts),
        "restartedResumedBytes": sorted(int(entry.get("resumedBytes", 0)) for entry in churned_hosts),
        "completions": [round(value, 3) for value in completions],
    }


def with_model(found: dict[str, Any], calibration: Calibration) -> dict[str, Any]:
    churn = Churn(found["churnPercent"], RESTART_AFTER_SECONDS)
    p50, p99, curve = modelled(found["agents"], found["artifactBytes"], found["rateBytesPerSecond"], calibration, churn)
    return found | {
        "modelP50Seconds": round(p50, 2),
        "modelP99Seconds": round(p99, 2),
        "modelCompletions": [round(value, 3) for value in curve],
    }


def verdicts(found: dict[str, Any]) -> dict[str, bool]:
    return {
        "p50OverPhysical": found["p50Seconds"] / found["physicalSeconds"] <= GOAL_P50_OVER_PHYSICAL,
        "p99OverP50": found["p99Seconds"] / found["p50Seconds"] <= GOAL_P99_OVER_P50,
        "modelP50": abs(found["modelP50Seconds"] - found["p50Seconds"]) / found["p50Seconds"] <= GOAL_MODEL_ERROR,
        "modelP99": abs(found["modelP99Seconds"] - found["p99Seconds"]) / found["p99Seconds"] <= GOAL_MODEL_ERROR,
        "bucketEgress": found["bucketEgressBytes"] <= GOAL_EGRESS_ARTIFACTS * found["artifactBytes"],
        "churnCompleted": found["restartedAgents"] == 0 or min(found["restartedResumedBytes"]) > 0,
    }


def lines(runs: list[dict[str, Any]]) -> list[str]:
    out = [
        f"  {'agents':>6} {'churn':>5} {'p50 s':>6} {'p99 s':>6} {'limit':>6} {'p50/lim':>7} {'p99/p50':>7} "
        f"{'model p50':>9} {'model p99':>9} {'egress':>7} {'cpu %':>6}"
    ]
    for found in runs:
        out.append(
            f"  {found['agents']:>6} {found['churnPercent']:>4}% "
            f"{found['p50Seconds']:>6.1f} {found['p99Seconds']:>6.1f} "
            f"{found['physicalSeconds']:>6.1f} {found['p50Seconds'] / found['physicalSeconds']:>7.2f} "
            f"{found['p99Seconds'] / found['p50Seconds']:>7.2f} {found.get('modelP50Seconds', 0):>9.1f} "
            f"{found.get('modelP99Seconds', 0):>9.1f} {found['bucketEgressBytes'] / found['artifactBytes']:>6.2f}x "
            f"{found['cpuPercent']:>6.0f}"
        )
        marks = ", ".join(
            f"{name} {'PASS' if passed else 'MISS'}" for name, passed in found.get("verdicts", {}).items()
        )
        if marks:
            out.append(f"         {marks}")
    return out


def plot(runs: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 4))
    for found in runs:
        label = f"{found['agents']} agents, churn {found['churnPercent']}%"
        real = found["completions"]
        axes.step(real, [(index + 1) / len(real) for index in range(len(real))], where="post", label=f"real: {label}")
        model = found.get("modelCompletions") or []
        if model:
            axes.plot(model, [(index + 1) / len(model) for index in range(len(model))], "--", label=f"model: {label}")
    axes.axvline(runs[0]["physicalSeconds"], color="grey", linestyle=":", label="physical limit")
    axes.set_xlabel("seconds since the first agent began")
    axes.set_ylabel("agents complete (fraction)")
    axes.legend(fontsize=7)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)


def measure(stack_outputs: dict[str, str], args: argparse.Namespace) -> dict[str, Any]:
    churns = [int(value) for value in args.churn.split(",")]
    with tempfile.TemporaryDirectory(prefix="bench-p2p-") as scratch:
        base = P2PSettings(args.calibrate_agents, int(args.artifact_mib * MIB), args.rate)
        print(f"  calibration: {base.agents} agents, no churn", flush=True)
        calibration_run = run(stack_outputs, base, Path(scratch))
        print("\n".join(lines([calibration_run])), flush=True)
        calibration = calibrate(calibration_run)
        runs = []
        for churn in churns:
            settings = P2PSettings(args.agents, base.artifact_bytes, args.rate, churn_percent=churn)
            print(f"  {settings.agents} agents, churn {churn} %", flush=True)
            runs.append(with_model(run(stack_outputs, settings, Path(scratch)), calibration))
            print("\n".join(lines(runs[-1:])), flush=True)
    for found in runs:
        found["verdicts"] = verdicts(found)
    return {
        "at": datetime.now().astimezone().isoformat(timespec="seconds"),
        "calibration": calibration.summary() | {"run": with_model(calibration_run, calibration)},
        "runs": runs,
    }


def main() -> int:
    from tools.stack import emulator_endpoint, outputs

    parser = argparse.ArgumentParser(prog="python -m bench.p2p", description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=100)
    parser.add_argument("--calibrate-agents", type=int, default=40, help="the fleet the model is calibrated on")
    parser.add_argument("--artifact-mib", type=float, default=64)
    parser.add_argument("--rate", type=float, default=500_000, help="bytes a second, each agent's up and down")
    parser.add_argument("--churn", default="0,10", help="percents of agents killed mid-transfer, a run each")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--plot", type=Path)
    args = parser.parse_args()
    if not emulator_endpoint():
        print("The benchmark runs on the emulator: set AWS_ENDPOINT_URL (make local-env).", file=sys.stderr)
        return 2
    found = measure(outputs(), args)
    print("\n".join(lines([found["calibration"]["run"], *found["runs"]])))
    if args.out:
        args.out.write_text(json.dumps(found, indent=1) + "\n")
    if args.plot:
        plot(found["runs"], args.plot)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


def _marks(verdict: dict[str, bool]) -> Callable[[str], str]:
    def mark(name: str) -> str:
        return "" if name not in verdict else (" PASS" if verdict[name] else " **MISS**")

    return mark


def markdown(found: dict[str, Any]) -> str:
    """The runs as docs/benchmark.md and docs/p2p.md give them: `python -c` over bench/p2p.json."""
    rows = [
        "| agents | churn | p50 | p99 | physical limit | p50 / limit (goal <= 1.5) | p99 / p50 (goal <= 1.3) "
        "| model p50 | model p99 (goal: within 15 %) | bucket egress (goal <= 2x) | agents' CPU | machine's CPU |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for run_found in [found["calibration"]["run"], *found["runs"]]:
        mark = _marks(run_found.get("verdicts", {}))
        rows.append(
            f"| {run_found['agents']} | {run_found['churnPercent']} % | {run_found['p50Seconds']:.1f} s "
            f"| {run_found['p99Seconds']:.1f} s | {run_found['physicalSeconds']:.1f} s "
            f"| {run_found['p50Seconds'] / run_found['physicalSeconds']:.2f}{mark('p50OverPhysical')} "
            f"| {run_found['p99Seconds'] / run_found['p50Seconds']:.2f}{mark('p99OverP50')} "
            f"| {run_found['modelP50Seconds']:.1f} s{mark('modelP50')} "
            f"| {run_found['modelP99Seconds']:.1f} s{mark('modelP99')} "
            f"| at most {run_found['bucketEgressBytes'] / run_found['artifactBytes']:.2f}x{mark('bucketEgress')}, "
            f"at least {run_found.get('bucketEgressAtLeastBytes', 0) / run_found['artifactBytes']:.2f}x "
            f"| {run_found['cpuPercent']:.0f} % | {run_found['machineCpuPercent']:.0f} % |"
        )
    return "\n".join(rows)
