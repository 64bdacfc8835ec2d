"""Agents in one process: one for a real host (`run`), or a local fleet of hundreds on one machine (`fleet`).

Each agent runs in a thread of its own and sleeps between polls, so an idle fleet costs next to nothing; one
more thread sends every agent's heartbeat. A fleet's agents live under `<dir>/<region>/<hostId>/`, each
with its releases, `current`, state file, log and pid file, and an app port of its own (found by binding
port 0 once, then kept in its state file). SIGTERM stops every agent after its current step (a download
stops between pieces and resumes at the next start); the pid files go with the process.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from code_deploy_agent import host_item, releases
from code_deploy_agent.agent import Agent, agent_logger, close_logger, jittered
from code_deploy_agent.config import AgentConfig, ConfigError, check_config
from code_deploy_agent.hooks import (
    APPLICATION_STOP,
    HookContext,
    HookFailed,
    HooksFileError,
    hooks_in_release,
    run_event,
)
from code_deploy_agent.p2p import PeerDirectory
from code_deploy_agent.region import RegionError, RegionLink
from code_deploy_agent.state import PID_FILE, STATE_FILE, AgentPaths, load_state

RESTART_DELAY_SECONDS = 5.0
JOIN_SLICE_SECONDS = 0.5  # the main thread wakes this often, so it sees SIGTERM
AGENT_PROCESS_MARKERS = (b"code-deploy-agent", b"code_deploy_agent")
log = logging.getLogger(__name__)


def fleet_host_ids(region: str, count: int, prefix: str | None = None) -> list[str]:
    width = max(3, len(str(count)))
    base = prefix or f"{region}-agent"
    return [f"{base}-{number:0{width}d}" for number in range(1, count + 1)]


def free_port(address: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((address, 0))
        return int(probe.getsockname()[1])


def fleet_configs(
    *,
    region: str,
    group: str,
    count: int,
    base_dir: Path,
    table: str,
    bucket: str,
    prefix: str | None = None,
    zones: list[str] | None = None,
    poll_seconds: float = 5.0,
    heartbeat_seconds: float = 30.0,
    keep_releases: int = 3,
    download_bytes_per_second: float = 0.0,
    swarm: FleetSwarm | None = None,
) -> list[AgentConfig]:
    """One config per local agent: its own directory and app port (the one it had, if it ran before), and
    with a swarm its own loopback address (`peer_address`)."""
    zones = zones or [f"{region}{letter}" for letter in "abc"]
    configs = []
    for index, host_id in enumerate(fleet_host_ids(region, count, prefix)):
        agent_dir = base_dir / region / host_id
        zone_index = index % len(zones)
        configs.append(
            check_config(
                AgentConfig(
                    region=region,
                    group=group,
                    host_id=host_id,
                    table=table,
                    bucket=bucket,
                    agent_dir=agent_dir,
                    zone=zones[zone_index],
                    address="127.0.0.1",
                    app_port=load_state(AgentPaths(agent_dir)).app_port or free_port(),
                    poll_seconds=poll_seconds,
                    heartbeat_seconds=heartbeat_seconds,
                    keep_releases=keep_releases,
                    download_bytes_per_second=download_bytes_per_second,
                    upload_bytes_per_second=swarm.upload_bytes_per_second if swarm else 0.0,
                    peers_table=swarm.peers_table if swarm else "",
                    peer_address=swarm.address(zone_index, index // len(zones)) if swarm else "",
                )
            )
        )
    return configs


@dataclass(frozen=True)
class FleetSwarm:
    """A local fleet's agents in their region's swarm: each on a loopback address of its own,
    127.<network>.<zone>.<n> (a region's network, a zone's rack, a host in it), so peers are told apart by
    address as real hosts are, and the engine's one-connection-per-address rule holds."""

    peers_table: str
    network: int = 1
    upload_bytes_per_second: float = 0.0

    def address(self, zone_index: int, number: int) -> str:
        rack, host = divmod(number, 250)
        return f"127.{self.network}.{zone_index * 16 + rack}.{host + 1}"


def _supervise(
    config: AgentConfig,
    region: RegionLink,
    stop: threading.Event,
    log_to_stderr: bool,
    directory: PeerDirectory | None,
) -> None:
    """Runs the agent; one that fails (its region unreachable at start, a bug) is logged with its traceback
    and started again, recovering from its journal, as systemd would restart a lone agent."""
    while True:
        agent = Agent(config, region, stop=stop, log_to_stderr=log_to_stderr, directory=directory)
        try:
            agent.run()
            return
        except ConfigError as error:
            agent.log.error("%s", error)
            return
        except Exception:
            agent.log.exception("agent failed; starting it again in %s s", RESTART_DELAY_SECONDS)
        finally:
            agent.close()
        if stop.wait(RESTART_DELAY_SECONDS):
            return


