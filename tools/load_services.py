"""Many services' deployments at once on the deployed stack: SERVICES services, each with two builds, and
DEPLOYMENTS deployments spread over them, each service's submitted one after another (alternating its two
builds, each later one overtaking the one before: the later wins within a service) while every service
submits at the same time. Then the checks: every deployment ends in a final state, none is lost (each is
in its service's GET /deployments?service=), no host of a service runs another service's build, and each
service's goal in each region is its last deployment's. It prints the throughput (deployments a minute).

    python -m tools.load --services 20 --deployments 200   (make load SERVICES=20 DEPLOYMENTS=200)
    python -m tools.load_services --scaling 1,2,5,10 --per-service 10 --out bench/services.json
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from code_deploy.builds.model import utc_now
from tools.api_client import call
from tools.stack import api_base_url, outputs

FINAL = {"SUCCEEDED", "ROLLED_BACK", "ABORTED", "SUPERSEDED", "FAILED"}
BUILDS_PER_SERVICE = 2  # deployments alternate between them, so each one switches the hosts
POLL_SECONDS = 1.0
ATTEMPTS = 5


@dataclass
class ServicesLoadReport:
    services: int
    deployments_asked: int
    builds_seconds: float = 0.0
    deployments: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # service -> [(deployment, build)]
    final: dict[str, str] = field(default_factory=dict)  # deployment -> its final status
    submit_seconds: float = 0.0
    deploy_seconds: float = 0.0  # first submission to the last deployment's end
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def accepted(self) -> int:
        return sum(len(accepted) for accepted in self.deployments.values())

    @property
    def per_minute(self) -> float:
        return 60 * len(self.final) / self.deploy_seconds if self.deploy_seconds else 0.0

    def by_status(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for status in self.final.values():
            counts[status] = counts.get(status, 0) + 1
        return dict(sorted(counts.items()))

    def lines(self) -> list[str]:
        return [
            f"services                        : {self.services} ({BUILDS_PER_SERVICE} builds each, "
            f"built and replicated in {self.builds_seconds:.1f} s)",
            f"deployments submitted / accepted : {self.deployments_asked} / {self.accepted} "
            f"in {self.submit_seconds:.1f} s",
            f"ended, by final state           : {len(self.final)} {self.by_status()}",
            f"first submission -> last end    : {self.deploy_seconds:.1f} s",
            f"throughput                      : {self.per_minute:.1f} deployments a minute",
            *(f"PROBLEM: {problem}" for problem in self.problems),
        ]


def _with_retries(method: str, url: str, body: dict | None = None) -> tuple[int, dict]:
    """One request like a careful client: a timeout, 429 or 5xx retried with the same Idempotency-Key."""
    headers = {"Content-Type": "application/json", "Idempotency-Key": str(uuid.uuid4())}
    status, answer = 0, {}
    for attempt in range(ATTEMPTS):
        try:
            status, answer = call(method, url, body, headers, timeout=240)
        except OSError as error:
            status, answer = 0, {"message": f"{type(error).__name__}: {error}"}
        if status not in (0, 409, 429) and status < 500:
            return status, answer
        if status == 409 and "Idempotency" not in str(answer.get("message", "")):
            return status, answer
        time.sleep(2**attempt)
    return status, answer


def _until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not after {timeout:.0f} s")
        time.sleep(POLL_SECONDS)


def prepare(api: str, services: list[str], timeout: float) -> dict[str, list[str]]:
    """Creates the services and builds two builds of each, waiting for both to be built, replicated and
    deployed by AutoDeploy (the second overtaking the first, as the later one)."""
    for name in services:
        status, answer = _with_retries("POST", f"{api}/services", {"name": name})
        if status not in (200, 201):
            raise RuntimeError(f"POST /services {name} answered {status}: {answer}")
    builds: dict[str, list[str]] = {}

    def submit(name: str) -> tuple[str, list[str]]:
        made = []
        for _ in range(BUILDS_PER_SERVICE):
            status, answer = _with_retries("POST", f"{api}/builds", {"commit": secrets.token_hex(20), "service": name})
            if status != 202:
                raise RuntimeError(f"POST /builds for {name} answered {status}: {answer}")
            made.append(answer["buildId"])
        return name, made

    with ThreadPoolExecutor(max_workers=min(8, len(services))) as pool:
        builds = dict(pool.map(submit, services))
    pending = {build for made in builds.values() for build in made}

    def settled() -> bool:
        for build in list(pending):
            status, view = call("GET", f"{api}/builds/{build}")
            if status == 200 and view["deploymentStatus"] in ("DEPLOYED", "SUPERSEDED"):
                pending.discard(build)
            elif status == 200 and view["deploymentStatus"] == "FAILED":
                raise RuntimeError(f"{build} FAILED: {view.get('failureReason')}")
        return not pending

    _until(settled, timeout, "the services' builds deployed")
    return builds


def run(services: int, deployments: int, timeout: float = 1800, prefix: str | None = None) -> ServicesLoadReport:
    api = api_base_url(outputs())
    names = [f"{prefix or f'load-{secrets.token_hex(2)}'}-{index:02d}" for index in range(services)]
    started = time.monotonic()
    builds = prepare(api, names, timeout)
    try:
        report = deploy_at_once(api, builds, deployments, timeout)
    finally:
        for name in names:  # the services go, their deployments ended
            _with_retries("DELETE", f"{api}/services/{name}")
    report.builds_seconds = time.monotonic() - started - report.deploy_seconds
    return report


def scaling(service_counts: list[int], per_service: int, timeout: float = 1800) -> list[ServicesLoadReport]:
    """The throughput as the services grow: the most services' builds made once, then for each count that
    many services' deployments at once (`per_service` each), one count after the other."""
    api = api_base_url(outputs())
    names = [f"scale-{secrets.token_hex(2)}-{index:02d}" for index in range(max(service_counts))]
    builds = prepare(api, names, timeout)
    try:
        return [
            deploy_at_once(api, {name: builds[name] for name in names[:count]}, count * per_service, timeout)
            for count in service_counts
        ]
    finally:
        for name in names:
            _with_retries("DELETE", f"{api}/services/{name}")


