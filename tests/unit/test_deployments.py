"""Deployments as plain rules: a request checked into a spec, waves of hosts, the gate, fault
injection, and the plan's predicted time from the swarm model."""

import pytest

from code_deploy.deployments import model as deployment_model
from code_deploy.deployments.model import InvalidDeployment, RegionBefore, Simulation, spec_from_request
from code_deploy.swarm import MIB, SwarmParameters

REGIONS = ("us-west-2", "eu-west-1", "ap-southeast-2")


def test_a_bare_request_deploys_everywhere_at_once_in_one_wave():
    spec = spec_from_request("build-1", REGIONS)
    assert (spec.regions, spec.waves, spec.region_waves) == (REGIONS, (100.0,), (REGIONS,))
    assert (spec.bake_seconds, spec.max_failure_percent) == (0, 5.0)


@pytest.mark.parametrize(
    "changes,complaint",
    [
        ({"regions": ["us-west-2", "mars-north-1"]}, "unknown mars-north-1"),
        ({"regions": []}, "at least one region"),
        ({"regions": ["us-west-2", "us-west-2"]}, "named twice"),
        ({"waves": [50, 30, 100]}, "strictly increasing"),
        ({"waves": [10, 50]}, "must reach 100"),
        ({"waves": [10, 120]}, "at most 100"),
        ({"waves": [0, 100]}, "above 0"),
        ({"waves": []}, "at least one wave"),
        ({"bake_seconds": -1}, "bakeSeconds"),
        ({"max_failure_percent": 101}, "maxFailurePercent"),
        ({"region_waves": [["us-west-2"], ["eu-west-1"]]}, "exactly once"),
        ({"region_waves": [["us-west-2", "eu-west-1", "ap-southeast-2"], []]}, "empty"),
        ({"region_waves": [["us-west-2", "us-west-2"], ["eu-west-1", "ap-southeast-2"]]}, "exactly once"),
        ({"simulation": Simulation(host_failure_percent=150)}, "hostFailurePercent"),
    ],
)
def test_an_inconsistent_request_says_what_is_wrong(changes, complaint):
    with pytest.raises(InvalidDeployment, match=complaint):
        spec_from_request("build-1", REGIONS, **changes)


def test_waves_split_a_regions_hosts_by_cumulative_percent():
    assert deployment_model.wave_bounds(1000, (10, 50, 100)) == [(0, 100), (100, 500), (500, 1000)]
    # rounded up, so a small region's first wave still has a host; every host in exactly one wave
    assert deployment_model.wave_bounds(7, (10, 50, 100)) == [(0, 1), (1, 4), (4, 7)]
    assert deployment_model.wave_bounds(0, (50, 100)) == [(0, 0), (0, 0)]
    # a deployment's waves split the hosts not on its build yet (the plan's and the rollout's alike)
    assert deployment_model.wave_sizes(1000, 600, (10, 50, 100)) == [40, 160, 200]
    assert deployment_model.wave_sizes(1000, 1000, (50, 100)) == [0, 0]


def test_fault_injection_is_deterministic_and_near_its_share():
    simulation = Simulation(host_failure_percent=60, seed=7)
    first = deployment_model.failed_hosts("build-3", "us-west-2", range(1000), simulation)
    assert first == deployment_model.failed_hosts("build-3", "us-west-2", range(1000), simulation)
    assert 550 <= len(first) <= 650
    assert first != deployment_model.failed_hosts("build-3", "eu-west-1", range(1000), simulation)
    assert deployment_model.failed_hosts("build-3", "us-west-2", range(1000), Simulation()) == set()


def test_the_gate_passes_up_to_the_allowed_failure_rate_and_names_what_failed():
    assert deployment_model.gate("us-west-2", 0, updated=95, failed=5, max_failure_percent=5).passed
    result = deployment_model.gate("us-west-2", 1, updated=40, failed=60, max_failure_percent=5)
    assert not result.passed
    assert result.reason == "us-west-2 wave 2: 60 of 100 hosts failed (60.0% > 5% allowed)"


