"""Deployments to real fleets: N code-deploy-agent processes' worth of hosts in one region of the deployed
stack (tools/fleet.py, as `make fleet` starts them), each agent's download capped at a host's link, and an
application padded to a large artifact (examples/hello, then examples/flaky).

For each fleet size:
- the rollout: examples/hello plus the padding, pushed as a build (`deployctl push`) and deployed by
  AutoDeploy, from the deployment's creation to the last agent's DEPLOYED report; beside it, the swarm
  model's prediction for these hosts and this link (what peer to peer would take), the direct-from-bucket
  model (what each agent fetching the whole artifact from the bucket takes, with the emulator's egress as
  measured here) and the physical limit (the artifact over one host's link);
- the rollback: examples/flaky plus other padding, whose validate_service fails on half the agents; the
  health gate stops it and the region returns to the hello build, which every agent still caches. Its time
  runs from the region's rollbackStartedAt to the last agent reporting the hello build again, against the
  rollout it undoes (the deployment's creation to rollbackStartedAt: the download, the hooks and the gate).
  A rollback downloads nothing: the goal is at most 0.2 of that rollout.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3

from code_deploy.builds import model as build_model
from code_deploy.deployments import model
from code_deploy.hosts import fleet
from code_deploy.swarm import SwarmParameters, direct_from_bucket_seconds, figures, physical_limit_seconds, plan_region
from tools import fleet as local_fleet
from tools.api_client import call
from tools.stack import api_base_url, regional_outputs, regions

REPO = Path(__file__).resolve().parents[1]
DEPLOYCTL = REPO / ".venv" / "deployctl" / "bin" / "deployctl"
MIB = 1024 * 1024
ROLLBACK_GOAL = 0.2  # a rollback over the rollout it undoes, at most
EGRESS_READERS = 8
EGRESS_RANGE_BYTES = 4 * MIB
POLL_SECONDS = 0.5


@dataclass(frozen=True)
class FleetSettings:
    sizes: tuple[int, ...]  # agents in each fleet, one fleet after another
    artifact_bytes: int  # the padding's size: the artifact is a few KiB more
    bytes_per_second: float  # each agent's download cap: a host's link
    timeout_seconds: float = 900.0


FULL = FleetSettings(sizes=(5, 20, 50), artifact_bytes=256 * MIB, bytes_per_second=16 * MIB)
SMOKE = FleetSettings(sizes=(2,), artifact_bytes=8 * MIB, bytes_per_second=4 * MIB)


class BenchFailed(RuntimeError):
    """A deployment of the fleet benchmark did not end as it must; the message says where."""


def _at(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def push(directory: Path) -> str:
    """`deployctl push <dir>` as a user runs it; the build's id."""
    pushed = subprocess.run([str(DEPLOYCTL), "push", str(directory), "--json"], capture_output=True, text=True)
    if pushed.returncode != 0:
        raise BenchFailed(f"deployctl push {directory.name}: {pushed.stderr.strip() or pushed.stdout.strip()}")
    return json.loads(pushed.stdout)["buildId"]


def auto_deployment(api: str, build_id: str, final: set[str], timeout: float) -> dict[str, Any]:
    """AutoDeploy's deployment of the build, once it has reached one of the `final` statuses."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, page = call("GET", f"{api}/deployments?limit=20")
        if status != 200:
            raise BenchFailed(f"GET /deployments answered {status}: {page}")
        for summary in page["deployments"]:
            if summary["buildId"] != build_id:
                continue
            if summary["status"] in final:
                return call("GET", f"{api}{summary['statusUrl']}")[1]
            if summary["status"] in {"SUCCEEDED", "ROLLED_BACK", "ABORTED", "SUPERSEDED", "FAILED"}:
                raise BenchFailed(f"the deployment of {build_id} ended {summary['status']}: {summary.get('reason')}")
        time.sleep(POLL_SECONDS)
    raise BenchFailed(f"the deployment of {build_id} did not end in {timeout:.0f} s")


def wait_for_reports(table, group: str, deployment_id: str, build_id: str, hosts: int, timeout: float) -> list:
    """The group's hosts once every one has reported `build_id` DEPLOYED for the deployment."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        members = fleet.group_hosts(table, group)
        reports = [host.reported(deployment_id, build_id) for host in members]
        done = [report for report in reports if report and report.status == "DEPLOYED"]
        if len(done) >= hosts:
            return done
        time.sleep(POLL_SECONDS)
    raise BenchFailed(f"not every host of {group} reported {build_id} DEPLOYED in {timeout:.0f} s")


