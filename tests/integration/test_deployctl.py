"""deployctl, the installed console script (.venv/deployctl/bin/deployctl), against the deployed stack:
it finds the API from the stack's outputs and signs every request, as a user's terminal would."""

from __future__ import annotations

import json
import re
import secrets
import subprocess

import boto3

from tests.integration.helpers import deployctl, deployment, http, wait_for

FAILING_COMMIT_PREFIX = "deadbeef"  # the template's SimulatedFailingCommitPrefix


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


# --- deployments (the deployments API of issue 11) ------------------------------------------------------------

QUEUED_LINE = re.compile(r"^queued (deploy-\S+) \(build (build-\S+), predicted [0-9.]+ m?s\)")
LONG_BAKE = "600"  # seconds: a deployment that only a pause, a promote or an abort ends within a test


def built() -> str:
    """A build that reached every host of every region, so it is in every region's bucket: deployable."""
    run = deployctl("build", secrets.token_hex(20), "--wait", "--json")
    assert run.returncode == 0, run.stderr + run.stdout
    return json.loads(run.stdout)["buildId"]


def two_builds() -> tuple[str, str]:
    """An older and a newer build; the hosts run the newer, so deploying the older updates every host."""
    older = built()
    return older, built()


def wait_for_status(api: str, deployment_id: str, *statuses: str) -> dict:
    return wait_for(
        lambda: (view := deployment(api, deployment_id))["status"] in statuses and view,
        f"{deployment_id} {' or '.join(statuses)}",
    )


def start_deployment(build_id: str, *options: str) -> str:
    run = deployctl("deploy", build_id, *options, "--json")
    assert run.returncode == 0, run.stderr + run.stdout
    accepted = json.loads(run.stdout)
    assert accepted["status"] == "QUEUED" and accepted["statusUrl"] == f"/deployments/{accepted['deploymentId']}"
    return accepted["deploymentId"]


def regions_now() -> dict[str, dict]:
    run = deployctl("regions", "--json")
    assert run.returncode == 0, run.stderr
    return {region["region"]: region for region in json.loads(run.stdout)["regions"]}


def assert_one_line_error(run: subprocess.CompletedProcess, *fragments: str) -> None:
    assert run.returncode == 2, (run.args, run.stdout, run.stderr)
    assert all(fragment in run.stderr for fragment in fragments), run.stderr
    assert run.stderr.count("\n") == 1 and "Traceback" not in run.stderr, run.stderr


def test_deploy_plan_is_the_apis_plan_and_deploys_nothing(api, buckets, hosts_per_region):
    # Given a deployable build
    build_id = built()
    regions = list(buckets)
    options = ("--waves", "10,50,100", "--bake", "2", "--region-waves", f"{regions[0]};{','.join(regions[1:])}")
    # When deployctl plans its deployment
    planned = deployctl("deploy", build_id, *options, "--plan", "--json")
    # Then it is what the API plans for the same body
    assert planned.returncode == 0, planned.stderr
    body = {"buildId": build_id, "waves": [10, 50, 100], "bakeSeconds": 2, "regionWaves": [regions[:1], regions[1:]]}
    code, plan = http("POST", f"{api}/deployments/plan", body)
    assert code == 200, plan
    assert json.loads(planned.stdout) == plan
    # and the table shows each region's waves, its total and the whole
    table = deployctl("deploy", build_id, *options, "--plan")
    assert table.returncode == 0, table.stderr
    for region in regions:
        assert any(row.startswith(f"│ {region}") and "1/3" in row for row in table.stdout.splitlines()), table.stdout
    assert table.stdout.count("total") == len(regions)
    assert "region wave 2" in table.stdout and "predicted" in table.stdout
    # and nothing was deployed: no deployment of it is listed
    listed = deployctl("deployments", "--limit", "20", "--json")
    assert listed.returncode == 0, listed.stderr
    assert not any(
        item["buildId"] == build_id and item["trigger"] == "api" for item in json.loads(listed.stdout)["deployments"]
    )