def deploy_at_once(api: str, builds: dict[str, list[str]], deployments: int, timeout: float) -> ServicesLoadReport:
    """`deployments` deployments of the services of `builds` (service -> its builds), every service's
    submitted one after another, the services at once; followed to their ends, then checked."""
    names = list(builds)
    report = ServicesLoadReport(services=len(names), deployments_asked=deployments)
    shares = {name: deployments // len(names) + (index < deployments % len(names)) for index, name in enumerate(names)}

    def submit_share(name: str) -> tuple[str, list[tuple[str, str]]]:
        accepted = []
        for number in range(shares[name]):
            build = builds[name][number % BUILDS_PER_SERVICE]
            status, answer = _with_retries("POST", f"{api}/deployments", {"buildId": build, "service": name})
            if status == 202:
                accepted.append((answer["deploymentId"], build))
            else:
                report.problems.append(f"POST /deployments {build} ({name}) answered {status}: {answer}")
        return name, accepted

    deploy_started = time.monotonic()
    with ThreadPoolExecutor(max_workers=len(names)) as pool:
        report.deployments = dict(pool.map(submit_share, names))
    report.submit_seconds = time.monotonic() - deploy_started

    running = {deployment for accepted in report.deployments.values() for deployment, _ in accepted}

    def ended() -> bool:
        for deployment in list(running):
            status, view = call("GET", f"{api}/deployments/{deployment}")
            if status == 200 and view["status"] in FINAL:
                report.final[deployment] = view["status"]
                running.discard(deployment)
        return not running

    try:
        _until(ended, timeout, "every deployment ended")
    except TimeoutError as error:
        report.problems.append(f"{error}: still running {sorted(running)}")
    report.deploy_seconds = time.monotonic() - deploy_started
    report.problems += _checks(api, report, builds)
    return report


def _checks(api: str, report: ServicesLoadReport, builds: dict[str, list[str]]) -> list[str]:
    problems = [
        f"{deployment} ended {status}"
        for deployment, status in report.final.items()
        if status not in ("SUCCEEDED", "SUPERSEDED")
    ]
    for name, accepted in report.deployments.items():
        listed = _listed(api, name)
        problems += [
            f"{deployment} is not in GET /deployments?service={name}"
            for deployment, _ in accepted
            if deployment not in listed
        ]
        status, regions = call("GET", f"{api}/regions?service={name}")
        if status != 200:
            problems.append(f"GET /regions?service={name} answered {status}: {regions}")
            continue
        last_deployment, last_build = accepted[-1] if accepted else (None, None)
        for region in regions["regions"]:
            foreign = set(region["hostsByBuild"]) - set(builds[name])
            if foreign:
                problems.append(f"{name} in {region['region']}: hosts on another service's build {sorted(foreign)}")
            if last_deployment and (region["goalDeploymentId"], region["goalBuildId"]) != (last_deployment, last_build):
                problems.append(
                    f"{name} in {region['region']}: goal {region['goalBuildId']} of {region['goalDeploymentId']}, "
                    f"not {last_build} of its last deployment {last_deployment}"
                )
            if last_build and region["hostsByBuild"].get(last_build) != region["hostsTotal"]:
                problems.append(
                    f"{name} in {region['region']}: not every host on {last_build}: {region['hostsByBuild']}"
                )
    return problems


def _listed(api: str, service: str) -> set[str]:
    found: set[str] = set()
    cursor = None
    while True:
        query = f"?service={service}&limit=50" + (f"&cursor={cursor}" if cursor else "")
        status, page = call("GET", f"{api}/deployments{query}")
        if status != 200:
            return found
        found |= {deployment["deploymentId"] for deployment in page["deployments"]}
        cursor = page.get("nextCursor")
        if not cursor:
            return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scaling", required=True, help="service counts, e.g. 1,2,5,10")
    parser.add_argument("--per-service", type=int, default=10, help="deployments of each service")
    parser.add_argument("--out", help="write the figures as JSON here")
    args = parser.parse_args()
    reports = scaling([int(count) for count in args.scaling.split(",")], args.per_service)
    figures = [
        {
            "services": report.services,
            "deployments": report.accepted,
            "seconds": round(report.deploy_seconds, 1),
            "submitSeconds": round(report.submit_seconds, 1),
            "deploymentsPerMinute": round(report.per_minute, 1),
            "byFinalState": report.by_status(),
            "problems": report.problems,
        }
        for report in reports
    ]
    for report in reports:
        print("\n".join(report.lines()), end="\n\n")
    if args.out:
        Path(args.out).write_text(json.dumps({"measuredAt": utc_now(), "runs": figures}, indent=2) + "\n")
    return 0 if all(report.ok for report in reports) else 1


if __name__ == "__main__":
    sys.exit(main())
