"""Many agents in one process: a local fleet's layout, its agents converging together, a clean stop by
SIGTERM (pid files gone), `code-deploy-agent stop` and the command line's one-line errors."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from code_deploy_agent import cli
from code_deploy_agent.fleet import FleetSwarm, fleet_configs, fleet_host_ids, run_agents, stop_agents, stop_apps
from code_deploy_agent.state import AgentPaths, load_state
from tests.unit.agent.fixtures.fake_region import FakeRegion
from tests.unit.agent.fixtures.harness import GROUP, Host, app_artifact, hooks_path, kill_processes_under

REPO = Path(__file__).resolve().parents[3]
FLEET_SCRIPT = """
import sys, threading
from pathlib import Path
from code_deploy_agent.fleet import fleet_configs, run_agents, stop_on_signals
from tests.unit.agent.fixtures.fake_region import FakeRegion

stop = threading.Event()
stop_on_signals(stop)
configs = fleet_configs(region="us-east-1", group="web", count=3, base_dir=Path(sys.argv[1]), table="t", bucket="b",
                        poll_seconds=0.05)
run_agents(configs, FakeRegion(), stop)
"""


def wait_for(condition, timeout_seconds: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_fleet_gives_each_agent_its_own_host_id_directory_zone_and_port(tmp_path):
    configs = fleet_configs(region="eu-west-1", group="web", count=4, base_dir=tmp_path, table="t", bucket="b")

    assert [config.host_id for config in configs] == [f"eu-west-1-agent-00{number}" for number in range(1, 5)]
    assert configs[2].agent_dir == tmp_path / "eu-west-1" / "eu-west-1-agent-003"
    assert [config.zone for config in configs] == ["eu-west-1a", "eu-west-1b", "eu-west-1c", "eu-west-1a"]
    assert len({config.app_port for config in configs}) == 4
    assert fleet_host_ids("r", 1200, prefix="web")[-1] == "web-1200"


def test_a_fleet_in_a_swarm_gives_each_agent_a_loopback_address_of_its_own_by_zone(tmp_path):
    swarm = FleetSwarm("peers", network=3, upload_bytes_per_second=1000)
    configs = fleet_configs(
        region="eu-west-1", group="web", count=760, base_dir=tmp_path, table="t", bucket="b", swarm=swarm
    )

    addresses = [config.peer_address for config in configs]
    assert len(set(addresses)) == 760
    # 127.<network>.<zone x 16 + rack>.<n>: the first of each zone; a zone's 251st host in its next rack
    assert addresses[:3] == ["127.3.0.1", "127.3.16.1", "127.3.32.1"]
    assert (addresses[747], addresses[750]) == ("127.3.0.250", "127.3.1.1")
    assert {config.peers_table for config in configs} == {"peers"}
    assert {config.upload_bytes_per_second for config in configs} == {1000}
    # without a swarm, the bucket alone
    assert fleet_configs(region="r", group="g", count=1, base_dir=tmp_path, table="t", bucket="b")[0].peers_table == ""


def test_agents_keep_their_app_port_across_restarts(tmp_path):
    region = FakeRegion()
    configs = fleet_configs(region="us-east-1", group=GROUP, count=2, base_dir=tmp_path, table="t", bucket="b")
    stop = threading.Event()
    stop.set()  # start, register, stop
    run_agents(configs, region, stop)

    again = fleet_configs(region="us-east-1", group=GROUP, count=2, base_dir=tmp_path, table="t", bucket="b")

    assert [config.app_port for config in again] == [config.app_port for config in configs]
    assert load_state(AgentPaths(configs[0].agent_dir)).app_port == configs[0].app_port


def agents_in_one_process(base_dir, count: int, **timings: float) -> list:
    """`count` agents' configurations in group GROUP, with the poll or heartbeat `timings` a test needs."""
    return fleet_configs(
        region="us-east-1", group=GROUP, count=count, base_dir=base_dir, table="t", bucket="b", **timings
    )


@contextlib.contextmanager
def running(configs: list, region: FakeRegion) -> Iterator[threading.Thread]:
    """The agents running in a thread of this process (as `code-deploy-agent fleet` runs them), stopped at the
    end of the block."""
    stop = threading.Event()
    fleet = threading.Thread(target=run_agents, args=(configs, region, stop))
    fleet.start()
    try:
        yield fleet
    finally:
        stop.set()
        fleet.join(timeout=30)


