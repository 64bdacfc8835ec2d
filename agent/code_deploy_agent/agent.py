"""One host's agent: registers its host, polls its group's goal (its shard's copy), converges to its target,
reports once.

What it does at each poll is decided by `next_action` from the goal and what the host has; the deployment
itself is deploy.py's. The loop is plain: poll, act, sleep the poll interval with +-20% jitter, so a
fleet's reads of a goal copy spread out instead of arriving together.
"""

from __future__ import annotations

import logging
import random
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from code_deploy_agent import AGENT_VERSION, host_item, releases
from code_deploy_agent.config import AgentConfig, ConfigError
from code_deploy_agent.deploy import Deployer
from code_deploy_agent.download import DownloadStopped
from code_deploy_agent.host_item import Report
from code_deploy_agent.p2p import PeerDirectory, Swarm, SwarmSettings
from code_deploy_agent.region import Goal, GoalInvalid, RegionError, RegionLink
from code_deploy_agent.state import AgentPaths, load_state, save_state
from code_deploy_agent.target import target_build

POLL_JITTER = 0.2
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


@dataclass(frozen=True)
class Action:
    target: str
    drift: bool
    already_running: bool  # nothing to change: report the goal's build as DEPLOYED


def next_action(
    goal: Goal,
    host_id: str,
    *,
    running: str | None,
    active_build: str | None,
    last_report: Mapping[str, Any] | None,
    has_release: Callable[[str], bool],
) -> Action | None:
    """What the host does about the goal; None: nothing (and nothing to report).

    - outside the waves with no previous build in the goal: stay as it is;
    - already running the target: report it once if the target is the goal's build (a host outside the
      waves, on the previous build, has nothing to say); so a host that failed in this deployment and went
      back to the build the rollback returns to says so, and the rollback counts it (its failure stays
      readable as the host item's lastFailure);
    - a target this host already reported FAILED for this deployment: not tried again (the control plane
      decides what comes next: the next wave, a rollback, a new deployment);
    - the previous build without a copy on disk: stay (the goal vouches for its own build's artifact only);
    - otherwise converge; `drift` when `current` is no longer what the agent itself last made it.
    """
    target = target_build(goal.deployment_id, host_id, goal.cumulative_percent, goal.build_id, goal.previous_build_id)
    if target is None:
        return None
    reported = (
        last_report
        if last_report and last_report["deploymentId"] == goal.deployment_id and last_report["buildId"] == target
        else None
    )
    if running == target:
        if target == goal.build_id and reported is None:
            return Action(target, drift=False, already_running=True)
        return None
    if reported is not None and reported["status"] == host_item.FAILED:
        return None
    if target != goal.build_id and not has_release(target):
        return None
    return Action(target, drift=active_build is not None and running != active_build, already_running=False)


def jittered(seconds: float) -> float:
    return seconds * random.uniform(1 - POLL_JITTER, 1 + POLL_JITTER)


def close_logger(log: logging.Logger) -> None:
    for handler in list(log.handlers):
        log.removeHandler(handler)
        handler.close()


def agent_logger(host_id: str, paths: AgentPaths, to_stderr: bool) -> logging.Logger:
    """The agent's own log file (hooks' output included), and stderr too when it runs alone (systemd's
    journal); a fleet's agents each keep to their file."""
    log = logging.getLogger(f"code_deploy_agent.host.{host_id}")
    close_logger(log)
    log.setLevel(logging.INFO)
    log.propagate = False
    handlers: list[logging.Handler] = [logging.FileHandler(paths.log_file, encoding="utf-8")]
    if to_stderr:
        handlers.append(logging.StreamHandler(sys.stderr))
    for handler in handlers:
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        log.addHandler(handler)
    return log


