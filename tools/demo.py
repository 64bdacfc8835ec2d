"""Submits a build with deployctl and follows it live through every stage to every host of every region,
then runs the plan's verification checks in each region.

    python -m tools.demo [--commit SHA] [--timeout SECONDS]

What a user would type: `deployctl build <commit>`, then `deployctl watch <buildId>` (the live view of
`deployctl build --wait`, once the build id is known to this script). Then, from outside the stack as
the plan's commands do: the stage timings from the API, S3 listings, FileCopyTracking and each region's
host-deployment-logs count. Exits 0 on SUCCESS, 1 on FAILURE with the reason.
"""

from __future__ import annotations

import argparse
import json
import secrets
import shlex
import subprocess
import sys
import time
import urllib.request
from datetime import datetime
from pathlib import Path

import boto3

from code_deploy.hosts import records as host_logs
from tools import fleet
from tools.api_client import call
from tools.stack import api_base_url, host_record_tables, outputs, regional_buckets, regions, stack_name

DEPLOYCTL = Path(__file__).resolve().parent.parent / ".venv" / "deployctl" / "bin" / "deployctl"


def default_commit() -> str:
    """This repository's own HEAD, else a random commit-like id."""
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return secrets.token_hex(20)


def seconds_between(start: str | None, end: str | None) -> str:
    if not start or not end:
        return "-"
    parse = lambda value: datetime.fromisoformat(value.replace("Z", "+00:00"))  # noqa: E731
    return f"{(parse(end) - parse(start)).total_seconds():6.2f} s"


def print_summary(view: dict) -> None:
    print("\nStage timings (from the records' own timestamps):")
    print(f"  queue wait       {seconds_between(view['queuedAt'], view.get('buildingAt'))}")
    print(f"  build            {seconds_between(view.get('buildingAt'), view.get('builtAt'))}")
    replication = view["replication"]
    print(f"  replication      {seconds_between(replication.get('startedAt'), replication.get('completedAt'))}")
    print(f"  submit->deployed {seconds_between(view['queuedAt'], view.get('deployedAt'))}")
    print("\nPer region (the P2P swarm model's time: the artifact's pieces passed host to host):")
    print(f"  {'region':<14} {'copy':<10} {'hosts':>17}  {'rolled out at':<27} swarm model")
    for region in view["regions"]:
        hosts = f"{region['hostsDeployed']:,}/{region['hostsTotal']:,}"
        model = region.get("rolloutModel")
        swarm = (
            f"{model['pieces']} pieces, {model['rounds']} rounds, {model['seconds'] * 1000:.1f} ms "
            f"= {model['seconds'] / model['physicalLimitSeconds']:.2f}x the physical limit "
            f"(from the bucket: {model['directFromBucketSeconds'] / model['seconds']:.0f}x slower)"
            if model
            else "-"
        )
        print(
            f"  {region['region']:<14} {region['replication']:<10} {hosts:>17}  "
            f"{region['rolloutCompletedAt'] or '-':<27} {swarm}"
        )


def verify_like_the_plan(stack_outputs: dict[str, str], view: dict) -> list[str]:
    """The plan's verification commands, through boto3: s3 ls, FileCopyTracking, host record count."""
    problems = []
    s3 = boto3.client("s3")
    artifact = view["artifact"]
    print("\nThe plan's checks:")
    listed = s3.list_objects_v2(Bucket=artifact["bucket"], Prefix=artifact["key"]).get("KeyCount", 0)
    print(f"  s3 ls s3://{artifact['bucket']}/{artifact['key']}: {'found' if listed else 'MISSING'}")
    problems += [] if listed else [f"artifact missing from {artifact['bucket']}"]
    for region, bucket in regional_buckets(stack_outputs).items():
        regional_s3 = boto3.client("s3", region_name=region)
        found = regional_s3.list_objects_v2(Bucket=bucket, Prefix=artifact["key"]).get("KeyCount", 0)
        print(f"  s3 ls s3://{bucket}/ --region {region}: {'found' if found else 'MISSING'}")
        problems += [] if found else [f"artifact missing from {region}'s bucket"]
    dynamodb = boto3.resource("dynamodb")
    tracking = (
        dynamodb.Table(stack_outputs["CopyTrackingTableName"])
        .get_item(Key={"fileKey": artifact["key"], "sourceBucket": artifact["bucket"]})
        .get("Item", {})
    )
    print(
        f"  FileCopyTracking: status {tracking.get('status')}, {tracking.get('successfulCopies')} of "
        f"{tracking.get('totalBuckets')} copies succeeded"
    )
    # The plan's count, summed over the regions' own tables; each region's counted by querying its
    # shards (the plan's full-table Scan grows with every build the emulator has seen).
    hosts_per_region = int(stack_outputs["SimulatedHostsPerRegion"])
    counts = {
        region: host_logs.count_host_records(
            boto3.resource("dynamodb", region_name=region).Table(table), view["buildId"], region, hosts_per_region
        )
        for region, table in host_record_tables(stack_outputs).items()
    }
    count = sum(counts.values())
    expected = sum(region["hostsTotal"] for region in view["regions"])
    for region, table in host_record_tables(stack_outputs).items():
        print(f"  {table} ({region}): {counts[region]:,} records for {view['buildId']}")
    print(f"  host-deployment-logs records, summed over the regions: {count:,} (hosts x regions = {expected:,})")
    if count != expected:
        problems.append(f"{count} host records, expected {expected}")
    return problems