def test_a_fleet_in_one_process_converges_and_stops_cleanly(tmp_path):
    # Given 20 agents in one process, and a goal for their group
    region = FakeRegion()
    build = region.publish("b1", app_artifact("b1", {"deploy.yaml": None}))
    region.set_goal(GROUP, build, "d1")
    configs = agents_in_one_process(tmp_path, 20, poll_seconds=0.05)

    # When they run
    with running(configs, region) as fleet:
        wait_for(
            lambda: all(region.hosts.get(c.host_id, {}).get("state") == "DEPLOYED" for c in configs), timeout_seconds=30
        )
        pid_files = [AgentPaths(config.agent_dir).pid_file for config in configs]
        assert all(pid_file.read_text().strip() == str(os.getpid()) for pid_file in pid_files)

    # Then every host is on b1, registered with its own port, and the pid files are gone
    assert not fleet.is_alive()
    assert {region.hosts[config.host_id]["currentBuildId"] for config in configs} == {"b1"}
    assert {region.hosts[config.host_id]["appPort"] for config in configs} == {config.app_port for config in configs}
    assert not any(pid_file.exists() for pid_file in pid_files)
    assert all((config.agent_dir / "current").is_symlink() for config in configs)


def test_sigterm_stops_a_fleet_process_and_its_pid_files_go_with_it(tmp_path):
    environment = {**os.environ, "PYTHONPATH": f"{REPO / 'agent'}{os.pathsep}{REPO}"}
    fleet = subprocess.Popen([sys.executable, "-c", FLEET_SCRIPT, str(tmp_path)], env=environment, cwd=REPO)
    try:
        wait_for(lambda: len(list(tmp_path.rglob("agent.pid"))) == 3)

        still_running = stop_agents(tmp_path, timeout_seconds=15)

        assert still_running == []
        assert fleet.wait(timeout=15) == 0
        assert list(tmp_path.rglob("agent.pid")) == []
        assert len(list(tmp_path.rglob("state.json"))) == 3
    finally:
        if fleet.poll() is None:
            fleet.kill()
            fleet.wait()


def test_stop_removes_stale_pid_files_and_signals_nobody(tmp_path):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    pid_file = AgentPaths(tmp_path / "us-east-1" / "host-9").pid_file
    pid_file.parent.mkdir(parents=True)
    pid_file.write_text(f"{gone.pid}\n")

    assert stop_agents(tmp_path, timeout_seconds=1) == []
    assert not pid_file.exists()


def test_stop_apps_runs_each_current_releases_stop_hook(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", hooks_path())
    region = FakeRegion()
    host = Host(tmp_path / "us-east-1", region)
    try:
        host.deploy(host.publish("b1"), "d1")
        assert host.health() == "b1"

        assert stop_apps(tmp_path) == []

        assert host.health() is None
    finally:
        host.close()
        kill_processes_under(tmp_path)


def test_the_command_line_says_in_one_line_what_is_missing(monkeypatch, capsys):
    for name in list(os.environ):
        if name.startswith("CODE_DEPLOY_"):
            monkeypatch.delenv(name)

    assert cli.main(["run", "--region", "us-east-1"]) == cli.EXIT_ERROR

    message = capsys.readouterr().err.strip()
    assert message.startswith("code-deploy-agent: missing settings: group (--group or CODE_DEPLOY_GROUP)")
    assert "\n" not in message


def test_a_fleet_needs_at_least_one_agent(capsys):
    assert cli.main(["fleet", "--region", "r", "--group", "g", "--count", "0", "--table", "t", "--bucket", "b"]) == 2
    assert "--count" in capsys.readouterr().err


def test_stop_with_nothing_running_succeeds(tmp_path):
    assert cli.main(["stop", "--dir", str(tmp_path)]) == cli.EXIT_OK


@pytest.mark.parametrize("command", ["run", "fleet", "stop"])
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main([command, "--help"])
    assert exit_info.value.code == 0
    assert "usage: code-deploy-agent" in capsys.readouterr().out


def test_one_thread_sends_every_agents_heartbeat(tmp_path):
    region = FakeRegion()
    beats: list[str] = []
    record_update = region.update_host

    def update_host(host_id, attributes):
        if set(attributes) == {"heartbeatAt"}:
            beats.append(host_id)
        record_update(host_id, attributes)

    region.update_host = update_host
    configs = agents_in_one_process(tmp_path, 3, heartbeat_seconds=0.05)
    with running(configs, region):
        wait_for(lambda: all(beats.count(config.host_id) >= 2 for config in configs))
    assert all(isinstance(region.hosts[config.host_id]["heartbeatAt"], int) for config in configs)
