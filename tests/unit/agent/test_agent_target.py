"""The host's target under its group's goal (the control plane computes the same to know a wave's hosts), and
what an agent does about a goal (`next_action`)."""

from __future__ import annotations

import hashlib
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from code_deploy_agent.agent import next_action
from code_deploy_agent.host_item import group_shard
from code_deploy_agent.region import Goal
from code_deploy_agent.target import host_rank, in_waves, target_build

ids = st.text(min_size=1, max_size=40)
percents = st.decimals(min_value=0, max_value=100, places=2)


@given(deployment_id=ids, host_id=ids, low=percents, high=percents)
def test_a_host_in_the_waves_stays_in_them_as_the_percent_grows(deployment_id, host_id, low, high):
    low, high = min(low, high), max(low, high)
    if in_waves(deployment_id, host_id, low):
        assert in_waves(deployment_id, host_id, high)


@given(deployment_id=ids, host_id=ids)
def test_100_percent_takes_every_host_and_0_none(deployment_id, host_id):
    assert in_waves(deployment_id, host_id, 100)
    assert not in_waves(deployment_id, host_id, 0)
    assert target_build(deployment_id, host_id, 100, "new", "old") == "new"
    assert target_build(deployment_id, host_id, 0, "new", "old") == "old"
    assert target_build(deployment_id, host_id, 0, "new", None) is None


@given(deployment_id=ids, host_id=ids, percent=percents)
def test_the_rank_is_the_contracts_formula(deployment_id, host_id, percent):
    digest = hashlib.sha256(f"{deployment_id}\0{host_id}".encode()).digest()
    rank = int.from_bytes(digest[:8], "big") / 2**64 * 100
    assert host_rank(deployment_id, host_id) == rank
    assert 0 <= rank < 100
    if abs(rank - float(percent)) > 1e-9:  # away from the boundary, float and exact comparisons agree
        assert in_waves(deployment_id, host_id, percent) == (rank < float(percent))


def test_a_wave_holds_about_its_share_of_the_hosts():
    hosts = [f"us-east-1-agent-{number:04d}" for number in range(4000)]

    share = sum(in_waves("deploy-1", host, Decimal("12.5")) for host in hosts) / len(hosts)

    assert 0.11 < share < 0.14


def test_each_deployment_orders_the_hosts_afresh():
    hosts = [f"h{number}" for number in range(200)]

    first = {host for host in hosts if in_waves("deploy-1", host, 10)}
    second = {host for host in hosts if in_waves("deploy-2", host, 10)}

    assert first != second


def test_the_group_shard_is_the_first_32_bits_of_the_host_ids_hash_mod_16():
    shard = int(hashlib.sha256(b"i-0abc").hexdigest()[:8], 16) % 16
    assert group_shard("web", "i-0abc") == f"web#{shard:02d}"


def goal(**fields) -> Goal:
    item = {
        "group": "web",
        "buildId": "b2",
        "previousBuildId": "b1",
        "deploymentId": "d2",
        "wave": 1,
        "cumulativePercent": 100,
        "artifactKey": "builds/b2/artifact.zip",
        "artifactBytes": 10,
        "sha256": "00" * 32,
        "pieceBytes": 4,
        "pieceRoot": "11" * 32,
        "piecesKey": "builds/b2/pieces.json",
    }
    return Goal.from_item({**item, **fields})


def act(goal: Goal, running: str | None, *, active: str | None = None, last_report=None, cached=()):
    return next_action(
        goal,
        "host-1",
        running=running,
        active_build=active if active is not None else running,
        last_report=last_report,
        has_release=lambda build: build in cached,
    )


def test_the_goals_build_is_installed_once_and_reported_once():
    assert act(goal(), "b1").target == "b2"
    assert act(goal(), "b2").already_running  # running it already, not reported for d2: say so
    reported = {"deploymentId": "d2", "buildId": "b2", "status": "DEPLOYED"}
    assert act(goal(), "b2", last_report=reported) is None


def test_a_build_that_failed_here_is_not_tried_again_for_the_same_deployment():
    failed = {"deploymentId": "d2", "buildId": "b2", "status": "FAILED"}

    assert act(goal(), "b1", last_report=failed) is None
    assert act(goal(deploymentId="d3"), "b1", last_report=failed).target == "b2"


def test_every_host_reports_its_return_when_the_rollback_finds_it_back_on_the_build():
    # The rollback's goal: the build to return to, for every host, in the same deployment
    rollback = goal(buildId="b1", previousBuildId=None, wave=0)
    failed = {"deploymentId": "d2", "buildId": "b2", "status": "FAILED"}
    deployed = {"deploymentId": "d2", "buildId": "b2", "status": "DEPLOYED"}

    # A host that failed b2 and put itself back on b1 says it runs b1: the rollback waits for every host's
    # return (what failed stays in its item's lastFailure)
    assert act(rollback, "b1", last_report=failed).already_running
    # A host that took b2 goes back from its cache; one the waves never reached says it runs b1
    assert act(rollback, "b2", last_report=deployed, cached={"b1"}).target == "b1"
    earlier = {"deploymentId": "d1", "buildId": "b1", "status": "DEPLOYED"}
    assert act(rollback, "b1", last_report=earlier).already_running


def test_outside_the_waves_the_host_returns_to_the_previous_build_only_from_its_cache():
    outside = goal(cumulativePercent=0)

    assert act(outside, "b1") is None  # on it already: nothing to say
    assert act(outside, "b0", cached={"b1"}).target == "b1"
    assert act(outside, "b0") is None  # the goal vouches for b2's artifact only


def test_current_changed_by_hand_is_drift():
    reported = {"deploymentId": "d2", "buildId": "b2", "status": "DEPLOYED"}

    action = act(goal(), "b1", active="b2", last_report=reported, cached={"b2"})

    assert (action.target, action.drift) == ("b2", True)
