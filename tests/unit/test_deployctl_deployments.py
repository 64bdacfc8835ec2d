"""deployctl's deployment commands without a stack: deploy (and --plan, --wait), deployments, pause, resume,
promote, abort, regions and watch of a deployment, against the API faked at the HTTP boundary (Api.send),
so the requests deployctl makes are checked along with what it prints and its exit status."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError
from rich.console import Console

from deployctl import cli
from deployctl.api import Api, Target
from deployctl.deployment_view import outcome

BUILD_ID = "build-20261123T014547Z-06418f7e"
OLD_BUILD_ID = "build-20261122T090000Z-0badc0de"
DEPLOYMENT_ID = "deploy-20261123T101500Z-0a1b2c3d"
REGIONS = ("us-west-2", "eu-west-1", "ap-southeast-2")
AT = "2026-11-23T10:15:00.000Z"


@pytest.fixture(autouse=True)
def no_instance_metadata(monkeypatch):
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def region_view(status: str = "PENDING", updated: int = 0, failed: int = 0, wave: int = 0, **fields) -> dict:
    return {
        "status": status,
        "hostsTotal": 1000,
        "hostsUpdated": updated,
        "hostsFailed": failed,
        "hostsPending": 1000 - updated - failed,
        "wave": wave,
        "waves": 3,
        "startedAt": AT if wave else None,
        "completedAt": None,
        "predictedSeconds": 4.25,
        "modelSeconds": 1.5 * wave,
        "reason": None,
        **fields,
    }


def deployment(status: str = "IN_PROGRESS", regions: dict | None = None, **fields) -> dict:
    """GET /deployments/{id} as the contract gives it."""
    return {
        "deploymentId": DEPLOYMENT_ID,
        "buildId": BUILD_ID,
        "status": status,
        "reason": None,
        "trigger": "api",
        "createdAt": AT,
        "updatedAt": AT,
        "completedAt": None,
        "predictedSeconds": 12.5,
        "modelSeconds": 3.0,
        "spec": {
            "regions": list(REGIONS),
            "waves": [10, 50, 100],
            "bakeSeconds": 30,
            "regionWaves": [["us-west-2"], ["eu-west-1", "ap-southeast-2"]],
            "maxFailurePercent": 5,
            "simulate": {"hostFailurePercent": 0, "seed": 1},
        },
        # The API's order need not be the deployment's: the views follow the spec's region waves.
        "regions": regions if regions is not None else {name: region_view() for name in reversed(REGIONS)},
        "history": [{"status": "QUEUED", "at": AT, "reason": None}],
        **fields,
    }


def everywhere(**region_fields) -> dict:
    return {name: region_view(**region_fields) for name in REGIONS}


PLAN = {
    "buildId": BUILD_ID,
    "artifactBytes": 1_049_081,
    "regionWaves": [["us-west-2"], ["eu-west-1", "ap-southeast-2"]],
    "regions": [
        {
            "region": name,
            "hostsTotal": 1000,
            "waves": [
                {"wave": 1, "cumulativePercent": 10.0, "hosts": 100, "hostsHolding": 0, "predictedSeconds": 0.011},
                {"wave": 2, "cumulativePercent": 50.0, "hosts": 400, "hostsHolding": 100, "predictedSeconds": 0.012},
                {"wave": 3, "cumulativePercent": 100.0, "hosts": 500, "hostsHolding": 500, "predictedSeconds": 0.013},
            ],
            "predictedSeconds": 60.036,
            "rollbackSeconds": 0.002,
        }
        for name in REGIONS
    ],
    "regionWaveSeconds": [60.036, 60.036],
    "predictedSeconds": 120.072,
}

REGIONS_ANSWER = {
    "regions": [
        {
            "region": "us-west-2",
            "goalBuildId": BUILD_ID,
            "goalDeploymentId": DEPLOYMENT_ID,
            "previousBuildId": OLD_BUILD_ID,
            "hostsTotal": 1000,
            "hostsByBuild": {OLD_BUILD_ID: 300, BUILD_ID: 700},
            "hostsLost": 2,
            "updatedAt": AT,
        },
        {
            "region": "eu-west-1",
            "goalBuildId": None,
            "goalDeploymentId": None,
            "previousBuildId": None,
            "hostsTotal": 1000,
            "hostsByBuild": {},
            "hostsLost": 0,
            "updatedAt": None,
        },
    ]
}

Answer = tuple[int, dict] | Callable[[dict | None], tuple[int, dict]]


class FakeApi(Api):
    """The API answering each (method, path) with its scripted answers in turn (the last one repeats);
    every request it was sent is kept, with its query and body."""

    def __init__(self, routes: dict[tuple[str, str], list[Answer]]) -> None:
        super().__init__(Target())
        self.routes = routes
        self.sent: list[tuple[str, str, Any, Any]] = []

    def send(self, method, path, body=None, query=None, headers=None):
        self.sent.append((method, path, body, query))
        answers = self.routes.get((method, path))
        if answers is None:
            return 404, {"message": f"no route for {method} {path}"}
        answer = answers[0] if len(answers) == 1 else answers.pop(0)
        return answer(body) if callable(answer) else answer


def run(api: FakeApi, monkeypatch, *argv: str) -> tuple[int, str]:
    monkeypatch.setattr(cli, "Api", lambda target: api)
    monkeypatch.setattr(cli, "POLL_SECONDS", 0)
    output = io.StringIO()
    code = cli.main(list(argv), console=Console(file=output, width=200, force_terminal=False))
    return code, output.getvalue()


# --- deploy ------------------------------------------------------------------------------------------------


def test_deploy_sends_exactly_the_options_given_and_prints_the_deployment_id(monkeypatch):
    # Given the API accepting a deployment
    accepted = {
        "deploymentId": DEPLOYMENT_ID,
        "buildId": BUILD_ID,
        "status": "QUEUED",
        "statusUrl": f"/deployments/{DEPLOYMENT_ID}",
        "predictedSeconds": 12.5,
    }
    api = FakeApi({("POST", "/deployments"): [(202, accepted)]})
    # When deployctl deploys with every option
    code, output = run(
        api,
        monkeypatch,
        "deploy",
        BUILD_ID,
        "--waves",
        "10,50,100",
        "--bake",
        "30",
        "--regions",
        "us-west-2,eu-west-1",
        "--region-waves",
        "us-west-2;eu-west-1",
        "--max-failure-percent",
        "2.5",
        "--simulate-failures",
        "60",
        "--seed",
        "7",
    )
    # Then the body is the contract's, with integral percents as integers (bakeSeconds must be one)
    assert code == cli.EXIT_OK
    assert api.sent == [
        (
            "POST",
            "/deployments",
            {
                "buildId": BUILD_ID,
                "regions": ["us-west-2", "eu-west-1"],
                "waves": [10, 50, 100],
                "bakeSeconds": 30,
                "regionWaves": [["us-west-2"], ["eu-west-1"]],
                "maxFailurePercent": 2.5,
                "simulate": {"hostFailurePercent": 60.0, "seed": 7},
            },
            None,
        )
    ]
    # and it says which deployment, and how to follow it
    assert output == (
        f"queued {DEPLOYMENT_ID} (build {BUILD_ID}, predicted 12.50 s); "
        f"follow it with: deployctl watch {DEPLOYMENT_ID}\n"
    )
    assert json.loads(run(api, monkeypatch, "deploy", BUILD_ID, "--json")[1]) == accepted


def test_deploy_leaves_the_defaults_to_the_api():
    args = cli.parser().parse_args(["deploy", BUILD_ID])
    assert cli.deployment_request(args) == {"buildId": BUILD_ID}
    args = cli.parser().parse_args(["deploy", BUILD_ID, "--waves", "12.5,100", "--simulate-failures", "10"])
    assert cli.deployment_request(args) == {
        "buildId": BUILD_ID,
        "waves": [12.5, 100],
        "simulate": {"hostFailurePercent": 10.0},
    }


@pytest.mark.parametrize(
    ("argv", "complaint"),
    [
        (["--waves", "10,fifty"], "cumulative percents separated by commas"),
        (["--waves", "10,nan,100"], "cumulative percents separated by commas"),
        (["--regions", "us-west-2,,eu-west-1"], "region names separated by commas"),
        (["--region-waves", "us-west-2;"], "region waves separated by semicolons"),
        (["--plan", "--wait"], "not allowed with argument"),
    ],
)
def test_deploy_options_that_cannot_be_read_are_usage_errors(argv, complaint, capsys):
    with pytest.raises(SystemExit) as exited:
        cli.parser().parse_args(["deploy", BUILD_ID, *argv])
    assert exited.value.code == 2
    assert complaint in capsys.readouterr().err


def test_a_seed_without_simulated_failures_is_a_one_line_error(monkeypatch, capsys):
    api = FakeApi({})
    code, _ = run(api, monkeypatch, "deploy", BUILD_ID, "--seed", "3")
    assert code == cli.EXIT_ERROR
    assert capsys.readouterr().err == (
        "deployctl: --seed picks the hosts --simulate-failures makes fail: give both, or neither\n"
    )
    assert api.sent == []


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (404, "no build build-20261123T014547Z-06418f7e"),
        (409, "build build-20261123T014547Z-06418f7e is not in every target region's bucket: eu-west-1 missing"),
        (422, "waves: must be strictly increasing and end at 100"),
    ],
)
def test_a_refused_deployment_is_the_apis_message_on_one_line(status, message, monkeypatch, capsys):
    api = FakeApi({("POST", "/deployments"): [(status, {"statusCode": status, "message": message})]})
    code, output = run(api, monkeypatch, "deploy", BUILD_ID)
    assert code == cli.EXIT_ERROR
    assert output == ""
    assert capsys.readouterr().err == f"deployctl: POST /deployments answered {status}: {message}\n"


def test_deploy_plan_prints_each_regions_waves_and_the_totals_and_deploys_nothing(monkeypatch):
    api = FakeApi({("POST", "/deployments/plan"): [(200, PLAN)]})
    code, output = run(
        api, monkeypatch, "deploy", BUILD_ID, "--plan", "--waves", "10,50,100", "--region-waves", "us-west-2;eu-west-1"
    )
    assert code == cli.EXIT_OK
    assert [(method, path) for method, path, _, _ in api.sent] == [("POST", "/deployments/plan")]
    assert api.sent[0][2]["regionWaves"] == [["us-west-2"], ["eu-west-1"]]
    assert f"plan of {BUILD_ID} (1,049,081 byte artifact)" in output
    rows = output.splitlines()
    # one row per wave: its share, its hosts, those already holding the build, its predicted time
    cells = [[cell.strip() for cell in row.strip("│").split("│")] for row in rows if row.startswith("│")]
    assert cells[0] == ["us-west-2", "1/3", "10 %", "100", "0", "11.0 ms", ""]
    assert cells[2] == ["", "3/3", "100 %", "500", "500", "13.0 ms", ""]
    # each region's total with its rollback time, the region waves in order, and the whole
    assert cells[3] == ["", "total", "", "1,000", "", "60.04 s", "2.0 ms"]
    assert sum(cell[1] == "total" for cell in cells) == 3
    assert any("region wave 1" in row and "us-west-2" in row and "60.04 s" in row for row in rows)
    assert any("region wave 2" in row and "eu-west-1, ap-southeast-2" in row for row in rows)
    assert any("predicted" in row and "120.07 s" in row for row in rows)
    code, output = run(api, monkeypatch, "deploy", BUILD_ID, "--plan", "--json")
    assert json.loads(output) == PLAN


def test_deploy_wait_follows_the_deployment_to_success(monkeypatch):
    # Given a deployment that goes wave by wave to every host
    accepted = {"deploymentId": DEPLOYMENT_ID, "buildId": BUILD_ID, "status": "QUEUED", "predictedSeconds": 12.5}
    done = deployment(
        "SUCCEEDED",
        everywhere(status="SUCCEEDED", updated=1000, wave=3),
        modelSeconds=12.25,
        completedAt=AT,
    )
    api = FakeApi(
        {
            ("POST", "/deployments"): [(202, accepted)],
            ("GET", f"/deployments/{DEPLOYMENT_ID}"): [
                (200, deployment("QUEUED")),
                (200, deployment(regions=everywhere(status="BAKING", updated=100, wave=1))),
                (503, {"message": "busy"}),
                (200, done),
            ],
        }
    )
    # When deploy --wait runs
    code, output = run(api, monkeypatch, "deploy", BUILD_ID, "--waves", "10,50,100", "--wait")
    # Then it polled through the hiccup to the end, each region's bar full at wave 3/3
    assert code == cli.EXIT_OK
    assert len([sent for sent in api.sent if sent[0] == "GET"]) == 4
    lines = output.splitlines()
    assert lines[0] == f"queued {DEPLOYMENT_ID} (build {BUILD_ID}, predicted 12.50 s)"
    for name in REGIONS:
        assert any(
            name in line and "1000/1000" in line and "wave 3/3" in line and "SUCCEEDED" in line for line in lines
        )
    assert any(line.startswith("deployment") and "3000/3000" in line for line in lines)
    # in the order of the region waves, whatever the API's order
    assert [name for line in lines for name in REGIONS if line.startswith(name)] == list(REGIONS)
    assert lines[-1] == (
        f"SUCCESS: {DEPLOYMENT_ID} of {BUILD_ID} updated 3,000 hosts in 3 regions; "
        "model time 12.25 s (predicted 12.50 s)"
    )


@pytest.mark.parametrize("final", ["ROLLED_BACK", "ABORTED", "SUPERSEDED", "FAILED"])
def test_watching_a_deployment_that_does_not_succeed_prints_its_reason_and_exits_1(final, monkeypatch):
    # (brackets included: a reason is text, never rich markup)
    reason = "us-west-2 wave 1: 61.0% of hosts failed (over 5%) [seed 1]; rolled back to " + OLD_BUILD_ID
    regions = everywhere(status="ROLLED_BACK", updated=0, failed=0, wave=1)
    regions["us-west-2"]["hostsFailed"] = 61
    api = FakeApi({("GET", f"/deployments/{DEPLOYMENT_ID}"): [(200, deployment(final, regions, reason=reason))]})
    code, output = run(api, monkeypatch, "watch", DEPLOYMENT_ID)
    assert code == cli.EXIT_FAILED
    assert output.splitlines()[-1] == f"{final}: {DEPLOYMENT_ID} of {BUILD_ID}: {reason}"
    assert any(line.startswith("us-west-2") and "(61 failed)" in line for line in output.splitlines())


def test_watch_json_prints_the_final_deployment_only(monkeypatch):
    final = deployment("SUCCEEDED", everywhere(status="SUCCEEDED", updated=1000, wave=3))
    api = FakeApi({("GET", f"/deployments/{DEPLOYMENT_ID}"): [(200, deployment()), (200, final)]})
    code, output = run(api, monkeypatch, "watch", DEPLOYMENT_ID, "--json")
    assert code == cli.EXIT_OK
    assert json.loads(output) == final


def test_watching_a_deployment_still_running_at_the_timeout_exits_1(monkeypatch, capsys):
    api = FakeApi({("GET", f"/deployments/{DEPLOYMENT_ID}"): [(200, deployment("PAUSED"))]})
    code, _ = run(api, monkeypatch, "watch", DEPLOYMENT_ID, "--timeout", "0")
    assert code == cli.EXIT_FAILED
    assert capsys.readouterr().err == f"TIMEOUT: {DEPLOYMENT_ID} still PAUSED after 0 s\n"


def test_watching_an_unknown_deployment_is_a_one_line_error(monkeypatch, capsys):
    path = f"/deployments/{DEPLOYMENT_ID}"
    api = FakeApi({("GET", path): [(404, {"statusCode": 404, "message": f"no deployment {DEPLOYMENT_ID}"})]})
    code, _ = run(api, monkeypatch, "watch", DEPLOYMENT_ID)
    assert code == cli.EXIT_ERROR
    assert capsys.readouterr().err == f"deployctl: GET {path} answered 404: no deployment {DEPLOYMENT_ID}\n"


def test_watch_still_follows_a_build(monkeypatch):
    api = FakeApi({})
    followed = []
    monkeypatch.setattr(cli, "follow", lambda api, build_id, *rest: followed.append(build_id) or 0)
    assert run(api, monkeypatch, "watch", BUILD_ID)[0] == cli.EXIT_OK
    assert followed == [BUILD_ID]


def test_outcome_of_a_running_deployment_is_not_finished():
    assert not outcome(deployment("PAUSED")).finished
    assert outcome(deployment("ABORTED")).message.endswith(": no reason given")


# --- deployments ---------------------------------------------------------------------------------------


def summary(number: int, status: str = "SUCCEEDED") -> dict:
    return {
        "deploymentId": f"deploy-20261123T1015{number:02d}Z-0a1b2c3d",
        "buildId": BUILD_ID,
        "status": status,
        "reason": None,
        "trigger": "auto" if number % 2 else "api",
        "createdAt": f"2026-11-23T10:15:{number:02d}.000Z",
        "completedAt": None,
        "regions": list(REGIONS),
        "statusUrl": f"/deployments/deploy-20261123T1015{number:02d}Z-0a1b2c3d",
    }


def test_deployments_lists_newest_first_following_the_cursor(monkeypatch):
    # Given the API's pages of two, then one with no cursor after it
    first = {"deployments": [summary(5), summary(4, "ROLLED_BACK")], "nextCursor": "c1"}
    second = {"deployments": [summary(3, "IN_PROGRESS")]}
    api = FakeApi({("GET", "/deployments"): [(200, first), (200, second)]})
    # When deployctl lists three in pages of at most... well, what the API gives
    code, output = run(api, monkeypatch, "deployments", "--limit", "3", "--json")
    # Then it asked for what was left each time, from the cursor on, and lists them in the API's order
    assert code == cli.EXIT_OK
    assert [query for *_, query in api.sent] == [{"limit": 3, "cursor": None}, {"limit": 1, "cursor": "c1"}]
    listed = json.loads(output)
    assert [item["deploymentId"] for item in listed["deployments"]] == [summary(n)["deploymentId"] for n in (5, 4, 3)]
    assert listed["nextCursor"] is None


def test_deployments_table_and_where_the_older_ones_are(monkeypatch):
    page = {"deployments": [summary(5), summary(4, "ROLLED_BACK")], "nextCursor": "c1"}
    page["deployments"][1]["reason"] = "eu-west-1 wave 1: 60.0% of hosts failed [over 5%]"
    api = FakeApi({("GET", "/deployments"): [(200, page)]})
    code, output = run(api, monkeypatch, "deployments", "--limit", "2")
    assert code == cli.EXIT_OK
    assert api.sent[0][3] == {"limit": 2, "cursor": None}
    assert "deployments, newest first" in output
    rows = [row for row in output.splitlines() if "deploy-2026" in row]
    assert rows[0].index("1505Z") and "SUCCEEDED" in rows[0] and "auto" in rows[0]
    assert "ROLLED_BACK" in rows[1] and "api" in rows[1] and "eu-west-1 wave 1" in rows[1]
    assert "[over 5%]" in output  # a reason is text, never rich markup
    assert "us-west-2, eu-west-1, ap-southeast-2" in output
    assert output.splitlines()[-1] == "older deployments: deployctl deployments --cursor c1"


def test_one_deployments_detail_shows_each_region_and_the_history(monkeypatch):
    # Given a deployment half way: us-west-2 done, eu-west-1 in its second wave with failures, one skipped
    regions = {
        "ap-southeast-2": region_view("SKIPPED", reason="not in the deployment's regions"),
        "eu-west-1": region_view("IN_PROGRESS", updated=480, failed=20, wave=2),
        "us-west-2": region_view("SUCCEEDED", updated=1000, wave=3, completedAt=AT),
    }
    view = deployment(
        "IN_PROGRESS",
        regions,
        reason=None,
        history=[
            {"status": "QUEUED", "at": "2026-11-23T10:15:00.000Z", "reason": None},
            {"status": "IN_PROGRESS", "at": "2026-11-23T10:15:01.000Z", "reason": None},
            {"status": "PAUSED", "at": "2026-11-23T10:15:02.000Z", "reason": "paused through the API"},
            {"status": "IN_PROGRESS", "at": "2026-11-23T10:15:03.000Z", "reason": "resumed through the API"},
        ],
    )
    view["spec"]["simulate"] = {"hostFailurePercent": 2, "seed": 9}
    api = FakeApi({("GET", f"/deployments/{DEPLOYMENT_ID}"): [(200, view)]})
    # When its detail is shown
    code, output = run(api, monkeypatch, "deployments", DEPLOYMENT_ID)
    # Then the header says what, how far and how long
    assert code == cli.EXIT_OK
    assert DEPLOYMENT_ID in output and BUILD_ID in output and "(trigger: api)" in output
    assert "1,480/3,000 updated, 20 failed" in output
    assert "model 3.00 s so far, predicted 12.50 s" in output
    assert "waves 10,50,100 %; bake 30 s; max failures 5 %" in output
    assert "region waves us-west-2 → eu-west-1, ap-southeast-2" in output
    assert "simulated failures 2 % (seed 9)" in output
    # each region: status, wave i/n, updated/total, failed, pending, predicted and model seconds, in order
    rows = output.splitlines()
    row = next(row for row in rows if row.startswith("│ eu-west-1"))
    cells = [cell.strip() for cell in row.strip("│").split("│")]
    assert cells == ["eu-west-1", "IN_PROGRESS", "2/3", "480/1,000", "20", "500", "4.25 s", "3.00 s", ""]
    order = [
        name for row in rows for name in ("us-west-2", "eu-west-1", "ap-southeast-2") if row.startswith(f"│ {name}")
    ]
    assert order == ["us-west-2", "eu-west-1", "ap-southeast-2"]
    assert "not in the deployment's regions" in output
    # and the history, each change with its time and reason
    assert "resumed through the API" in output and "2026-11-23T10:15:02.000Z" in output
    # --json is the API's answer
    assert json.loads(run(api, monkeypatch, "deployments", DEPLOYMENT_ID, "--json")[1]) == view


def test_a_finished_deployments_reason_is_shown(monkeypatch):
    reason = "eu-west-1 wave 1: 60.0% of hosts failed (over 5%)"
    view = deployment("ROLLED_BACK", everywhere(status="ROLLED_BACK", wave=1), reason=reason, completedAt=AT)
    api = FakeApi({("GET", f"/deployments/{DEPLOYMENT_ID}"): [(200, view)]})
    code, output = run(api, monkeypatch, "deployments", DEPLOYMENT_ID)
    assert code == cli.EXIT_OK
    assert f"reason      {reason}" in output


# --- pause, resume, promote, abort ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "status"),
    [("pause", "PAUSED"), ("resume", "IN_PROGRESS"), ("promote", "IN_PROGRESS"), ("abort", "IN_PROGRESS")],
)
def test_an_action_prints_the_new_status_on_one_line(action, status, monkeypatch):
    path = f"/deployments/{DEPLOYMENT_ID}/{action}"
    api = FakeApi({("POST", path): [(202, {"deploymentId": DEPLOYMENT_ID, "status": status})]})
    code, output = run(api, monkeypatch, action, DEPLOYMENT_ID)
    assert code == cli.EXIT_OK
    assert api.sent == [("POST", path, {}, None)]
    assert output == f"{action}: {DEPLOYMENT_ID} is now {status}\n"
    code, output = run(api, monkeypatch, action, DEPLOYMENT_ID, "--json")
    assert json.loads(output) == {"deploymentId": DEPLOYMENT_ID, "status": status}


def test_an_action_that_does_not_apply_prints_the_apis_message_and_exits_non_zero(monkeypatch, capsys):
    message = f"{DEPLOYMENT_ID} is SUCCEEDED: a finished deployment cannot be resumed"
    path = f"/deployments/{DEPLOYMENT_ID}/resume"
    api = FakeApi({("POST", path): [(409, {"statusCode": 409, "message": message})]})
    code, output = run(api, monkeypatch, "resume", DEPLOYMENT_ID)
    assert code == cli.EXIT_ERROR
    assert output == ""
    assert capsys.readouterr().err == f"deployctl: {message}\n"


def test_an_action_on_an_unknown_deployment_is_a_one_line_error(monkeypatch, capsys):
    api = FakeApi({})
    code, _ = run(api, monkeypatch, "abort", "deploy-nope/../../builds")
    assert code == cli.EXIT_ERROR
    # the id stays one path segment
    assert api.sent[0][1] == "/deployments/deploy-nope%2F..%2F..%2Fbuilds/abort"
    err = capsys.readouterr().err
    assert err.startswith("deployctl: POST /deployments/deploy-nope%2F..%2F..%2Fbuilds/abort answered 404")
    assert err.count("\n") == 1


# --- regions -------------------------------------------------------------------------------------------


def test_regions_shows_each_regions_goal_and_hosts_per_build(monkeypatch):
    api = FakeApi({("GET", "/regions"): [(200, REGIONS_ANSWER)]})
    code, output = run(api, monkeypatch, "regions")
    assert code == cli.EXIT_OK
    rows = output.splitlines()
    west = next(index for index, row in enumerate(rows) if row.startswith("│ us-west-2"))
    # most hosts first, the goal build marked, each build on a line of its own
    assert BUILD_ID in rows[west] and OLD_BUILD_ID in rows[west]  # the deployment that set it: in --json
    assert f"700 {BUILD_ID} (goal)" in rows[west]
    assert f"300 {OLD_BUILD_ID}" in rows[west + 1]
    # the live hosts, and the lost real hosts apart
    assert [cell.strip() for cell in rows[west].strip("│").split("│")][3:5] == ["1,000", "2"]
    east = next(row for row in rows if row.startswith("│ eu-west-1"))
    assert [cell.strip() for cell in east.strip("│").split("│")] == ["eu-west-1", "-", "-", "1,000", "-", "-"]
    assert json.loads(run(api, monkeypatch, "regions", "--json")[1]) == REGIONS_ANSWER


def test_one_region(monkeypatch, capsys):
    one = REGIONS_ANSWER["regions"][0]
    api = FakeApi(
        {
            ("GET", "/regions/us-west-2"): [(200, one)],
            ("GET", "/regions/mars-1"): [(404, {"statusCode": 404, "message": "no region mars-1"})],
        }
    )
    code, output = run(api, monkeypatch, "regions", "us-west-2", "--json")
    assert (code, json.loads(output)) == (cli.EXIT_OK, one)
    assert f"700 {BUILD_ID} (goal)" in run(api, monkeypatch, "regions", "us-west-2")[1]
    capsys.readouterr()
    assert run(api, monkeypatch, "regions", "mars-1")[0] == cli.EXIT_ERROR
    assert capsys.readouterr().err == "deployctl: GET /regions/mars-1 answered 404: no region mars-1\n"


# --- every new command -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["deploy", BUILD_ID],
        ["deploy", BUILD_ID, "--plan"],
        ["deployments"],
        ["deployments", DEPLOYMENT_ID],
        ["pause", DEPLOYMENT_ID],
        ["resume", DEPLOYMENT_ID],
        ["promote", DEPLOYMENT_ID],
        ["abort", DEPLOYMENT_ID],
        ["regions"],
        ["watch", DEPLOYMENT_ID],
    ],
)
def test_every_deployment_command_says_run_make_demo_when_the_emulator_is_not_up(argv, capsys, monkeypatch):
    # Given no emulator answering (test_deployctl's no-emulator test reaches a closed port for real; here
    # CloudFormation refuses at once, rather than after botocore's retries, for every command)
    endpoint = "http://127.0.0.1:4566"

    class Unreachable:
        def describe_stacks(self, **_):
            raise EndpointConnectionError(endpoint_url=endpoint)

    monkeypatch.setattr(Api, "client", lambda self, service, region=None: Unreachable())
    # When any deployment command runs, Then it says what to do in one line
    code = cli.main([*argv, "--endpoint-url", endpoint])
    assert code == cli.EXIT_ERROR
    assert capsys.readouterr().err == f"deployctl: cannot reach the emulator at {endpoint}: run `make demo` first\n"


def test_every_deployment_command_takes_json():
    for argv in (
        ["deploy", BUILD_ID],
        ["deployments"],
        ["pause", DEPLOYMENT_ID],
        ["resume", DEPLOYMENT_ID],
        ["promote", DEPLOYMENT_ID],
        ["abort", DEPLOYMENT_ID],
        ["regions"],
    ):
        assert cli.parser().parse_args([*argv, "--json"]).json
        assert cli.parser().parse_args(["--json", *argv]).json


# --- alarms, approvals, freezes, rollback ------------------------------------------------------------------


def test_deploy_sends_the_alarms_the_approvals_and_a_freeze_override(monkeypatch):
    accepted = {"deploymentId": DEPLOYMENT_ID, "buildId": BUILD_ID, "status": "QUEUED", "predictedSeconds": 1.0}
    api = FakeApi({("POST", "/deployments"): [(202, accepted | {"statusUrl": f"/deployments/{DEPLOYMENT_ID}"})]})
    argv = ["deploy", BUILD_ID, "--alarms", "checkout-5xx,latency", "--on-gate-failure", "pause"]
    code, _ = run(api, monkeypatch, *argv, "--approval-required", "2", "--override-freeze", "security fix")
    assert code == cli.EXIT_OK
    assert api.sent[0][2] == {
        "buildId": BUILD_ID,
        "alarms": ["checkout-5xx", "latency"],
        "onGateFailure": "pause",
        "approvalRequired": [2],
        "freezeOverride": {"reason": "security fix"},
    }


def test_freeze_and_unfreeze_say_what_they_did_in_one_line(monkeypatch):
    frozen = {"service": None, "reason": "incident 42", "frozenBy": "arn:aws:iam::1:user/ops", "frozenAt": "t"}
    lifted = {"lifted": frozen | {"pausedDeployments": [DEPLOYMENT_ID]}, "liftedBy": "x", "liftedAt": "t"}
    api = FakeApi({("POST", "/freeze"): [(200, frozen)], ("DELETE", "/freeze"): [(200, lifted)]})
    code, output = run(api, monkeypatch, "freeze", "incident 42", "--until", "2027-01-04T09:00:00Z")
    assert (code, output.strip()) == (cli.EXIT_OK, "frozen: incident 42 (by arn:aws:iam::1:user/ops)")
    assert api.sent[0][2] == {"reason": "incident 42", "until": "2027-01-04T09:00:00Z"}
    code, output = run(api, monkeypatch, "unfreeze")
    assert (code, output.strip()) == (cli.EXIT_OK, f"unfrozen; resumed: {DEPLOYMENT_ID}")


@pytest.mark.parametrize(("action", "status"), [("rollback", "ROLLING_BACK"), ("approve", "IN_PROGRESS")])
def test_rollback_and_approve_print_the_new_status(action, status, monkeypatch):
    path = f"/deployments/{DEPLOYMENT_ID}/{action}"
    api = FakeApi({("POST", path): [(202, {"deploymentId": DEPLOYMENT_ID, "status": status})]})
    code, output = run(api, monkeypatch, action, DEPLOYMENT_ID)
    assert (code, output.strip()) == (cli.EXIT_OK, f"{action}: {DEPLOYMENT_ID} is now {status}")