class Agent:
    def __init__(
        self,
        config: AgentConfig,
        region: RegionLink,
        *,
        stop: threading.Event | None = None,
        log_to_stderr: bool = False,
        on_step: Callable[[str], None] | None = None,
        directory: PeerDirectory | None = None,
    ) -> None:
        self.config = config
        self.region = region
        self.stop = stop or threading.Event()
        self.paths = AgentPaths(config.agent_dir)
        self.paths.make()
        self.group_shard = host_item.group_shard(config.group, config.host_id)  # its copy of the goal
        self.state = load_state(self.paths)
        self.log = agent_logger(config.host_id, self.paths, log_to_stderr)
        self.swarm = (
            Swarm(
                SwarmSettings(
                    host_id=config.host_id,
                    zone=config.zone,
                    address=config.swarm_address,
                    port=config.peer_port,
                    download_bytes_per_second=config.download_bytes_per_second,
                    upload_bytes_per_second=config.upload_bytes_per_second,
                ),
                region,
                directory,
                self.log,
            )
            if directory is not None and config.peers_table
            else None
        )
        self.deployer = Deployer(
            config=config,
            paths=self.paths,
            region=region,
            state=self.state,
            log=self.log,
            stop=self.stop,
            on_step=on_step,
            swarm=self.swarm,
        )

    def close(self) -> None:
        if self.swarm is not None:
            self.swarm.close()
        close_logger(self.log)

    def start(self) -> None:
        """Registers the host, then finishes or rolls back whatever a previous run left under way."""
        self._claim_directory()
        self.register()
        self.deployer.resume()

    def _claim_directory(self) -> None:
        """An agent directory holds one host's releases: refuse to run another host in it."""
        owner = self.state.host_id
        if owner is not None and owner != self.config.host_id:
            raise ConfigError(f"{self.paths.root} belongs to host {owner}, not {self.config.host_id}")
        self.state.host_id = self.config.host_id
        self.state.group = self.config.group
        self.state.region = self.config.region
        self.state.app_port = self.config.app_port
        save_state(self.paths, self.state)

    def register(self) -> None:
        self.region.update_host(
            self.config.host_id,
            host_item.registration(
                host_id=self.config.host_id,
                group=self.config.group,
                region=self.config.region,
                zone=self.config.zone,
                address=self.config.address,
                app_port=self.config.app_port,
                agent_version=AGENT_VERSION,
                state=self.state.host_state,
                current_build_id=releases.current_build(self.paths),
                previous_build_id=self.state.previous_build,
                now=time.time(),
            ),
        )
        self.log.info("registered %s in %s/%s", self.config.host_id, self.config.region, self.config.group)

    def heartbeat(self) -> None:
        self.region.update_host(self.config.host_id, host_item.heartbeat(time.time()))

    def poll_once(self) -> Report | None:
        """One look at the goal and what follows from it; the report sent, if any."""
        if self.state.journal is not None:
            return self.deployer.resume()  # a report the region did not take, or a deployment cut short
        item = self.region.read_goal(self.group_shard)
        if item is None:
            return None
        try:
            goal = Goal.from_item(item)
        except GoalInvalid as error:
            self.log.error("ignoring the goal of %s: %s", self.config.group, error)
            return None
        action = next_action(
            goal,
            self.config.host_id,
            running=releases.current_build(self.paths),
            active_build=self.state.active_build,
            last_report=self.state.last_report,
            has_release=lambda build: releases.has_release(self.paths, build),
        )
        if action is None:
            return None
        if action.already_running:
            return self.deployer.report_already_running(goal, action.target)
        if action.drift:
            self.log.warning(
                "drift: current is %s, not %s", releases.current_build(self.paths), self.state.active_build
            )
        return self.deployer.converge(goal, action.target, action.drift)

    def run(self) -> None:
        """Polls until stopped; the region's hiccups are logged and the next poll tries again."""
        self.start()
        while not self.stop.is_set():
            try:
                self.poll_once()
            except RegionError as error:
                self.log.warning("region unavailable: %s", error)
            except DownloadStopped as stopped:
                self.log.info("%s", stopped)
                break
            self.stop.wait(jittered(self.config.poll_seconds))
        self.log.info("stopped")
