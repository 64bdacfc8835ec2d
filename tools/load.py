"""Submits many builds at once and checks every one of them reaches every host: none lost, none
duplicated. While it waits it prints where the builds are every 10 s (on stderr), then the figures.

    python -m tools.load [--builds 100] [--timeout 900]
    python -m tools.load --services 20 --deployments 200   (many services' deployments: tools/load_services.py)
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

import boto3
from rich.console import Console

from code_deploy import paging
from code_deploy.builds.model import utc_now
from code_deploy.hosts import records as host_logs
from tools.api_client import call
from tools.stack import api_base_url, host_record_tables, outputs
from tools.stack import regions as stack_regions

# On the emulator every concurrent request cold-starts its own API worker, all on this machine's cores,
# so the first answers of a burst can take a minute; on AWS they take well under a second.
SUBMIT_TIMEOUT_SECONDS = 240
PROGRESS_SECONDS = 10.0  # a line saying where the builds are, this often, while the run waits


@dataclass
class LoadReport:
    submitted: int
    accepted: dict[str, str] = field(default_factory=dict)  # commit -> build id
    rejected: list[tuple[str, int, dict]] = field(default_factory=list)
    deployed: dict[str, float] = field(default_factory=dict)  # build id -> seconds from submission
    # AutoDeploy deploys each build as it lands, and the later deployment wins: a build overtaken by a
    # later one in a region before it reached every host there ends SUPERSEDED (build id -> seconds)
    superseded: dict[str, float] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)  # build id -> reason
    submit_seconds: float = 0.0
    poll_errors: int = 0
    total_seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def lines(self) -> list[str]:
        latencies = sorted(self.deployed.values())
        lines = [
            f"builds submitted concurrently : {self.submitted}",
            f"accepted (202)                : {len(self.accepted)} in {self.submit_seconds:.2f} s",
            f"rejected                      : {len(self.rejected)}",
            f"deployed to every host        : {len(self.deployed)}",
            f"superseded by a later build   : {len(self.superseded)}",
            f"failed                        : {len(self.failed)}",
            f"all done after                : {self.total_seconds:.1f} s",
            f"status polls that failed      : {self.poll_errors} (asked again)",
        ]
        if latencies:
            p95 = latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))]
            lines.append(
                f"submit -> deployed, median    : {statistics.median(latencies):.1f} s (p95 {p95:.1f} s, "
                f"max {latencies[-1]:.1f} s)"
            )
        lines += [f"PROBLEM: {problem}" for problem in self.problems]
        return lines


class Progress:
    """Where the builds are, one line at most every `every` seconds: a run takes minutes, and says so."""

    def __init__(
        self,
        console: Console,
        started: float,
        every: float = PROGRESS_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.console, self.started, self.every, self.clock = console, started, every, clock
        self.shown_at: float | None = None

    def show(self, report: LoadReport, pending: int, force: bool = False) -> None:
        now = self.clock()
        if not force and self.shown_at is not None and now - self.shown_at < self.every:
            return
        self.shown_at = now
        self.console.print(
            f"{now - self.started:.0f} s: accepted {len(report.accepted)}/{report.submitted}, "
            f"deployed {len(report.deployed)}, superseded {len(report.superseded)}, failed {len(report.failed)}, "
            f"pending {pending}",
            highlight=False,
        )


SUBMIT_ATTEMPTS = 4


def submit(api: str, commit: str) -> tuple[int, dict]:
    """POSTs a build like a careful client: a timeout, 429 or 5xx is retried with the same
    Idempotency-Key, so a retry can never make a second build."""
    headers = {"Content-Type": "application/json", "Idempotency-Key": str(uuid.uuid4())}
    status, body = 0, {}
    for attempt in range(SUBMIT_ATTEMPTS):
        try:
            status, body = call("POST", f"{api}/builds", {"commit": commit}, headers, timeout=SUBMIT_TIMEOUT_SECONDS)
        except OSError as error:
            status, body = 0, {"error": f"{type(error).__name__}: {error}"}
        if status != 0 and status != 409 and status != 429 and status < 500:
            return status, body
        time.sleep(2**attempt)
    return status, body


def run(builds: int, timeout: float, workers: int | None = None, console: Console | None = None) -> LoadReport:
    stack_outputs = outputs()
    api = api_base_url(stack_outputs)
    regions = stack_regions(stack_outputs)
    hosts_per_region = int(stack_outputs["SimulatedHostsPerRegion"])
    report = LoadReport(submitted=builds)
    commits = [secrets.token_hex(20) for _ in range(builds)]

    started_at, started = utc_now(), time.monotonic()
    progress = Progress(console or Console(stderr=True), started)
    with ThreadPoolExecutor(max_workers=workers or builds) as pool:
        submitting = {pool.submit(submit, api, commit): commit for commit in commits}
        while submitting:
            answered, _ = wait(submitting, timeout=PROGRESS_SECONDS, return_when=FIRST_COMPLETED)
            for future in answered:
                commit = submitting.pop(future)
                status, body = future.result()
                if status == 202:
                    report.accepted[commit] = body["buildId"]
                else:
                    report.rejected.append((commit, status, body))
            progress.show(report, pending=len(report.accepted))
    report.submit_seconds = time.monotonic() - started

    pending = set(report.accepted.values())
    last_poll_error: OSError | None = None
    deadline = started + timeout
    while pending and time.monotonic() < deadline:
        for build_id in list(pending):
            try:
                status, view = call("GET", f"{api}/builds/{build_id}")
            except OSError as error:  # a dropped connection or timeout under load: ask again next round
                report.poll_errors += 1
                last_poll_error = error
                continue
            if status == 200 and view["deploymentStatus"] == "DEPLOYED":
                report.deployed[build_id] = time.monotonic() - started
                pending.discard(build_id)
            elif status == 200 and view["deploymentStatus"] == "SUPERSEDED":
                report.superseded[build_id] = time.monotonic() - started
                pending.discard(build_id)
            elif status == 200 and view["deploymentStatus"] == "FAILED":
                report.failed[build_id] = view.get("failureReason") or view["replication"]["status"]
                pending.discard(build_id)
            progress.show(report, len(pending))
        time.sleep(0.5)
    progress.show(report, len(pending), force=True)
    report.total_seconds = time.monotonic() - started

    report.problems += [f"POST answered {status} for {commit}: {body}" for commit, status, body in report.rejected]
    report.problems += [f"{build_id} FAILED: {reason}" for build_id, reason in report.failed.items()]
    report.problems += [
        f"{build_id} not deployed after {timeout:.0f} s (last poll error: {last_poll_error})"
        for build_id in sorted(pending)
    ]
    report.problems += _duplicates_and_losses(stack_outputs, report, regions, hosts_per_region, started_at)
    report.problems += _settled(api, report, hosts_per_region)
    return report


def _settled(api: str, report: LoadReport, hosts_per_region: int) -> list[str]:
    """Once everything settled, every host of a region runs one build, one of those submitted (no host
    left on an overtaken build, none mixed)."""
    if report.problems or not report.deployed:
        return []
    status, answer = call("GET", f"{api}/regions")
    problems = []
    for region in answer.get("regions", []) if status == 200 else []:
        hosts = region["hostsByBuild"]
        if (
            len(hosts) != 1
            or next(iter(hosts.values())) != hosts_per_region
            or next(iter(hosts)) not in report.deployed
        ):
            problems.append(f"{region['region']}'s hosts are not all on one submitted build: {hosts}")
    return problems


def builds_since(api: str, since: str) -> list[dict]:
    """The builds queued at or after `since` (an ISO timestamp), as GET /builds lists them: newest first,
    a page at a time, each one's status read as the API reads it (no table's attribute names here)."""
    found: list[dict] = []
    cursor: str | None = None
    while True:
        query = f"?limit={paging.MAX_PAGE_SIZE}" + (f"&cursor={cursor}" if cursor else "")
        status, page = call("GET", f"{api}/builds{query}")
        if status != 200:
            raise RuntimeError(f"GET /builds answered {status}: {page}")
        recent = [build for build in page["builds"] if build["queuedAt"] >= since]
        found += recent
        cursor = page.get("nextCursor")
        if not cursor or len(recent) < len(page["builds"]):
            return found


def _duplicates_and_losses(
    stack_outputs: dict[str, str], report: LoadReport, regions: list[str], hosts_per_region: int, started_at: str
) -> list[str]:
    """Exactly one build per submitted commit, and exactly hosts x regions records per build."""
    problems = []
    if len(set(report.accepted.values())) != len(report.accepted):
        problems.append("two commits were given the same build id")
    commits = set(report.accepted)
    records_per_commit: dict[str, int] = {}
    for build in builds_since(api_base_url(stack_outputs), started_at):
        if build["commit"] in commits:
            records_per_commit[build["commit"]] = records_per_commit.get(build["commit"], 0) + 1
    problems += [
        f"{count} build records for commit {commit}" for commit, count in records_per_commit.items() if count != 1
    ]
    problems += [f"no build record for commit {commit}" for commit in commits - set(records_per_commit)]
    host_tables = {
        region: boto3.resource("dynamodb", region_name=region).Table(name)
        for region, name in host_record_tables(stack_outputs).items()
    }
    for build_id in report.deployed:
        count = sum(
            host_logs.count_host_records(host_tables[region], build_id, region, hosts_per_region) for region in regions
        )
        if count != hosts_per_region * len(regions):
            problems.append(f"{build_id} has {count} host records, expected {hosts_per_region * len(regions)}")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--builds", type=int, default=100)
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--services", type=int, help="instead: this many services' deployments at once")
    parser.add_argument("--deployments", type=int, default=200, help="with --services: deployments in all")
    args = parser.parse_args()
    if args.services:
        from tools import load_services

        report = load_services.run(args.services, args.deployments, max(args.timeout, 1800))
    else:
        report = run(args.builds, args.timeout)
    print("\n".join(report.lines()))
    print("LOAD OK" if report.ok else "LOAD FAILED")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
