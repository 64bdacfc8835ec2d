"""An agent killed at any step of an install: `current` always points at a complete release, and the next
agent, reading the journal in its state file, finishes the install or rolls it back."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from code_deploy_agent.region import RegionError
from tests.unit.agent.fixtures.fake_region import SimulatedKill
from tests.unit.agent.fixtures.harness import GROUP, Host

# Every step the deployment records, in order (deploy.py); a kill right after each.
STEPS = [
    "fetching",
    "installing",
    "stopped",
    "staged",
    "before-install",
    "renamed",
    "after-install",
    "switched",
    "started",
    "validated",
    "reporting",
    "reported",
]
ROLLBACK_STEPS = ["rolling-back", "rolled-back", "reporting"]


def kill_at(step: str):
    def on_step(name: str) -> None:
        if name == step:
            raise SimulatedKill(f"killed after {step}")

    return on_step


def assert_current_is_a_complete_release(host: Host) -> str:
    """current is a symlink to releases/<id>, a release with everything its artifact holds."""
    link = host.dir / "current"
    assert link.is_symlink()
    release = Path(os.path.realpath(link))
    assert release.parent == Path(os.path.realpath(host.dir / "releases"))
    assert not release.name.startswith(".")
    assert (release / "BUILD").read_text() == release.name
    assert (release / "deploy.yaml").is_file()
    assert (release / "hooks" / "validate.sh").is_file()
    return release.name


@pytest.mark.parametrize("step", STEPS)
def test_an_agent_killed_after_any_step_leaves_a_complete_release_and_the_next_one_finishes(host_on_b1, region, step):
    # Given an agent killed right after this step of the deployment of b2
    region.set_goal(GROUP, host_on_b1.publish("b2"), "d2")
    with pytest.raises(SimulatedKill):
        host_on_b1.agent(on_step=kill_at(step)).poll_once()
    assert assert_current_is_a_complete_release(host_on_b1) in {"b1", "b2"}

    # When the next agent starts (finishing or rolling back from its journal) and polls
    restarted = host_on_b1.agent()
    assert assert_current_is_a_complete_release(host_on_b1) in {"b1", "b2"}
    restarted.poll_once()

    # Then the host runs b2, reported once for d2, with nothing half-done left behind
    assert host_on_b1.current() == "b2"
    assert host_on_b1.health() == "b2"
    assert host_on_b1.item["report"]["deploymentId"] == "d2"
    assert host_on_b1.item["report"]["status"] == "DEPLOYED"
    assert restarted.state.journal is None
    assert not [name for name in host_on_b1.releases() if name.startswith(".")]
    assert restarted.poll_once() is None


def test_before_the_switch_a_restart_rolls_back_and_the_old_release_serves_meanwhile(host_on_b1, region):
    region.set_goal(GROUP, host_on_b1.publish("b2"), "d2")
    with pytest.raises(SimulatedKill):
        host_on_b1.agent(on_step=kill_at("renamed")).poll_once()
    assert host_on_b1.health() is None  # b1 stopped for the install, b2 not started

    host_on_b1.agent()  # starts: rolls the install back

    assert host_on_b1.current() == "b1"
    assert host_on_b1.health() == "b1"
    assert host_on_b1.releases() == ["b1"]


def test_after_the_switch_a_restart_finishes_the_install(host_on_b1, region):
    region.set_goal(GROUP, host_on_b1.publish("b2"), "d2")
    with pytest.raises(SimulatedKill):
        host_on_b1.agent(on_step=kill_at("switched")).poll_once()
    assert host_on_b1.current() == "b2"

    host_on_b1.agent()  # starts: application_start, validate_service, report

    assert host_on_b1.health() == "b2"
    assert host_on_b1.item["report"]["status"] == "DEPLOYED"
    assert host_on_b1.item["report"]["deploymentId"] == "d2"


@pytest.mark.parametrize("step", ROLLBACK_STEPS)
def test_an_agent_killed_while_rolling_back_finishes_the_rollback(host_on_b1, region, step):
    failing = host_on_b1.publish("b2", {"hooks/validate.sh": "#!/bin/sh\necho unhealthy\nexit 1\n"})
    region.set_goal(GROUP, failing, "d2")
    with pytest.raises(SimulatedKill):
        host_on_b1.agent(on_step=kill_at(step)).poll_once()

    restarted = host_on_b1.agent()
    restarted.poll_once()

    assert host_on_b1.current() == "b1"
    assert host_on_b1.health() == "b1"
    report = host_on_b1.item["report"]
    assert (report["deploymentId"], report["status"], report["hook"]) == ("d2", "FAILED", "validate_service")
    assert host_on_b1.releases() == ["b1"]
    assert restarted.poll_once() is None


def test_a_report_the_region_did_not_take_is_sent_at_the_next_poll(host_on_b1, region):
    region.set_goal(GROUP, host_on_b1.publish("b2"), "d2")
    agent = host_on_b1.agent()
    original_update = region.update_host

    def refuse_reports(host_id, attributes):
        if "report" in attributes:
            raise RegionError("throttled")
        original_update(host_id, attributes)

    region.update_host = refuse_reports
    with pytest.raises(RegionError, match="throttled"):
        agent.poll_once()
    assert host_on_b1.item["report"]["deploymentId"] == "d1"

    region.update_host = original_update
    report = agent.poll_once()

    assert (report.deployment_id, report.status) == ("d2", "DEPLOYED")
    assert host_on_b1.item["report"]["deploymentId"] == "d2"
