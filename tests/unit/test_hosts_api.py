"""GET /regions/{region}/hosts and the real hosts' counts in GET /regions[/{region}], through the API's handler
over moto, with host items written by the agent's own code (code_deploy_agent.host_item), as real agents
write them; the hosts view's rules (lost, state, paging) directly."""

from __future__ import annotations

import json
import time

import boto3
import pytest

from code_deploy import paging
from code_deploy.hosts import fleet, view
from code_deploy.hosts.fleet import FleetHost
from code_deploy_agent import host_item as agent_items
from code_deploy_agent.aws_region import AwsRegion
from tests.unit.conftest import HOST_LOST_AFTER_SECONDS, HOSTS_PER_REGION, REGIONS, STACK
from tests.utils import api_event, load_handler

REGION = "us-west-2"
DEPLOYMENT = "deploy-20261206T000000Z-0000000a"
BUILD, OLD = "build-20261206T000000Z-0000000b", "build-20261201T000000Z-0000000c"
LONG_AGO = 10 * HOST_LOST_AFTER_SECONDS


@pytest.fixture
def api(stack):
    return load_handler("api")


@pytest.fixture
def fleet_table(stack):
    return stack.fleet(REGION)


def register(table, host_id: str, group: str = "web", silent_for: float = 0, current: str | None = OLD) -> None:
    """What an agent writes when it starts (through its own attribute builder and writer), its last
    heartbeat `silent_for` seconds ago; and the group noted, as the fleet table's stream function does."""
    attributes = agent_items.registration(
        host_id=host_id,
        group=group,
        region=REGION,
        zone=f"{REGION}a",
        address="127.0.0.1",
        app_port=8000,
        agent_version="0.1.0",
        now=time.time() - silent_for,
        state=agent_items.IDLE,
        current_build_id=current,
        previous_build_id=None,
    )
    AwsRegion(REGION, table.name, "no-bucket").update_host(host_id, attributes)
    fleet.note_group(table, group)


def report(table, host_id: str, outcome: agent_items.Report) -> None:
    current = outcome.build_id if outcome.status == agent_items.DEPLOYED else OLD
    AwsRegion(REGION, table.name, "no-bucket").update_host(
        host_id, agent_items.outcome(outcome, current, OLD if current != OLD else None)
    )


def simulated_hosts_ran(region: str, hosts_by_build: dict[str, int]) -> None:
    """The region's sync's counts of the simulated hosts, in the regions table."""
    boto3.resource("dynamodb").Table(f"{STACK}-regions").put_item(
        Item={"region": region, "goalBuildId": BUILD, "hostsByBuild": hosts_by_build}
    )


def get(api, context, path: str, **query) -> tuple[int, dict]:
    query = {name: str(value) for name, value in query.items() if value is not None}
    event = api_event("GET", path)
    event["queryStringParameters"] = query or None
    event["multiValueQueryStringParameters"] = {name: [value] for name, value in query.items()} or None
    response = api.lambda_handler(event, context)
    return response["statusCode"], json.loads(response["body"])


def test_a_regions_real_hosts_are_listed_with_state_heartbeat_and_last_report(api, fleet_table, context):
    # Given three agents of group web: one deployed the build, one failed its validation, one silent for long
    for host in ("web-1", "web-2", "web-3"):
        register(fleet_table, host, silent_for=LONG_AGO if host == "web-3" else 0)
    report(
        fleet_table,
        "web-1",
        agent_items.Report(DEPLOYMENT, 1, BUILD, "DEPLOYED", download_seconds=0.25, download_bytes=4096, at="t1"),
    )
    failed = agent_items.Report(
        DEPLOYMENT, 1, BUILD, "FAILED", "hook-failed", "validate_service", 7, "x" * 3000 + "curl: connection refused"
    )
    report(fleet_table, "web-2", failed)
    simulated_hosts_ran(REGION, {BUILD: 150, OLD: 50})

    # When a client lists the region's hosts
    status, answer = get(api, context, f"/regions/{REGION}/hosts")

    # Then each real host is there, with its state, builds, heartbeat and last report
    assert status == 200, answer
    hosts = {host["hostId"]: host for host in answer["hosts"]}
    assert list(hosts) == ["web-1", "web-2", "web-3"]
    assert {host: view["state"] for host, view in hosts.items()} == {
        "web-1": "deployed",
        "web-2": "failed",
        "web-3": "lost",
    }
    assert (hosts["web-1"]["currentBuildId"], hosts["web-1"]["previousBuildId"]) == (BUILD, OLD)
    assert (hosts["web-2"]["currentBuildId"], hosts["web-2"]["previousBuildId"]) == (OLD, None)
    assert hosts["web-1"]["lastReport"] == {
        "deploymentId": DEPLOYMENT,
        "wave": 1,
        "buildId": BUILD,
        "status": "DEPLOYED",
        "reason": None,
        "hook": None,
        "exitCode": None,
        "outputTail": None,
        "downloadSeconds": 0.25,
        "downloadBytes": 4096,
        "drift": False,
        "at": "t1",
    }
    failure = hosts["web-2"]["lastReport"]
    assert (failure["reason"], failure["hook"], failure["exitCode"]) == ("hook-failed", "validate_service", 7)
    assert len(failure["outputTail"]) == 2048 and failure["outputTail"].endswith("curl: connection refused")
    assert hosts["web-3"]["lastReport"] is None
    assert {host["group"] for host in hosts.values()} == {"web"}
    assert hosts["web-1"]["zone"] == f"{REGION}a" and hosts["web-1"]["address"] == "127.0.0.1"
    assert hosts["web-1"]["appPort"] == 8000 and hosts["web-1"]["agentVersion"] == "0.1.0"
    assert hosts["web-1"]["heartbeatAt"].endswith("Z") and hosts["web-1"]["registeredAt"].endswith("Z")
    assert hosts["web-3"]["heartbeatAt"] < hosts["web-1"]["heartbeatAt"]
    # and the simulated hosts are summarised, not listed
    assert answer["simulated"]["group"] == "simulated"
    assert answer["simulated"]["hostsTotal"] == HOSTS_PER_REGION
    assert answer["simulated"]["hostsByBuild"] == {BUILD: 150, OLD: 50}
    assert "not listed" in answer["simulated"]["note"]
    assert (answer["region"], answer["group"], answer["nextCursor"]) == (REGION, None, None)
    assert answer["lostAfterSeconds"] == HOST_LOST_AFTER_SECONDS


