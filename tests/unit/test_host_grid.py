"""GET /regions/{region}/grid (every host of a region, compactly, for the dashboard's grid) and
GET /regions/{region}/hosts/{hostId} (one real host in full), through the API's handler over moto; the runs'
rule directly."""

from __future__ import annotations

import pytest

from code_deploy.hosts import grid, store
from code_deploy.hosts.model import Change, Host
from code_deploy_agent import host_item as agent_items
from tests.unit.conftest import HOST_LOST_AFTER_SECONDS, HOSTS_PER_REGION
from tests.unit.test_hosts_api import BUILD, DEPLOYMENT, LONG_AGO, OLD, REGION, get, register, report


@pytest.fixture
def api(stack):
    from tests.utils import load_handler

    return load_handler("api")


def test_neighbours_alike_are_one_run_and_builds_are_named_once():
    builds = grid.BuildIndex()
    hosts = [
        Host(BUILD, OLD, 3, Change.FETCHED),
        Host(BUILD, OLD, 3, Change.FETCHED),
        Host(OLD, None, 3, Change.FAILED),
        Host(BUILD, OLD, 3, Change.FETCHED),
        Host(),
        Host(),
    ]
    assert grid.host_runs(hosts, builds) == [
        (2, 0, 1, "fetched"),
        (1, 1, None, "failed"),
        (1, 0, 1, "fetched"),
        (2, None, None, None),
    ]
    assert builds.names == [BUILD, OLD]


def test_a_regions_grid_has_every_simulated_host_in_runs_and_every_real_host_a_row(api, stack, context):
    # Given the region's simulated hosts: the first 100 on the build (the fifth failed and stayed on the old
    # one), the rest on the old build
    hosts = [Host(OLD, None, 1, Change.FETCHED)] * HOSTS_PER_REGION
    hosts[:100] = [Host(BUILD, OLD, 2, Change.FETCHED)] * 100
    hosts[4] = Host(OLD, None, 2, Change.FAILED)
    [block] = store.load(stack.host_state(REGION), HOSTS_PER_REGION, [0])
    store.save_block(stack.host_state(REGION), block, hosts)
    # and two real hosts: one deployed the build, one silent for long
    fleet_table = stack.fleet(REGION)
    register(fleet_table, "web-1")
    register(fleet_table, "web-2", silent_for=LONG_AGO)
    report(fleet_table, "web-1", agent_items.Report(DEPLOYMENT, 1, BUILD, "DEPLOYED"))

    # When the dashboard reads the region's grid
    status, answer = get(api, context, f"/regions/{REGION}/grid")

    # Then the simulated hosts come in runs that add up to every one of them, builds named by place
    assert status == 200, answer
    builds = answer["builds"]
    assert sorted(builds) == sorted([BUILD, OLD])
    runs = [(n, builds[current], change) for n, current, _previous, change in answer["simulated"]["runs"]]
    assert runs == [
        (4, BUILD, "fetched"),
        (1, OLD, "failed"),
        (95, BUILD, "fetched"),
        (HOSTS_PER_REGION - 100, OLD, "fetched"),
    ]
    assert answer["simulated"]["hostsTotal"] == HOSTS_PER_REGION
    # and the real hosts a row each, with their state and build
    assert [
        (row["hostId"], row["state"], row["build"] is not None and builds[row["build"]]) for row in answer["real"]
    ] == [
        ("web-1", "deployed", BUILD),
        ("web-2", "lost", OLD),
    ]
    assert answer["lostAfterSeconds"] == HOST_LOST_AFTER_SECONDS


def test_a_region_never_deployed_to_is_one_run_of_hosts_without_a_build(api, stack, context):
    status, answer = get(api, context, "/regions/eu-west-1/grid")
    assert status == 200, answer
    assert answer["simulated"]["runs"] == [[HOSTS_PER_REGION, None, None, None]]
    assert (answer["builds"], answer["real"]) == ([], [])


def test_one_real_host_in_full_has_its_last_report_and_its_last_failure(api, stack, context):
    # Given a host whose validation failed, then returned to the build before
    fleet_table = stack.fleet(REGION)
    register(fleet_table, "web-1")
    failed = agent_items.Report(DEPLOYMENT, 1, BUILD, "FAILED", "hook-failed", "validate_service", 1, "unhealthy")
    report(fleet_table, "web-1", failed)
    report(fleet_table, "web-1", agent_items.Report(DEPLOYMENT, 0, OLD, "DEPLOYED"))

    status, host = get(api, context, f"/regions/{REGION}/hosts/web-1")

    assert status == 200, host
    assert (host["hostId"], host["state"], host["lastReport"]["buildId"]) == ("web-1", "deployed", OLD)
    assert (host["lastFailure"]["hook"], host["lastFailure"]["outputTail"]) == ("validate_service", "unhealthy")


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        (f"/regions/{REGION}/hosts/web-9", 404, f"no real host web-9 in {REGION}"),
        ("/regions/mars-north-1/grid", 404, "mars-north-1"),
        ("/regions/mars-north-1/hosts/web-1", 404, "mars-north-1"),
        (f"/regions/{REGION}/hosts/web%201", 422, "hostId"),
    ],
)
def test_an_unknown_host_or_region_is_refused(api, stack, context, path, status, message):
    answered, answer = get(api, context, path)
    assert answered == status, answer
    assert message in answer["message"]


def test_the_benchmarks_grid_is_a_region_half_way_through_a_deployment():
    from bench import host_grid

    grid = host_grid.half_deployed_grid(3_000)
    runs = grid["simulated"]["runs"]
    assert sum(run[0] for run in runs) == 3_000
    on_new = sum(run[0] for run in runs if run[1] == 0)
    failed = sum(run[0] for run in runs if run[3] == "failed")
    assert on_new + failed == 1_500 and 0 < failed < 100
    assert host_grid.report_lines([])[0].startswith("Host grid: not measured")