def measure_egress(bucket: str, key: str, region: str, size: int) -> float:
    """The emulator's S3 egress as this process sees it: the artifact read once by ranged GETs, several at
    once (bytes a second)."""
    s3 = boto3.client("s3", region_name=region)
    spans = [(first, min(first + EGRESS_RANGE_BYTES, size) - 1) for first in range(0, size, EGRESS_RANGE_BYTES)]

    def read(span: tuple[int, int]) -> int:
        return len(s3.get_object(Bucket=bucket, Key=key, Range=f"bytes={span[0]}-{span[1]}")["Body"].read())

    started = time.monotonic()
    with ThreadPoolExecutor(EGRESS_READERS) as pool:
        read_bytes = sum(pool.map(read, spans))
    return read_bytes / (time.monotonic() - started)


@dataclass(frozen=True)
class FleetFigures:
    agents: int
    artifact_bytes: int
    bytes_per_second: float  # each agent's cap
    egress_bytes_per_second: float  # the emulator's, measured
    rollout_seconds: float  # creation -> the last agent's DEPLOYED
    download_seconds_median: float
    download_seconds_max: float
    swarm_model_seconds: float  # peer to peer, as the swarm model plans it
    direct_model_seconds: float  # every agent from the bucket
    physical_limit_seconds: float
    undone_rollout_seconds: float  # the failing build: creation -> rollbackStartedAt
    rollback_seconds: float  # rollbackStartedAt -> the last agent back on the build before
    rollback_model_seconds: float
    rollback_downloaded_bytes: int  # what the agents fetched to roll back (none: they cache it)

    @property
    def rollback_over_rollout(self) -> float:
        return self.rollback_seconds / self.undone_rollout_seconds

    def summary(self) -> dict[str, Any]:
        return asdict(self) | {"rollbackOverRollout": self.rollback_over_rollout}


def measure_fleet(stack_outputs: dict[str, str], agents: int, settings: FleetSettings, scratch: Path) -> FleetFigures:
    """One fleet of `agents` in the stack's first region, a rollout and a rollback; stopped after."""
    api, region = api_base_url(stack_outputs), regions(stack_outputs)[0]
    names = regional_outputs(stack_outputs, region)
    table = boto3.resource("dynamodb", region_name=region).Table(names["FleetTableName"])
    group = f"bench-{agents}"
    base_dir = scratch / group
    timing = local_fleet.AgentTiming(download_bytes_per_second=settings.bytes_per_second)
    seed = f"{agents}-{int(time.time())}"
    hello = local_fleet.padded_application("hello", settings.artifact_bytes, scratch / f"hello-{seed}")
    flaky = local_fleet.padded_application("flaky", settings.artifact_bytes, scratch / f"flaky-{seed}")
    try:
        local_fleet.start(agents=agents, group=group, base_dir=base_dir, only_regions=[region], timing=timing)
        hello_build = push(hello)
        rolled_out = auto_deployment(api, hello_build, {"SUCCEEDED"}, settings.timeout_seconds)
        reports = wait_for_reports(table, group, rolled_out["deploymentId"], hello_build, agents, 60)
        artifact_key = build_model.artifact_key(hello_build)
        size = boto3.client("s3", region_name=region).head_object(
            Bucket=names["RegionalBuildsBucketName"], Key=artifact_key
        )["ContentLength"]
        egress = measure_egress(names["RegionalBuildsBucketName"], artifact_key, region, size)

        flaky_build = push(flaky)
        undone = auto_deployment(api, flaky_build, {"ROLLED_BACK"}, settings.timeout_seconds)
        # Every agent reports the hello build for the rollback: those that ran flaky switch back to their
        # cached release; those whose validate_service failed switched back already and say so.
        returned = wait_for_reports(table, group, undone["deploymentId"], hello_build, agents, 120)
    finally:
        local_fleet.stop(base_dir)
        local_fleet.retire(table, group)  # the next fleet's deployments leave these hosts out
        shutil.rmtree(base_dir, ignore_errors=True)
        shutil.rmtree(hello, ignore_errors=True)
        shutil.rmtree(flaky, ignore_errors=True)
    region_rollback = undone["regions"][region]
    rollback_started = _at(region_rollback["rollbackStartedAt"])
    swarm = SwarmParameters(
        hosts=agents, artifact_bytes=size, host_bandwidth=settings.bytes_per_second, bucket_egress=egress
    )
    downloads = [report.download_seconds for report in reports]
    return FleetFigures(
        agents=agents,
        artifact_bytes=size,
        bytes_per_second=settings.bytes_per_second,
        egress_bytes_per_second=egress,
        rollout_seconds=max(_at(report.at) for report in reports) - _at(rolled_out["createdAt"]),
        download_seconds_median=statistics.median(downloads),
        download_seconds_max=max(downloads),
        swarm_model_seconds=figures(plan_region(swarm)).seconds,
        direct_model_seconds=direct_from_bucket_seconds(swarm),
        physical_limit_seconds=physical_limit_seconds(swarm),
        undone_rollout_seconds=rollback_started - _at(undone["createdAt"]),
        rollback_seconds=max(_at(report.at) for report in returned) - rollback_started,
        rollback_model_seconds=model.rollback_seconds(swarm, cached=agents, fetching=0, holding=agents),
        rollback_downloaded_bytes=sum(report.download_bytes for report in returned),
    )