def fleet(hosts: int, artifact_bytes: int = 10 * MIB) -> SwarmParameters:
    return SwarmParameters(hosts=hosts, artifact_bytes=artifact_bytes, piece_bytes=MIB)


def test_the_plan_predicts_each_wave_and_region_wave_from_the_swarm_model():
    spec = spec_from_request(
        "build-1",
        REGIONS,
        waves=[10, 50, 100],
        bake_seconds=30,
        region_waves=[["us-west-2"], ["eu-west-1", "ap-southeast-2"]],
    )
    fleets = {"us-west-2": fleet(1000), "eu-west-1": fleet(1000), "ap-southeast-2": fleet(4000)}
    predicted = deployment_model.plan(spec, fleets, {})
    west = predicted.regions["us-west-2"]
    assert [wave.hosts for wave in west.waves] == [100, 400, 500]
    assert [wave.hosts_holding for wave in west.waves] == [0, 100, 500]
    # each wave takes at least the artifact's time over one host's link (10 pieces), and the bakes add up
    piece_seconds = MIB / fleets["us-west-2"].host_bandwidth
    assert all(wave.seconds >= 10 * piece_seconds for wave in west.waves)
    assert west.seconds == pytest.approx(sum(w.seconds for w in west.waves) + 3 * 30)
    # region waves run one after the other; within one, the slowest region sets the pace
    assert predicted.region_wave_seconds[1] == max(
        predicted.regions["eu-west-1"].seconds, predicted.regions["ap-southeast-2"].seconds
    )
    assert predicted.seconds == pytest.approx(sum(predicted.region_wave_seconds))


def test_hosts_already_on_the_build_are_skipped_and_serve_pieces():
    spec = spec_from_request("build-1", ("us-west-2",), waves=[50, 100])
    predicted = deployment_model.plan(spec, {"us-west-2": fleet(1000)}, {"us-west-2": RegionBefore(hosts_on_build=600)})
    assert [wave.hosts for wave in predicted.regions["us-west-2"].waves] == [200, 200]
    assert predicted.regions["us-west-2"].waves[0].hosts_holding == 600


def test_a_rollback_switches_the_hosts_that_cache_the_build_back_and_fetches_it_for_the_others():
    spec = spec_from_request("build-2", ("us-west-2",))
    huge = 10 * 1024 * MIB  # over one host's 1 Gbit/s link, 86 s

    def rollback_seconds(artifact_bytes: int, before: RegionBefore) -> float:
        planned = deployment_model.plan(spec, {"us-west-2": fleet(1000, artifact_bytes)}, {"us-west-2": before})
        return planned.regions["us-west-2"].rollback_seconds

    one_host_fetches_it = huge / fleet(1000).host_bandwidth
    # Every host ran build-1, the build a rollback returns to: it keeps it cached, nothing is fetched,
    # whatever the artifact's size: a small fraction of the time one host takes to fetch it
    every_host_caches_it = RegionBefore(rollback_build="build-1", hosts_on_rollback_build=1000)
    assert rollback_seconds(10 * MIB, every_host_caches_it) == rollback_seconds(huge, every_host_caches_it)
    assert rollback_seconds(huge, every_host_caches_it) < one_host_fetches_it / 10
    # 400 hosts ran another build: they fetch build-1, which takes at least its time over one host's link
    some_do_not = RegionBefore(rollback_build="build-1", hosts_on_rollback_build=600)
    assert rollback_seconds(huge, some_do_not) > one_host_fetches_it
    # as the swarm model has 400 hosts fetch it from the 600 that hold it
    assert rollback_seconds(huge, some_do_not) == deployment_model.wave_seconds(fleet(1000, huge), 400, 600)
    # and a region's first deployment rolls back to no build: its hosts drop it, fetching nothing
    assert rollback_seconds(huge, RegionBefore()) < one_host_fetches_it / 10