def test_a_host_that_failed_then_returned_in_the_rollback_keeps_what_failed(api, fleet_table, context):
    # Given a host whose validation failed, which then reported its return to the build before
    register(fleet_table, "web-1")
    failed = agent_items.Report(DEPLOYMENT, 1, BUILD, "FAILED", "hook-failed", "validate_service", 1, "unhealthy")
    report(fleet_table, "web-1", failed)
    report(fleet_table, "web-1", agent_items.Report(DEPLOYMENT, 0, OLD, "DEPLOYED"))

    status, answer = get(api, context, f"/regions/{REGION}/hosts")

    # Then its last report is the return, and its last failure says which hook failed and why
    (host,) = answer["hosts"]
    assert (status, host["state"], host["lastReport"]["buildId"]) == (200, "deployed", OLD)
    assert (host["lastFailure"]["buildId"], host["lastFailure"]["hook"]) == (BUILD, "validate_service")
    assert host["lastFailure"]["outputTail"] == "unhealthy"


def test_a_region_without_real_hosts_lists_none_and_its_simulated_hosts(api, stack, context):
    status, answer = get(api, context, "/regions/eu-west-1/hosts")
    assert status == 200, answer
    assert answer["hosts"] == [] and answer["nextCursor"] is None
    assert answer["simulated"] == {
        "group": "simulated",
        "hostsTotal": HOSTS_PER_REGION,
        "hostsByBuild": {},
        "note": "simulated hosts are counted per build, not listed host by host",
    }


def test_every_host_of_every_group_is_listed_once_a_page_at_a_time(api, fleet_table, context):
    # Given 7 hosts in two groups
    expected = [("api", f"api-{n}") for n in range(3)] + [("web", f"web-{n}") for n in range(4)]
    for group, host in expected:
        register(fleet_table, host, group=group)
    # When a client reads pages of 3 from the first on
    listed, cursor, pages = [], None, 0
    while True:
        status, answer = get(api, context, f"/regions/{REGION}/hosts", limit=3, cursor=cursor)
        assert status == 200, answer
        listed += [(host["group"], host["hostId"]) for host in answer["hosts"]]
        pages += 1
        cursor = answer["nextCursor"]
        if cursor is None:
            break
    # Then it got every host once, by group then host id, in three pages
    assert listed == expected
    assert pages == 3


def test_a_group_is_listed_alone_and_its_cursor_is_its_own(api, fleet_table, context):
    for group, host in [("api", "api-0"), ("web", "web-0"), ("web", "web-1"), ("web", "web-2")]:
        register(fleet_table, host, group=group)
    status, first = get(api, context, f"/regions/{REGION}/hosts", group="web", limit=2)
    assert status == 200, first
    assert [host["hostId"] for host in first["hosts"]] == ["web-0", "web-1"]
    assert first["group"] == "web" and first["simulated"] is None
    status, second = get(api, context, f"/regions/{REGION}/hosts", group="web", limit=2, cursor=first["nextCursor"])
    assert [host["hostId"] for host in second["hosts"]] == ["web-2"] and second["nextCursor"] is None
    # A cursor of one group does not continue another
    status, refused = get(api, context, f"/regions/{REGION}/hosts", group="api", cursor=first["nextCursor"])
    assert (
        status == 422
        and "cursor: not a cursor this API gave out (it continues group web, not api)" in refused["message"]
    )
    # The simulated group is its summary alone
    status, simulated = get(api, context, f"/regions/{REGION}/hosts", group="simulated")
    assert status == 200 and simulated["hosts"] == [] and simulated["simulated"]["hostsTotal"] == HOSTS_PER_REGION