def measure(stack_outputs: dict[str, str], settings: FleetSettings) -> list[FleetFigures]:
    with tempfile.TemporaryDirectory(prefix="bench-fleets-") as scratch:
        found = []
        for agents in settings.sizes:
            print(f"  {agents} agents: a rollout and a rollback", flush=True)
            found.append(measure_fleet(stack_outputs, agents, settings, Path(scratch)))
        return found


def report_lines(found: list[dict[str, Any]]) -> list[str]:
    if not found:
        return []
    first = found[0]
    lines = [
        f"Real fleets, one region: {first['artifact_bytes'] / MIB:,.0f} MiB artifact, each agent capped at "
        f"{first['bytes_per_second'] / MIB:.0f} MiB/s",
        f"  {'agents':>6} {'rollout s':>9} {'download s':>10} {'swarm':>7} {'direct':>7} {'limit':>7} "
        f"{'egress MiB/s':>12} {'undone s':>8} {'rollback s':>10} {'ratio':>6} {'goal':>5}",
    ]
    for row in found:
        ratio = row["rollbackOverRollout"]
        lines.append(
            f"  {row['agents']:>6} {row['rollout_seconds']:>9.1f} {row['download_seconds_median']:>10.1f} "
            f"{row['swarm_model_seconds']:>7.1f} {row['direct_model_seconds']:>7.1f} "
            f"{row['physical_limit_seconds']:>7.1f} {row['egress_bytes_per_second'] / MIB:>12.0f} "
            f"{row['undone_rollout_seconds']:>8.1f} {row['rollback_seconds']:>10.1f} {ratio:>6.2f} "
            f"{'PASS' if ratio <= ROLLBACK_GOAL else 'MISS':>5}"
        )
    lines.append(
        "  (rollout: creation -> every agent DEPLOYED; download s: the median agent's; swarm/direct: the models' "
        "seconds, peer to peer and each agent from the bucket; limit: the artifact over one link; undone: the "
        f"failing build's creation -> its rollback; goal: rollback / undone <= {ROLLBACK_GOAL})"
    )
    return lines


def main() -> int:
    """`python -m bench.fleets [--fleets 5,20,50] [--artifact-mib 256] [--mib-per-second 16] [--out FILE]`: the
    real fleets alone, printed and written to FILE (make bench runs them with the rest and keeps their figures
    in results.json)."""
    import argparse
    import sys

    from tools.stack import emulator_endpoint, outputs

    parser = argparse.ArgumentParser(prog="python -m bench.fleets", description=__doc__.split("\n\n")[0])
    parser.add_argument("--fleets", default=",".join(map(str, FULL.sizes)))
    parser.add_argument("--artifact-mib", type=float, default=FULL.artifact_bytes / MIB)
    parser.add_argument("--mib-per-second", type=float, default=FULL.bytes_per_second / MIB)
    parser.add_argument("--out", type=Path, help='write the figures there as JSON ({"fleets": [...]})')
    args = parser.parse_args()
    if not emulator_endpoint():
        print("The benchmark runs on the emulator: set AWS_ENDPOINT_URL (make local-env).", file=sys.stderr)
        return 2
    settings = FleetSettings(
        sizes=tuple(int(agents) for agents in args.fleets.split(",")),
        artifact_bytes=int(args.artifact_mib * MIB),
        bytes_per_second=args.mib_per_second * MIB,
    )
    found = [figures_.summary() for figures_ in measure(outputs(), settings)]
    print("\n".join(report_lines(found)))
    if args.out:
        at = datetime.now().astimezone().isoformat(timespec="seconds")
        args.out.write_text(json.dumps({"at": at, "fleets": found}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
