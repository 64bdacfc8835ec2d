"""deployctl hosts without a stack: a region's real hosts and its simulated ones, against the API faked at the
HTTP boundary (Api.send), so the requests deployctl makes are checked along with what it prints."""

from __future__ import annotations

import json

import pytest

from deployctl import cli, host_view
from tests.unit.test_deployctl_deployments import AT, BUILD_ID, DEPLOYMENT_ID, OLD_BUILD_ID, FakeApi, run

REGION = "us-west-2"
HOSTS_PATH = f"/regions/{REGION}/hosts"


@pytest.fixture(autouse=True)
def no_instance_metadata(monkeypatch):
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def a_report(status: str = "DEPLOYED", **fields) -> dict:
    return {
        "deploymentId": DEPLOYMENT_ID,
        "wave": 1,
        "buildId": BUILD_ID,
        "status": status,
        "reason": None,
        "hook": None,
        "exitCode": None,
        "outputTail": None,
        "downloadSeconds": 0.5,
        "downloadBytes": 1048576,
        "drift": False,
        "at": AT,
        **fields,
    }


def a_host(host_id: str, state: str = "deployed", report: dict | None = None, **fields) -> dict:
    """A host of GET /regions/{region}/hosts, as the contract gives it."""
    return {
        "hostId": host_id,
        "group": "fleet",
        "zone": f"{REGION}a",
        "address": "127.0.0.1",
        "appPort": 41234,
        "agentVersion": "0.1.0",
        "state": state,
        "currentBuildId": BUILD_ID,
        "previousBuildId": OLD_BUILD_ID,
        "registeredAt": AT,
        "heartbeatAt": AT,
        "lastReport": report,
        **fields,
    }


FAILED_OUTPUT = (
    "starting\n" + "x" * 100 + "\ncurl: (7) Failed to connect to 127.0.0.1 port 41235: Connection refused\n\n"
)
HOSTS_ANSWER = {
    "region": REGION,
    "group": None,
    "lostAfterSeconds": 90.0,
    "hosts": [
        a_host("us-west-2-fleet-001", report=a_report()),
        a_host(
            "us-west-2-fleet-002",
            "failed",
            a_report("FAILED", reason="hook-failed", hook="validate_service", exitCode=7, outputTail=FAILED_OUTPUT),
            currentBuildId=OLD_BUILD_ID,
            previousBuildId=None,
        ),
        a_host("us-west-2-fleet-003", "lost", None, currentBuildId=None, previousBuildId=None),
    ],
    "nextCursor": None,
    "simulated": {
        "group": "simulated",
        "hostsTotal": 1000,
        "hostsByBuild": {BUILD_ID: 700, OLD_BUILD_ID: 300},
        "note": "simulated hosts are counted per build, not listed host by host",
    },
}


def cells(row: str) -> list[str]:
    return [cell.strip() for cell in row.strip("│").split("│")]


def test_hosts_shows_each_real_host_and_counts_the_simulated_ones(monkeypatch):
    # Given a region with a deployed, a failed and a lost real host, and simulated hosts
    api = FakeApi({("GET", HOSTS_PATH): [(200, HOSTS_ANSWER)]})
    # When deployctl lists the region's hosts
    code, output = run(api, monkeypatch, "hosts", REGION)
    # Then every real host has its row: state, builds whole, the last report and a failed hook's last words
    assert code == cli.EXIT_OK
    assert "hosts of us-west-2 (lost: no heartbeat for 90 s)" in output
    rows = output.splitlines()
    deployed = rows.index(next(row for row in rows if row.startswith("│ us-west-2-fleet-001")))
    assert cells(rows[deployed]) == [
        "us-west-2-fleet-001",
        "fleet",
        "us-west-2a",
        "deployed",
        BUILD_ID,
        "DEPLOYED",
        "-",
    ]
    assert cells(rows[deployed + 1])[4:6] == [OLD_BUILD_ID, "2026-11-23 10:15:00"]  # the previous build, under it
    failed = rows.index(next(row for row in rows if row.startswith("│ us-west-2-fleet-002")))
    assert cells(rows[failed])[3:6] == ["failed", OLD_BUILD_ID, "FAILED hook-failed"]
    assert cells(rows[failed + 1])[4:6] == ["-", "validate_service exit 7"]
    # the failed hook's last line, shortened from the left, wrapped in its column
    tail = " ".join(cells(row)[6] for row in rows[failed : failed + 3]).strip()
    assert tail == "…" + FAILED_OUTPUT.strip().splitlines()[-1][-(host_view.OUTPUT_TAIL_CHARS - 1) :]
    assert cells(next(row for row in rows if row.startswith("│ us-west-2-fleet-003")))[3:7] == ["lost", "-", "-", "-"]
    # and the simulated hosts in a line: counted per build, not listed
    assert f"simulated: 1,000 simulated hosts (700 on {BUILD_ID}, 300 on {OLD_BUILD_ID}), counted, not listed" in output
    assert api.sent == [("GET", HOSTS_PATH, None, {"group": None, "limit": cli.MAX_PAGE_SIZE, "cursor": None})]