def test_deploy_wait_rolls_a_build_out_wave_by_wave_and_the_regions_run_it(api, buckets, hosts_per_region):
    # Given two builds, the hosts on the newer
    older, newer = two_builds()
    # When deployctl deploys the older in three waves and follows it
    run = deployctl("deploy", older, "--waves", "10,50,100", "--wait")
    # Then it ends SUCCESS with every region's bar full at wave 3/3
    assert run.returncode == 0, run.stderr + run.stdout
    lines = run.stdout.strip().splitlines()
    queued = QUEUED_LINE.match(lines[0])
    assert queued and queued.group(2) == older, lines[0]
    deployment_id = queued.group(1)
    assert lines[-1].startswith(f"SUCCESS: {deployment_id} of {older} updated "), lines[-1]
    for region in buckets:
        assert any(
            line.startswith(region) and f"{hosts_per_region}/{hosts_per_region}" in line and "wave 3/3" in line
            for line in lines
        ), run.stdout
    assert run.stderr == ""
    # and `deployments <id> --json` is the API's view of it: every host of every region updated
    detail = deployctl("deployments", deployment_id, "--json")
    assert detail.returncode == 0, detail.stderr
    view = json.loads(detail.stdout)
    assert view == deployment(api, deployment_id)
    assert (view["status"], view["trigger"], view["spec"]["waves"]) == ("SUCCEEDED", "api", [10, 50, 100])
    assert view["completedAt"] and view["modelSeconds"] > 0 and view["predictedSeconds"] > 0
    assert set(view["regions"]) == set(buckets)
    for region in view["regions"].values():
        assert (region["status"], region["wave"], region["waves"]) == ("SUCCEEDED", 3, 3)
        assert (region["hostsUpdated"], region["hostsFailed"], region["hostsPending"]) == (hosts_per_region, 0, 0)
    assert [change["status"] for change in view["history"]][-1] == "SUCCEEDED"
    table = deployctl("deployments", deployment_id)
    assert table.returncode == 0, table.stderr
    assert all(region in table.stdout for region in buckets) and "SUCCEEDED" in table.stdout
    assert "predicted" in table.stdout and "model" in table.stdout
    # and it is the newest deployment listed
    listed = deployctl("deployments", "--limit", "3", "--json")
    assert listed.returncode == 0, listed.stderr
    newest = json.loads(listed.stdout)["deployments"][0]
    assert (newest["deploymentId"], newest["buildId"], newest["status"]) == (deployment_id, older, "SUCCEEDED")
    assert newest["statusUrl"] == f"/deployments/{deployment_id}"
    assert deployment_id in deployctl("deployments", "--limit", "3").stdout
    # and every region's goal is the older build, which all its hosts run
    regions = regions_now()
    for name in buckets:
        assert regions[name]["goalBuildId"] == older
        assert regions[name]["goalDeploymentId"] == deployment_id
        assert regions[name]["previousBuildId"] == newer
        assert regions[name]["hostsByBuild"].get(older) == regions[name]["hostsTotal"] == hosts_per_region
    one = deployctl("regions", next(iter(buckets)), "--json")
    assert one.returncode == 0, one.stderr
    assert json.loads(one.stdout) == regions[next(iter(buckets))]
    table = deployctl("regions")
    assert table.returncode == 0, table.stderr
    assert f"{older} (goal)" in table.stdout
    # and watching a finished deployment answers at once
    watched = deployctl("watch", deployment_id, "--json", timeout=30)
    assert watched.returncode == 0, watched.stderr
    assert json.loads(watched.stdout)["status"] == "SUCCEEDED"


def assert_every_host_back_on(newer: str, older: str, buckets) -> None:
    """Once no host of any region runs `older` (the deployment's rollback settled), every host runs `newer`."""
    regions = wait_for(
        lambda: (
            (regions := regions_now())
            and all(regions[name]["hostsByBuild"].get(older, 0) == 0 for name in buckets)
            and regions
        ),
        f"every host of every region off {older}",
    )
    for name in buckets:
        assert regions[name]["hostsByBuild"].get(newer) == regions[name]["hostsTotal"]


def act(action: str, deployment_id: str) -> None:
    """`deployctl <action>` on the deployment: it succeeds and says the deployment's status now."""
    done = deployctl(action, deployment_id)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"{action}: {deployment_id} is now "), done.stdout


def test_a_deployment_with_too_many_failures_rolls_back_and_exits_non_zero(api, buckets):
    # Given two builds, the hosts on the newer
    older, newer = two_builds()
    # When the older is deployed with 60 % of hosts failing and 5 % allowed
    run = deployctl("deploy", older, "--simulate-failures", "60", "--seed", "1", "--max-failure-percent", "5", "--wait")
    # Then it ends ROLLED_BACK, saying why, with exit status 1
    assert run.returncode == 1, run.stderr + run.stdout
    deployment_id = QUEUED_LINE.match(run.stdout).group(1)
    view = deployment(api, deployment_id)
    assert view["status"] == "ROLLED_BACK" and view["reason"]
    assert run.stdout.strip().splitlines()[-1] == f"ROLLED_BACK: {deployment_id} of {older}: {view['reason']}"
    # and once settled, every host is back on the newer build
    assert_every_host_back_on(newer, older, buckets)


