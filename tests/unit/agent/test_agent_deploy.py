"""The host agent deploying a real tiny app (a Python HTTP server and its shell hooks) from an in-memory region:
installs, replacements, rollbacks from cache, failing and hanging hooks, drift, and what it reports."""

from __future__ import annotations

import errno
import os
import re
import time

import pytest

from code_deploy_agent import AGENT_VERSION, download, host_item, releases
from code_deploy_agent.state import AgentPaths
from tests.unit.agent.fixtures.harness import GROUP, REGION, Host, hooks_path

FAILING_VALIDATE = "#!/bin/sh\necho 'health check: wrong answer'\nexit 1\n"
HANGING_START = "#!/bin/sh\necho 'starting, then hanging'\nsleep 30\n"


def test_deploys_the_build_and_reports_it(host, region):
    # Given a build in the region's bucket and a goal naming it
    build = host.publish("b1")

    # When the agent polls
    report = host.deploy(build, "d1", wave=2)

    # Then the app answers with the new build from releases/b1, and the host item says so
    assert host.health() == "b1"
    assert host.current() == "b1"
    assert (host.dir / "current").resolve() == (host.dir / "releases" / "b1").resolve()
    assert report.status == "DEPLOYED"
    item = host.item
    assert item["state"] == "DEPLOYED"
    assert item["currentBuildId"] == "b1"
    assert item["report"]["deploymentId"] == "d1"
    assert item["report"]["wave"] == 2
    assert item["report"]["buildId"] == "b1"
    assert item["report"]["status"] == "DEPLOYED"
    assert item["report"]["downloadBytes"] == build.artifact_bytes
    assert item["report"]["drift"] is False
    assert item["report"]["reason"] is None
    assert len(region.range_reads) == -(-build.artifact_bytes // build.piece_bytes)
    # registered, with the contract's attributes
    assert item["hostId"] == host.host_id
    assert item["group"] == GROUP
    assert item["region"] == REGION
    assert item["zone"] == f"{REGION}a"
    assert item["address"] == "127.0.0.1"
    assert item["appPort"] == host.config.app_port
    assert item["agentVersion"] == AGENT_VERSION
    assert re.fullmatch(rf"{GROUP}#\d\d", item["groupShard"])
    assert isinstance(item["heartbeatAt"], int)
    # the hooks ran in the release, with the environment the docs promise
    marker = (host.dir / "releases" / "b1" / "after_install.ran").read_text().split()
    assert marker == ["after_install", "d1", host.host_id, GROUP, REGION]
    # nothing left of the download or the staging directory
    assert list((host.dir / "downloads").iterdir()) == []
    assert host.releases() == ["b1"]


def test_a_new_build_replaces_the_running_one_and_the_old_stays_cached(host_on_b1):
    report = host_on_b1.deploy(host_on_b1.publish("b2"), "d2")

    assert report.status == "DEPLOYED"
    assert host_on_b1.health() == "b2"
    assert host_on_b1.current() == "b2"
    assert host_on_b1.item["previousBuildId"] == "b1"
    assert host_on_b1.releases() == ["b1", "b2"]


def test_the_agent_reads_its_own_shards_copy_of_the_goal(host, region):
    # Given a goal written to every shard's copy but this host's (the control plane's write cut short)
    own = int(host_item.group_shard(GROUP, host.host_id).rpartition("#")[2])
    build = host.publish("b1")
    region.set_goal(GROUP, build, "d1", shards=[shard for shard in range(host_item.GROUP_SHARDS) if shard != own])
    agent = host.agent()

    # When its agent polls
    report = agent.poll_once()

    # Then it read the copy of the shard it registered under, found none, and did nothing
    assert report is None
    assert region.goal_reads == [host.item["groupShard"]]
    assert host.current() is None
    # And once its own copy holds the goal, it deploys
    region.set_goal(GROUP, build, "d1", shards=[own])
    assert agent.poll_once().status == "DEPLOYED"
    assert host.health() == "b1"


def test_a_goal_already_reported_is_not_reported_again_even_after_a_restart(host_on_b1, region):
    reported_at = host_on_b1.item["report"]["at"]

    assert host_on_b1.agents[-1].poll_once() is None
    assert host_on_b1.agent().poll_once() is None  # a restarted agent remembers, from its state file

    assert host_on_b1.item["report"]["at"] == reported_at
    assert host_on_b1.health() == "b1"


def test_a_later_wave_of_the_same_deployment_reports_nothing_new(host_on_b1, region):
    region.change_goal(GROUP, wave=3)

    assert host_on_b1.agents[-1].poll_once() is None
    assert host_on_b1.item["report"]["wave"] == 1


def test_rollback_to_a_cached_release_downloads_nothing(host_on_b1, region):
    b1 = region.publish("b1", region.objects["builds/b1/artifact.zip"])
    host_on_b1.deploy(host_on_b1.publish("b2"), "d2")
    reads_before = len(region.range_reads)

    # The control plane's rollback: a goal naming the build to return to, for every host
    report = host_on_b1.deploy(b1, "d2-rollback", cumulative_percent=100)

    assert report.status == "DEPLOYED"
    assert len(region.range_reads) == reads_before
    assert host_on_b1.item["report"]["downloadBytes"] == 0
    assert host_on_b1.health() == "b1"
    assert host_on_b1.current() == "b1"
    assert host_on_b1.item["previousBuildId"] == "b2"


def test_validate_failing_after_the_switch_returns_the_host_to_the_previous_release(host_on_b1):
    report = host_on_b1.deploy(host_on_b1.publish("b2", {"hooks/validate.sh": FAILING_VALIDATE}), "d2")

    assert report.status == "FAILED"
    assert report.hook == "validate_service"
    assert report.reason == "hook-failed"
    assert report.exit_code == 1
    assert "health check: wrong answer" in report.output_tail
    assert host_on_b1.current() == "b1"
    assert host_on_b1.health() == "b1"
    assert host_on_b1.releases() == ["b1"]
    assert host_on_b1.item["state"] == "FAILED"
    assert host_on_b1.item["currentBuildId"] == "b1"
    # a build that failed here for this deployment is not tried again
    assert host_on_b1.agents[-1].poll_once() is None


def test_a_hook_exiting_3_fails_the_host_with_exit_code_3_and_the_old_release_serves(host_on_b1):
    failing = "#!/bin/sh\necho 'migrating'\necho 'migration failed' >&2\nexit 3\n"

    report = host_on_b1.deploy(host_on_b1.publish("b2", {"hooks/after_install.sh": failing}), "d2")

    assert (report.status, report.reason, report.hook, report.exit_code) == (
        "FAILED",
        "hook-failed",
        "after_install",
        3,
    )
    assert report.output_tail.strip().splitlines() == ["migrating", "migration failed"]
    assert host_on_b1.current() == "b1"
    assert host_on_b1.health() == "b1"  # stopped for the install, started again
    assert host_on_b1.releases() == ["b1"]


def test_a_hanging_hook_is_killed_at_its_timeout(host_on_b1):
    hooks_file = (
        "version: 1\nhooks:\n"
        "  application_stop: [{run: hooks/stop.sh, timeout: 10}]\n"
        "  application_start: [{run: hooks/start.sh, timeout: 1}]\n"
    )
    build = host_on_b1.publish("b2", {"hooks/start.sh": HANGING_START, "deploy.yaml": hooks_file})
    started = time.monotonic()

    report = host_on_b1.deploy(build, "d2")

    assert time.monotonic() - started < 10
    assert (report.status, report.reason, report.hook, report.exit_code) == (
        "FAILED",
        "hook-timeout",
        "application_start",
        "timeout",
    )
    assert "starting, then hanging" in report.output_tail
    assert host_on_b1.current() == "b1"
    assert host_on_b1.health() == "b1"


def test_an_artifact_without_deploy_yaml_installs_its_files_only(host):
    report = host.deploy(host.publish("b1", {"deploy.yaml": None}), "d1")

    assert report.status == "DEPLOYED"
    assert host.current() == "b1"
    assert (host.dir / "releases" / "b1" / "server.py").is_file()
    assert host.health() is None  # no hooks: nothing started it


@pytest.mark.parametrize(
    "hooks_file",
    [
        "version: 1\nhooks: {application_start: [{run: hooks/start.sh\n",  # does not parse
        "version: 1\nhooks:\n  application_start: [{run: hooks/missing.sh}]\n",  # names a missing script
        "version: 1\nhooks:\n  on_reboot: [{run: hooks/start.sh}]\n",  # no such lifecycle event
        "version: 1\nhooks:\n  application_start: [{run: ../../outside.sh}]\n",  # outside the release
    ],
)
def test_a_bad_deploy_yaml_fails_with_hooks_file_before_anything_runs(host_on_b1, hooks_file):
    report = host_on_b1.deploy(host_on_b1.publish("b2", {"deploy.yaml": hooks_file}), "d2")

    assert (report.status, report.reason) == ("FAILED", "hooks-file")
    assert host_on_b1.current() == "b1"
    assert host_on_b1.health() == "b1"
    assert host_on_b1.releases() == ["b1"]


def test_a_missing_artifact_fails_with_artifact_missing(host_on_b1, region):
    build = host_on_b1.publish("b2")
    del region.objects[build.artifact_key]

    report = host_on_b1.deploy(build, "d2")

    assert (report.status, report.reason) == ("FAILED", "artifact-missing")
    assert host_on_b1.current() == "b1"
    assert host_on_b1.health() == "b1"


def _disk_full(*_args, **_kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_a_full_disk_while_downloading_fails_with_disk_full_and_leaves_current(host_on_b1, monkeypatch):
    monkeypatch.setattr(download, "write_at", _disk_full)

    report = host_on_b1.deploy(host_on_b1.publish("b2"), "d2")

    assert (report.status, report.reason) == ("FAILED", "disk-full")
    assert host_on_b1.current() == "b1"
    assert host_on_b1.health() == "b1"
    assert host_on_b1.releases() == ["b1"]
    assert list((host_on_b1.dir / "downloads").iterdir()) == []


def test_a_full_disk_while_unpacking_fails_with_disk_full_and_restarts_the_old_release(host_on_b1, monkeypatch):
    monkeypatch.setattr(releases.shutil, "copyfileobj", _disk_full)

    report = host_on_b1.deploy(host_on_b1.publish("b2"), "d2")

    assert (report.status, report.reason) == ("FAILED", "disk-full")
    assert host_on_b1.current() == "b1"
    assert host_on_b1.health() == "b1"
    assert host_on_b1.releases() == ["b1"]  # no staging directory left either


def test_drift_by_hand_is_corrected_at_the_next_poll_and_reported(host_on_b1, region):
    host_on_b1.deploy(host_on_b1.publish("b2"), "d2")
    releases.switch_current(host_on_b1.agents[-1].paths, "b1")  # someone changes current by hand
    reads_before = len(region.range_reads)

    report = host_on_b1.agents[-1].poll_once()

    assert report.status == "DEPLOYED"
    assert report.drift is True
    assert host_on_b1.item["report"]["drift"] is True
    assert host_on_b1.current() == "b2"
    assert host_on_b1.health() == "b2"
    assert len(region.range_reads) == reads_before
    assert host_on_b1.agents[-1].poll_once() is None


def test_a_host_outside_the_waves_stays_on_the_previous_build_and_says_nothing(host_on_b1, region):
    reported_at = host_on_b1.item["report"]["at"]

    # cumulativePercent 0: no host is in the waves yet
    assert host_on_b1.deploy(host_on_b1.publish("b2"), "d2", cumulative_percent=0, previous_build_id="b1") is None
    # no previous build in the goal: the host is left as it is
    assert host_on_b1.deploy(host_on_b1.publish("b3"), "d3", cumulative_percent=0) is None

    assert host_on_b1.current() == "b1"
    assert host_on_b1.item["report"]["at"] == reported_at
    assert region.range_reads == [read for read in region.range_reads if read[0] == "builds/b1/artifact.zip"]


def test_a_host_already_running_the_goals_build_reports_it_without_touching_it(host_on_b1, region):
    b1 = region.publish("b1", region.objects["builds/b1/artifact.zip"])

    report = host_on_b1.deploy(b1, "d2")

    assert (report.status, report.deployment_id, report.download_bytes) == ("DEPLOYED", "d2", 0)
    assert host_on_b1.health() == "b1"


def test_keep_releases_prunes_the_oldest_releases(tmp_path, region, monkeypatch):
    monkeypatch.setenv("PATH", hooks_path())
    host = Host(tmp_path, region, keep_releases=2)
    try:
        for number in (1, 2, 3):
            files_only = {"deploy.yaml": None}
            assert host.deploy(host.publish(f"b{number}", files_only), f"d{number}").status == "DEPLOYED"

        assert host.releases() == ["b2", "b3"]
        assert host.item["previousBuildId"] == "b2"
    finally:
        host.close()


def test_pruning_never_deletes_the_current_or_the_previous_release(tmp_path):
    paths = AgentPaths(tmp_path)
    paths.make()
    for age, build in enumerate(["current", "previous", "newer", "newest"]):
        paths.release(build).mkdir()
        stamp = 1_000_000 + age * 100  # current and previous are the oldest of all
        os.utime(paths.release(build), (stamp, stamp))

    deleted = releases.prune(paths, keep=2, protected={"current", "previous"})

    assert sorted(deleted) == ["newer", "newest"]
    assert releases.cached_builds(paths) == ["current", "previous"]