@pytest.mark.parametrize(
    "query,message",
    [
        ({"cursor": "not-a-cursor"}, "cursor: not a cursor this API gave out"),
        ({"cursor": view.HostCursor("web", "").encode()}, "cursor: not a cursor this API gave out (bad group or host)"),
        ({"limit": 0}, "limit"),
        ({"limit": paging.MAX_PAGE_SIZE + 1}, "limit"),
        ({"group": "g" * 129}, "group"),
    ],
)
def test_a_bad_page_or_group_is_refused(api, stack, context, query, message):
    status, answer = get(api, context, f"/regions/{REGION}/hosts", **query)
    assert status == 422 and message in answer["message"], answer


def test_an_unknown_region_has_no_hosts_to_list(api, stack, context):
    status, answer = get(api, context, "/regions/mars-north-1/hosts")
    assert status == 404
    assert answer["message"] == f"no region mars-north-1: the regions are {', '.join(REGIONS)}"
    # as GET /regions/{region} answers
    assert get(api, context, "/regions/mars-north-1") == (404, answer)


def test_a_regions_counts_add_its_live_real_hosts_and_count_the_lost_apart(api, fleet_table, context):
    # Given simulated hosts counted per build, and real hosts: two on the build, one on the old one, one
    # with nothing installed, and two lost
    simulated_hosts_ran(REGION, {BUILD: 150, OLD: 50})
    for host, group, current, silent_for in [
        ("web-1", "web", BUILD, 0),
        ("api-1", "api", BUILD, 0),
        ("web-2", "web", OLD, 0),
        ("web-3", "web", None, 0),
        ("web-4", "web", BUILD, LONG_AGO),
        ("api-2", "api", OLD, LONG_AGO),
    ]:
        register(fleet_table, host, group=group, current=current, silent_for=silent_for)

    # When a client reads the regions
    status, listed = get(api, context, "/regions")
    status_one, one = get(api, context, f"/regions/{REGION}")

    # Then the region counts live hosts only, simulated and real, and its lost real hosts apart
    assert (status, status_one) == (200, 200)
    region = {view["region"]: view for view in listed["regions"]}[REGION]
    assert region == one
    assert region["hostsByBuild"] == {BUILD: 152, OLD: 51}
    assert region["hostsTotal"] == HOSTS_PER_REGION + 4
    assert region["hostsLost"] == 2
    # and a region without real hosts has its simulated ones alone
    other = {view["region"]: view for view in listed["regions"]}["eu-west-1"]
    assert (other["hostsTotal"], other["hostsByBuild"], other["hostsLost"]) == (HOSTS_PER_REGION, {}, 0)


def test_the_answer_for_no_route_names_the_hosts_routes(api, stack, context):
    status, answer = get(api, context, f"/regions/{REGION}/hosts/web-1/logs")
    assert status == 404
    for route in ("GET /regions/{region}/hosts,", "GET /regions/{region}/hosts/{hostId}", "GET /regions/{region}/grid"):
        assert route in answer["message"]


# --- the rules, without the API ----------------------------------------------------------------------------


def a_host(heartbeat_at: float, state: str = "DOWNLOADING") -> FleetHost:
    return FleetHost("h", "web", REGION, "a", "127.0.0.1", 1, "0.1.0", "t", heartbeat_at, state)


@pytest.mark.parametrize(
    "silent_for,state,shown",
    [
        (0, "DOWNLOADING", "downloading"),
        (0, "INSTALLING", "installing"),
        (0, "IDLE", "idle"),
        (0, "DEPLOYED", "deployed"),
        (0, "FAILED", "failed"),
        (90, "DEPLOYED", "deployed"),  # silent for exactly the lost-after time: not lost yet
        (90.5, "DEPLOYED", "lost"),
        (90.5, "INSTALLING", "lost"),
    ],
)
def test_a_hosts_state_is_its_agents_until_it_is_silent_past_the_lost_after_time(silent_for, state, shown):
    now = 1_000_000.0
    assert view.host_state(a_host(now - silent_for, state), now, lost_after=90) == shown


def test_a_cursor_goes_round_trip_and_a_forged_one_is_refused():
    cursor = view.HostCursor("web", "us-west-2-agent-007")
    assert view.HostCursor.decode(cursor.encode()) == cursor
    for forged in ("", "e30", cursor.encode() + "x" * paging.MAX_CURSOR_CHARS, "bm90IGpzb24"):
        with pytest.raises(paging.InvalidCursor):
            view.HostCursor.decode(forged)


def test_a_page_of_a_group_reads_each_shard_only_as_far_as_the_page_reaches(fleet_table):
    # Given 40 hosts of one group, spread over the index's 16 shards
    for number in range(40):
        register(fleet_table, f"host-{number:03d}")
    # When pages of 5 are read from the first on
    pages, after = [], None
    while True:
        page, more = fleet.group_hosts_page(fleet_table, "web", after, 5)
        pages.append([host.host_id for host in page])
        if not more:
            break
        after = page[-1].host_id
    # Then they hold every host once, in host id order
    assert [host for page in pages for host in page] == [f"host-{n:03d}" for n in range(40)]
    assert all(len(page) == 5 for page in pages)