def _send_heartbeats(configs: list[AgentConfig], region: RegionLink, stop: threading.Event) -> None:
    interval = min(config.heartbeat_seconds for config in configs)
    while not stop.wait(jittered(interval)):
        for config in configs:
            if stop.is_set():
                return
            try:
                region.update_host(config.host_id, host_item.heartbeat(time.time()))
            except RegionError as error:
                log.warning("heartbeat of %s: %s", config.host_id, error)


def _write_pid_file(paths: AgentPaths) -> None:
    paths.pid_file.write_text(f"{os.getpid()}\n", encoding="utf-8")


def _remove_pid_file(paths: AgentPaths) -> None:
    try:
        if int(paths.pid_file.read_text(encoding="utf-8")) == os.getpid():
            paths.pid_file.unlink()
    except (FileNotFoundError, ValueError):
        pass


def run_agents(
    configs: list[AgentConfig],
    region: RegionLink,
    stop: threading.Event,
    *,
    log_to_stderr: bool = False,
    directory: PeerDirectory | None = None,
) -> None:
    """Runs every agent until stop is set (and each has finished its current step); with a swarm directory,
    the agents whose config names the peers table fetch from each other."""
    every_paths = [AgentPaths(config.agent_dir) for config in configs]
    for paths in every_paths:
        paths.make()
        _write_pid_file(paths)
    threads = [
        threading.Thread(
            target=_supervise,
            args=(config, region, stop, log_to_stderr, directory),
            name=config.host_id,
            daemon=True,
        )
        for config in configs
    ]
    threads.append(
        threading.Thread(target=_send_heartbeats, args=(configs, region, stop), name="heartbeats", daemon=True)
    )
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            while thread.is_alive():
                thread.join(JOIN_SLICE_SECONDS)
    finally:
        stop.set()
        for paths in every_paths:
            _remove_pid_file(paths)


def stop_on_signals(stop: threading.Event) -> None:
    def handle(signal_number: int, _frame: object) -> None:
        log.info("signal %s: stopping after the current step", signal_number)
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)


# -- stopping agents from outside ------------------------------------------------------------------------


PROCFS = Path("/proc/self").exists()


def _alive(pid: int) -> bool:
    """Whether the process runs (a zombie, exited but not reaped yet, does not)."""
    if PROCFS:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except FileNotFoundError:
            return False
        return stat.rpartition(")")[2].split()[0] != "Z"
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _is_agent_process(pid: int) -> bool:
    """Whether pid is still an agent's (a stale pid file may name a pid the system gave to someone else);
    without /proc there is no command line to check, and a live pid is taken for the agent."""
    if not _alive(pid):
        return False
    if not PROCFS:
        return True
    try:
        command_line = Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return False
    return any(marker in command_line for marker in AGENT_PROCESS_MARKERS)


def stop_agents(base_dir: Path, timeout_seconds: float) -> list[int]:
    """SIGTERM to every agent process with a pid file under base_dir; waits for them to end. The pids still
    running at the timeout (an agent finishing a long hook)."""
    processes: dict[int, list[Path]] = {}
    for pid_file in sorted(base_dir.rglob(PID_FILE)):
        try:
            pid = int(pid_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            pid_file.unlink(missing_ok=True)
            continue
        if _is_agent_process(pid):
            processes.setdefault(pid, []).append(pid_file)
        else:
            pid_file.unlink(missing_ok=True)  # stale: its process is gone
    for pid in processes:
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_seconds
    while any(_alive(pid) for pid in processes) and time.monotonic() < deadline:
        time.sleep(0.1)
    running = [pid for pid in processes if _alive(pid)]
    for pid, pid_files in processes.items():
        if pid not in running:
            for pid_file in pid_files:
                pid_file.unlink(missing_ok=True)
    return running


def stop_apps(base_dir: Path) -> list[str]:
    """Runs application_stop of each agent's current release under base_dir (the agents stopped first): a
    local fleet's apps keep running without their agents otherwise. The hosts whose stop hook failed."""
    failed = []
    for state_file in sorted(base_dir.rglob(STATE_FILE)):
        paths = AgentPaths(state_file.parent)
        state = load_state(paths)
        build_id = releases.current_build(paths)
        if build_id is None or state.host_id is None:
            continue
        agent_log = agent_logger(state.host_id, paths, to_stderr=False)
        try:
            release_dir = paths.release(build_id)
            run_event(
                APPLICATION_STOP,
                hooks_in_release(release_dir),
                build_id=build_id,
                release_dir=release_dir,
                context=HookContext(
                    deployment_id="agent-stop",
                    host_id=state.host_id,
                    group=state.group or "",
                    region=state.region or "",
                    app_port=state.app_port or 0,
                ),
                log=agent_log,
                scratch=paths.root,
            )
        except (HookFailed, HooksFileError) as error:
            agent_log.error("stopping %s: %s", build_id, error)
            failed.append(state.host_id)
        finally:
            close_logger(agent_log)
    return failed