def test_pause_resume_and_promote_do_what_they_say(api, buckets):
    # Given a deployment in three waves with a long bake after each
    older, _ = two_builds()
    deployment_id = start_deployment(older, "--waves", "10,50,100", "--bake", LONG_BAKE)
    wait_for_status(api, deployment_id, "IN_PROGRESS")
    # When it is paused: it says so, and stays PAUSED
    act("pause", deployment_id)
    wait_for_status(api, deployment_id, "PAUSED")
    # When it is resumed, it runs again; and a deployment that is not PAUSED cannot be resumed: the API's
    # reason, on one line
    resumed = deployctl("resume", deployment_id, "--json")
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["deploymentId"] == deployment_id
    wait_for_status(api, deployment_id, "IN_PROGRESS")
    assert_one_line_error(deployctl("resume", deployment_id))
    # When it is promoted, it skips the bakes left and succeeds long before they would have ended
    act("promote", deployment_id)
    watched = deployctl("watch", deployment_id, "--timeout", "90")
    assert watched.returncode == 0, watched.stderr + watched.stdout
    assert watched.stdout.strip().splitlines()[-1].startswith(f"SUCCESS: {deployment_id}")
    history = [change["status"] for change in deployment(api, deployment_id)["history"]]
    assert "PAUSED" in history and history[-1] == "SUCCEEDED"
    # and nothing applies to a finished deployment: each refusal is the API's reason, on one line
    for action in ("pause", "resume", "promote", "abort"):
        assert_one_line_error(deployctl(action, deployment_id))


def test_abort_stops_a_deployment_and_rolls_it_back(api, buckets):
    # Given a deployment waiting out a long bake, the hosts on the newer build before it
    older, newer = two_builds()
    deployment_id = start_deployment(older, "--waves", "10,50,100", "--bake", LONG_BAKE)
    wait_for_status(api, deployment_id, "IN_PROGRESS")
    # When it is aborted
    act("abort", deployment_id)
    # Then watching it ends ABORTED, with its reason and exit status 1
    watched = deployctl("watch", deployment_id, "--timeout", "90")
    assert watched.returncode == 1, watched.stderr + watched.stdout
    assert watched.stdout.strip().splitlines()[-1].startswith(f"ABORTED: {deployment_id} of {older}: ")
    # and no host is left on the aborted build
    assert_every_host_back_on(newer, older, buckets)


def test_a_later_deployment_supersedes_an_earlier_one_which_watch_reports(api, buckets, hosts_per_region):
    # Given a deployment of the older build waiting out a long bake
    older, newer = two_builds()
    earlier = start_deployment(older, "--waves", "10,50,100", "--bake", LONG_BAKE)
    wait_for_status(api, earlier, "IN_PROGRESS")
    # When the newer build is deployed over it, to the end
    later = deployctl("deploy", newer, "--wait")
    assert later.returncode == 0, later.stderr + later.stdout
    # Then the earlier ends SUPERSEDED: watch says so and exits 1, and every host runs the newer build
    watched = deployctl("watch", earlier, "--timeout", "90")
    assert watched.returncode == 1, watched.stderr + watched.stdout
    assert watched.stdout.strip().splitlines()[-1].startswith(f"SUPERSEDED: {earlier} of {older}: ")
    regions = regions_now()
    for name in buckets:
        assert regions[name]["goalBuildId"] == newer
        running = {build_id: hosts for build_id, hosts in regions[name]["hostsByBuild"].items() if hosts}
        assert running == {newer: hosts_per_region}, (name, running)


def test_deployment_mistakes_are_one_line_errors_with_exit_status_2(buckets):
    unknown_build = "build-20260101T000000Z-00000000"
    unknown_deployment = "deploy-20260101T000000Z-00000000"
    cases = {
        ("deploy", unknown_build): "POST /deployments answered 404",
        ("deploy", unknown_build, "--plan"): "POST /deployments/plan answered 404",
        ("deploy", "x", "--waves", "60,40,100"): "strictly increasing",
        ("deploy", unknown_build, "--regions", "mars-1"): "answered 422",
        ("deployments", unknown_deployment): f"GET /deployments/{unknown_deployment} answered 404",
        ("watch", unknown_deployment): f"GET /deployments/{unknown_deployment} answered 404",
        ("pause", unknown_deployment): f"POST /deployments/{unknown_deployment}/pause answered 404",
        ("abort", unknown_deployment): f"POST /deployments/{unknown_deployment}/abort answered 404",
        ("regions", "mars-1"): "GET /regions/mars-1 answered 404",
    }
    for args, message in cases.items():
        assert_one_line_error(deployctl(*args), message)