def deployctl(*args: str, capture: bool = False) -> subprocess.CompletedProcess:
    """deployctl as the user runs it: the command shown, then its own output on this terminal."""
    print(f"\n$ deployctl {shlex.join(args)}", flush=True)
    return subprocess.run([str(DEPLOYCTL), *args], capture_output=capture, text=True, check=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--commit", default=default_commit())
    parser.add_argument("--timeout", type=float, default=180)
    parser.add_argument("--skip-deployments", action="store_true", help="only the build, not the deployments part")
    args = parser.parse_args()

    stack_outputs = outputs()
    all_regions = regions(stack_outputs)
    print(
        f"Global stack {stack_name()} in {boto3.session.Session().region_name}; "
        f"regional stacks in {len(all_regions)} regions ({', '.join(all_regions)}), "
        f"{int(stack_outputs['SimulatedHostsPerRegion']):,} hosts each"
    )
    started = time.monotonic()
    submitted = deployctl("build", args.commit, "--json", capture=True)
    if submitted.returncode != 0:
        print(f"FAILURE: {submitted.stderr.strip() or submitted.stdout.strip()}")
        return 1
    build_id = json.loads(submitted.stdout)["buildId"]
    print(f"queued {build_id} (commit {args.commit})")
    watched = deployctl("watch", build_id, "--timeout", f"{args.timeout:.0f}")
    elapsed = time.monotonic() - started
    status, view = call("GET", f"{api_base_url(stack_outputs)}/builds/{build_id}")
    if status != 200:
        print(f"FAILURE: GET /builds/{build_id} answered {status}: {json.dumps(view)}")
        return 1
    print_summary(view)
    if watched.returncode != 0:
        print(f"\nFAILURE: {view.get('failureReason') or 'not deployed: ' + view['deploymentStatus']}")
        return 1
    problems = verify_like_the_plan(stack_outputs, view)
    if problems:
        print(f"\nFAILURE: {'; '.join(problems)}")
        return 1
    total_hosts = sum(region["hostsDeployed"] for region in view["regions"])
    print(
        f"\nSUCCESS: {view['buildId']} ({view['commit'][:12]}) built, replicated to {len(all_regions)} regions and "
        f"rolled out to {total_hosts:,} hosts in {elapsed:.2f} s"
    )
    if args.skip_deployments:
        return 0
    outcome = deployments_demo(stack_outputs, build_id, args.timeout)
    return outcome or real_hosts_demo(stack_outputs, args.timeout)


def deployments_demo(stack_outputs: dict[str, str], first_build: str, timeout: float) -> int:
    """Deployments: a second build lands (AutoDeploy), the first goes back out in three waves, then the
    second again with 60% of its hosts made to fail: its first wave fails the health gate and the region
    rolls back to the build its hosts still hold, and the later regions never start."""
    print("\n--- Deployments: waves, a health gate, a rollback ---")
    second = deployctl("build", secrets.token_hex(20), "--json", capture=True)
    if second.returncode != 0:
        print(f"FAILURE: {second.stderr.strip()}")
        return 1
    second_build = json.loads(second.stdout)["buildId"]
    if deployctl("watch", second_build, "--timeout", f"{timeout:.0f}").returncode != 0:
        print(f"FAILURE: {second_build} did not deploy")
        return 1
    # the first region alone, then the others together (a canary region)
    first_region, *others = regions(stack_outputs)
    region_waves = ";".join([first_region, ",".join(others)]) if others else first_region
    waves = deployctl("deploy", first_build, "--waves", "10,50,100", "--region-waves", region_waves, "--wait")
    if waves.returncode != 0:
        print(f"FAILURE: the wave deployment of {first_build} did not succeed")
        return 1
    rollback = deployctl(
        "deploy",
        second_build,
        "--waves",
        "10,100",
        "--region-waves",
        region_waves,
        "--max-failure-percent",
        "5",
        "--simulate-failures",
        "60",
        "--seed",
        "7",
        "--wait",
    )
    if rollback.returncode == 0:
        print("FAILURE: the deployment with 60% failing hosts was not rolled back")
        return 1
    deployctl("regions")
    status, answer = call("GET", f"{api_base_url(stack_outputs)}/regions")
    on_first = all(
        region["hostsByBuild"] == {first_build: region["hostsTotal"]} and region["goalBuildId"] == first_build
        for region in answer["regions"]
    )
    if status != 200 or not on_first:
        print(f"FAILURE: after the rollback not every host is back on {first_build}: {answer}")
        return 1
    print(
        f"\nSUCCESS: waves rolled {first_build} out; {second_build}'s failing wave rolled back to it in activation time"
    )
    return 0


DEMO_AGENTS = 2  # in every region: examples/flaky fails on the host numbered 001 of each


def applications_answer(api: str, region: str, build_id: str) -> list[str]:
    """Each real host's application's answer to GET /health in the region, if every one is on `build_id`."""
    status, answer = call("GET", f"{api}/regions/{region}/hosts?group={fleet.DEFAULT_GROUP}")
    answers = []
    for host in answer.get("hosts", []) if status == 200 else []:
        url = f"http://{host['address']}:{host['appPort']}/health"
        try:
            with urllib.request.urlopen(url, timeout=5) as reply:
                health = json.loads(reply.read())
        except OSError:
            return []
        if health.get("buildId") != build_id:
            return []
        answers.append(f"  {host['hostId']}: GET {url} -> {json.dumps(health)}")
    return answers


def every_application_answers(api: str, regions_: list[str], build_id: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answers = [applications_answer(api, region, build_id) for region in regions_]
        if all(answers):
            print("\n".join(line for region in answers for line in region))
            return True
        time.sleep(1)
    return False


def real_hosts_demo(stack_outputs: dict[str, str], timeout: float) -> int:
    """Real hosts: a fleet of agents in every region (as `make fleet` starts it), an application pushed as
    a build and running on every one of them, then a build whose validate_service fails on half of them,
    stopped by the health gate and rolled back, every application answering with the build before again."""
    print(f"\n--- Real hosts: {DEMO_AGENTS} agents a region, a pushed application, a failing one rolled back ---")
    api, all_regions = api_base_url(stack_outputs), regions(stack_outputs)
    started = time.monotonic()
    # As `make fleet` starts them: the agents fetch each build from each other (peer to peer), two a region
    # from the bucket
    registered = fleet.start(agents=DEMO_AGENTS, timing=fleet.AgentTiming(p2p=True))
    print(f"{sum(map(len, registered.values()))} agents registered in {time.monotonic() - started:.1f} s")
    try:
        hello = deployctl("push", "examples/hello", "--wait", "--json", capture=True)
        if hello.returncode != 0:
            print(f"FAILURE: examples/hello did not deploy: {hello.stderr.strip() or hello.stdout.strip()[-400:]}")
            return 1
        hello_build = json.loads(hello.stdout)["buildId"]
        deployctl("hosts", all_regions[0])
        if not every_application_answers(api, all_regions, hello_build, timeout):
            print(f"FAILURE: not every application answers {hello_build}")
            return 1
        print(f"deployed to every real host in {time.monotonic() - started:.1f} s since the agents started")
        rolled_back = time.monotonic()
        flaky = deployctl("push", "examples/flaky", "--wait", "--json", capture=True)
        if flaky.returncode == 0:
            print("FAILURE: examples/flaky was not stopped by the health gate")
            return 1
        deployctl("hosts", all_regions[0])
        if not every_application_answers(api, all_regions, hello_build, timeout):
            print(f"FAILURE: after the rollback not every application answers {hello_build} again")
            return 1
        print(
            f"\nSUCCESS: examples/hello runs on every real host; examples/flaky, failing validate_service on "
            f"half of them, was rolled back to it in {time.monotonic() - rolled_back:.1f} s"
        )
        return 0
    finally:
        fleet.stop()


if __name__ == "__main__":
    sys.exit(main())
