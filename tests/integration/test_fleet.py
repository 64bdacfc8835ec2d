"""Real hosts against the deployed stack: a small fleet of code-deploy-agent processes started with
tools/fleet.py (as `make fleet` starts one), listed by GET /regions/{region}/hosts and `deployctl hosts`,
one of its agents then stopped for good and shown lost. Every agent (and app) is stopped at the end
(helpers.local_agents)."""

from __future__ import annotations

import json
import time
from datetime import datetime

import pytest

from tests.integration.helpers import deployctl, http, listed_lost, local_agents, wait_for
from tools import fleet as local_fleet

GROUP = "itest"  # a group of this test's own: its hosts are the same two, run after run
AGENTS = 2
# The agents' heartbeat (tools/fleet.py): a live agent's is never much older.
HEARTBEAT_SLACK_SECONDS = 3 * local_fleet.HEARTBEAT_SECONDS


@pytest.fixture(scope="module")
def fleet_dir(tmp_path_factory, fleet_table):
    base_dir = tmp_path_factory.mktemp("fleet")
    with local_agents(fleet_table, GROUP, base_dir):
        yield base_dir


@pytest.fixture(scope="module")
def host_ids(fleet_dir, region) -> list[str]:
    registered = local_fleet.start(agents=AGENTS, group=GROUP, base_dir=fleet_dir, only_regions=[region], timeout=60)
    assert list(registered) == [region]
    return registered[region]


def epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def hosts_page(api: str, region: str, **query) -> dict:
    query_string = "&".join(f"{name}={value}" for name, value in query.items())
    status, answer = http("GET", f"{api}/regions/{region}/hosts" + (f"?{query_string}" if query_string else ""))
    assert status == 200, answer
    return answer


def every_host(api: str, region: str) -> list[dict]:
    hosts, cursor = [], None
    while True:
        answer = hosts_page(api, region, **({"cursor": cursor} if cursor else {}))
        hosts += answer["hosts"]
        cursor = answer["nextCursor"]
        if not cursor:
            return hosts


def without_heartbeats(answer: dict) -> dict:
    """The answer but for what changes every few seconds by itself: each host's heartbeat."""
    return {**answer, "hosts": [{**host, "heartbeatAt": None} for host in answer["hosts"]]}


def test_the_fleets_agents_are_listed_with_their_state_and_heartbeat(api, region, host_ids):
    # Given two agents of the group registered in the region
    assert host_ids == [f"{region}-{GROUP}-{number:03d}" for number in range(1, AGENTS + 1)]
    # When a client lists the group's hosts
    answer = hosts_page(api, region, group=GROUP)
    # Then both are there, idle (their group has no goal), heartbeating
    assert [host["hostId"] for host in answer["hosts"]] == host_ids
    for host in answer["hosts"]:
        assert (host["group"], host["address"], host["state"]) == (GROUP, "127.0.0.1", "idle"), host
        assert host["appPort"] > 0 and host["agentVersion"] and host["zone"].startswith(region)
        assert time.time() - epoch(host["heartbeatAt"]) < HEARTBEAT_SLACK_SECONDS, host
        assert host["lastReport"] is None and host["currentBuildId"] is None
    assert answer["simulated"] is None and answer["nextCursor"] is None
    # And the region's whole listing has them too, once the fleet table's stream has noted the group
    wait_for(
        lambda: {host["hostId"] for host in every_host(api, region) if host["group"] == GROUP} == set(host_ids),
        f"{GROUP} among every group of {region}",
        timeout=30,
    )


def test_deployctl_hosts_json_is_the_apis_answer(api, region, host_ids):
    run = deployctl("hosts", region, "--group", GROUP, "--json")
    assert run.returncode == 0, run.stderr
    assert without_heartbeats(json.loads(run.stdout)) == without_heartbeats(hosts_page(api, region, group=GROUP))
    table = deployctl("hosts", region, "--group", GROUP)
    assert table.returncode == 0, table.stderr
    assert all(host_id in table.stdout for host_id in host_ids)


def test_an_agent_stopped_for_good_is_lost_and_counted_apart(api, region, host_ids, fleet_dir, fleet_table):
    # Given the fleet started again with its first agent only: the second is stopped for good
    assert local_fleet.stop(fleet_dir) == 0
    again = local_fleet.start(agents=1, group=GROUP, base_dir=fleet_dir, only_regions=[region], timeout=60)
    assert again == {region: host_ids[:1]}
    stopped = host_ids[1]
    # When it has been silent past the region's lost-after time
    # Then it is listed lost, the other one live
    assert listed_lost(api, fleet_table, region, GROUP, stopped) == {host_ids[0]: "idle", stopped: "lost"}
    # And the region counts its lost hosts apart from its live ones, as its listing has them
    listed = every_host(api, region)
    status, view = http("GET", f"{api}/regions/{region}")
    assert status == 200, view
    simulated = hosts_page(api, region, group="simulated")["simulated"]
    live = [host for host in listed if host["state"] != "lost"]
    assert view["hostsLost"] == len(listed) - len(live) >= 1
    assert view["hostsTotal"] == simulated["hostsTotal"] + len(live)
    real_by_build: dict[str, int] = {}
    for host in live:
        if host["currentBuildId"]:
            real_by_build[host["currentBuildId"]] = real_by_build.get(host["currentBuildId"], 0) + 1
    builds = set(real_by_build) | set(simulated["hostsByBuild"])
    assert view["hostsByBuild"] == {
        build: real_by_build.get(build, 0) + simulated["hostsByBuild"].get(build, 0) for build in builds
    }