def test_hosts_json_is_the_apis_answer(monkeypatch):
    api = FakeApi({("GET", HOSTS_PATH): [(200, HOSTS_ANSWER)]})
    code, output = run(api, monkeypatch, "hosts", REGION, "--json")
    assert (code, json.loads(output)) == (cli.EXIT_OK, HOSTS_ANSWER)


def test_hosts_follows_the_cursor_up_to_the_limit_and_says_where_the_rest_starts(monkeypatch):
    # Given a group of 120 hosts, which the API gives 50 a page
    hosts = [a_host(f"h-{number:03d}") for number in range(120)]

    def page(start: int, size: int, cursor: str | None) -> tuple[int, dict]:
        end = start + size
        return 200, {
            **HOSTS_ANSWER,
            "group": "fleet",
            "hosts": hosts[start:end],
            "nextCursor": cursor,
            "simulated": None,
        }

    api = FakeApi({("GET", HOSTS_PATH): [page(0, 50, "c50"), page(50, 40, "c90")]})
    # When deployctl lists 90 of them
    code, output = run(api, monkeypatch, "hosts", REGION, "--group", "fleet", "--limit", "90", "--json")
    # Then it asked page after page, the last one only as large as needed, and answers them as one
    assert code == cli.EXIT_OK
    assert [query for _, _, _, query in api.sent] == [
        {"group": "fleet", "limit": 50, "cursor": None},
        {"group": "fleet", "limit": 40, "cursor": "c50"},
    ]
    answer = json.loads(output)
    assert [host["hostId"] for host in answer["hosts"]] == [f"h-{number:03d}" for number in range(90)]
    assert answer["nextCursor"] == "c90" and answer["simulated"] is None
    # and the table says how to see the rest
    api = FakeApi({("GET", HOSTS_PATH): [page(0, 50, "c50"), page(50, 40, "c90")]})
    output = run(api, monkeypatch, "hosts", REGION, "--group", "fleet", "--limit", "90")[1]
    assert "more hosts: deployctl hosts us-west-2 --group fleet --cursor c90" in output


def test_a_region_without_real_hosts_says_so(monkeypatch):
    answer = {**HOSTS_ANSWER, "hosts": [], "simulated": {**HOSTS_ANSWER["simulated"], "hostsByBuild": {}}}
    api = FakeApi({("GET", HOSTS_PATH): [(200, answer)]})
    output = run(api, monkeypatch, "hosts", REGION)[1]
    assert "no real hosts in us-west-2" in output
    assert "1,000 simulated hosts (none deployed to yet)" in output


def test_an_unknown_region_is_the_apis_404(monkeypatch, capsys):
    api = FakeApi({("GET", "/regions/mars-1/hosts"): [(404, {"statusCode": 404, "message": "no region mars-1"})]})
    assert run(api, monkeypatch, "hosts", "mars-1")[0] == cli.EXIT_ERROR
    assert capsys.readouterr().err == "deployctl: GET /regions/mars-1/hosts answered 404: no region mars-1\n"


@pytest.mark.parametrize(
    "output,shown",
    [
        (None, "-"),
        ("", "-"),
        ("one line\n", "one line"),
        ("the last words\n\n   \n", "the last words"),
        ("y" * 100, "…" + "y" * 59),
    ],
)
def test_a_failed_hooks_output_is_shortened_to_its_last_line(output, shown):
    assert host_view.output_tail({"outputTail": output}) == shown


def test_a_host_back_on_the_build_before_shows_what_failed_in_that_deployment():
    failure = a_report("FAILED", reason="hook-failed", hook="validate_service", exitCode=1, outputTail="unhealthy\n")
    returned = a_report(wave=0, buildId=OLD_BUILD_ID)
    earlier = a_report("FAILED", deploymentId="deploy-earlier", outputTail="long ago")

    assert host_view.failure_of(a_host("h", report=returned, lastFailure=failure)) == failure
    assert host_view.failure_of(a_host("h", report=failure)) == failure
    # a failure of an earlier deployment is not this one's
    assert host_view.failure_of(a_host("h", report=returned, lastFailure=earlier)) is None
    assert host_view.failure_of(a_host("h", report=None)) is None
