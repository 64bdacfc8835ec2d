"""deployctl, the installed console script (.venv/deployctl/bin/deployctl), against the deployed stack:
it finds the API from the stack's outputs and signs every request, as a user's terminal would."""

from __future__ import annotations

import json
import secrets
import subprocess

import boto3
import pytest

from tests.integration.conftest import http, wait_for
from tests.utils import REPO

DEPLOYCTL = REPO / ".venv" / "deployctl" / "bin" / "deployctl"
FAILING_COMMIT_PREFIX = "deadbeef"  # the template's SimulatedFailingCommitPrefix


def deployctl(*args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    if not DEPLOYCTL.exists():
        pytest.fail(f"{DEPLOYCTL} is missing: `make venvs` installs it")
    return subprocess.run([str(DEPLOYCTL), *args], capture_output=True, text=True, timeout=timeout, check=False)


def test_build_wait_follows_a_build_to_every_host(hosts_per_region, buckets):
    # Given a commit
    commit = secrets.token_hex(20)
    # When deployctl builds it and waits
    run = deployctl("build", commit, "--wait")
    # Then it ends SUCCESS with every host of every region, having drawn every stage
    assert run.returncode == 0, run.stderr + run.stdout
    total = hosts_per_region * len(buckets)
    assert f"deployed to {total:,} hosts in {len(buckets)} regions" in run.stdout
    assert run.stdout.strip().splitlines()[-1].startswith("SUCCESS: build-")
    for region in buckets:
        assert f"replicated to {region}" in run.stdout
        assert f"rolled out in {region}" in run.stdout
        assert f"{hosts_per_region}/{hosts_per_region}" in run.stdout
    assert run.stderr == ""


def test_a_build_that_never_builds_ends_in_failure_with_its_reason():
    run = deployctl("build", FAILING_COMMIT_PREFIX + secrets.token_hex(16), "--wait", "--json")
    assert run.returncode == 1, run.stderr + run.stdout
    view = json.loads(run.stdout)
    assert view["deploymentStatus"] == "FAILED"
    assert "simulated compile error" in view["failureReason"]


def test_watch_follows_a_build_submitted_elsewhere_and_status_is_the_api_view(api):
    # Given a build submitted by deployctl without waiting
    submitted = deployctl("build", secrets.token_hex(20), "--json")
    assert submitted.returncode == 0, submitted.stderr
    build_id = json.loads(submitted.stdout)["buildId"]
    # When another deployctl watches it
    watched = deployctl("watch", build_id, "--json")
    # Then it sees it deployed, and `status --json` is exactly what the API answers
    assert watched.returncode == 0, watched.stderr
    assert json.loads(watched.stdout)["deploymentStatus"] == "DEPLOYED"
    status = deployctl("status", build_id, "--json")
    assert status.returncode == 0, status.stderr
    code, view = http("GET", f"{api}/builds/{build_id}")
    assert code == 200
    assert json.loads(status.stdout) == view
    table = deployctl("status", build_id)
    assert build_id in table.stdout and "DEPLOYED" in table.stdout


def test_mistakes_are_one_line_errors_with_exit_status_2():
    cases = {
        ("build", "NOT-A-COMMIT"): "commit: must be 7 to 64 lowercase hex digits",
        ("status", "build-20260101T000000Z-00000000"): "no build build-20260101T000000Z-00000000",
        ("--stack", "no-such-stack", "builds"): "no stack 'no-such-stack' on the emulator at",
        ("logs", "build-20260101T000000Z-00000000"): "no build build-20260101T000000Z-00000000",
    }
    for args, message in cases.items():
        run = deployctl(*args)
        assert run.returncode == 2, (args, run.stdout, run.stderr)
        assert message in run.stderr, (args, run.stderr)
        assert run.stderr.count("\n") == 1 and "Traceback" not in run.stderr, run.stderr


def test_builds_lists_the_newest_first_a_page_at_a_time(api):
    # Given three builds submitted one after the other
    submitted = []
    for _ in range(3):
        run = deployctl("build", secrets.token_hex(20), "--json")
        assert run.returncode == 0, run.stderr
        submitted.append(json.loads(run.stdout)["buildId"])
    # When deployctl lists the three newest
    listed = deployctl("builds", "--limit", "3", "--json")
    # Then they are those three, newest first
    assert listed.returncode == 0, listed.stderr
    assert [build["buildId"] for build in json.loads(listed.stdout)["builds"]] == list(reversed(submitted))
    # and the API's pages of one chain through them by cursor, each build once
    seen, cursor = [], None
    for _ in range(3):
        code, page = http("GET", f"{api}/builds?limit=1" + (f"&cursor={cursor}" if cursor else ""))
        assert code == 200, page
        seen += [build["buildId"] for build in page["builds"]]
        cursor = page["nextCursor"]
    assert seen == list(reversed(submitted))
    table = deployctl("builds", "--limit", "3")
    assert all(build_id in table.stdout for build_id in submitted), table.stdout
    assert "older builds: deployctl builds --cursor " in table.stdout


def test_logs_shows_a_builds_lines_from_every_function_of_every_region_in_time_order(stack_outputs, buckets):
    # Given a build that went to every host
    built = deployctl("build", secrets.token_hex(20), "--wait", "--json")
    assert built.returncode == 0, built.stderr
    build_id = json.loads(built.stdout)["buildId"]
    regions = set(buckets)
    home = boto3.session.Session().region_name  # the global stack's region

    # When deployctl reads its logs (a function's lines reach CloudWatch Logs when its invocation ends,
    # so the last copy's or rollout's may come a little after the build is DEPLOYED)
    def every_stage_logged() -> list[dict] | None:
        run = deployctl("logs", build_id, "--json")
        assert run.returncode == 0, run.stderr
        lines = json.loads(run.stdout)["lines"]
        seen = {(line["function"], line["region"]) for line in lines}
        wanted = {
            ("ApiFunction", home),
            ("BuildWorkerFunction", home),
            ("ReplicationStarterFunction", home),
            ("RegionalCopyFunction", home),
            ("ReplicationStateMachine", home),
        } | {("RegionalSyncFunction", region) for region in regions}
        copies = sum(line["message"] == "copy done" for line in lines)
        return lines if wanted <= seen and copies >= len(regions) else None

    lines = wait_for(every_stage_logged, f"the log lines of {build_id} from every function and region", timeout=60)
    # Then they are the build's alone, oldest first, one copy per region and one rollout per region
    assert [line["at"] for line in lines] == sorted(line["at"] for line in lines)
    messages = [(line["function"], line["message"]) for line in lines if line["function"] != "ReplicationStateMachine"]
    assert messages[0] == ("ApiFunction", "build queued")
    assert messages.count(("RegionalCopyFunction", "copy done")) == len(regions)
    rollouts = [line for line in lines if line["message"] == "rollout done"]
    assert sorted(line["region"] for line in rollouts) == sorted(regions)
    assert all(line["fields"]["hosts"] > 0 for line in rollouts)
    # and the terminal view is one line each, with where and which function
    table = deployctl("logs", build_id)
    assert table.returncode == 0, table.stderr
    assert len(table.stdout.splitlines()) >= len(lines)
    assert any("RegionalSyncFunction" in row and "rollout done" in row for row in table.stdout.splitlines())
