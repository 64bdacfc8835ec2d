"""Taking a host to its target build, and finishing or undoing that after a crash.

The order (AWS CodeDeploy's, with the download first so the old release serves until the new one is
verified, and a refused artifact never interrupts it):

    download + verify -> application_stop (the release being left) -> unpack into releases/.staging-<id>
    -> before_install -> rename to releases/<id> -> after_install -> switch `current`
    -> application_start -> validate_service -> report

A release already on disk (a rollback, a correction of drift) skips the download and the install.

The journal (in the state file, written before each phase) says what a restart must do:

    fetching      nothing on the host has changed: drop the journal (the download resumes at the next poll)
    installing    the old release may be stopped, the new one half unpacked: roll back (discard the staging
                  directory and a release renamed in this deployment, start the old release again)
    switched      committed to the target: switch `current` to it (again) and run start and validate
    rolling-back  start or validate failed after the switch: finish the rollback to the old release
    reporting     the outcome is decided: send the report (again)

Hooks may run again after a crash, so they must be idempotent (a start hook that finds its app running
exits 0), as CodeDeploy asks of its hooks too.
"""

from __future__ import annotations

import errno
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from code_deploy_agent import host_item, releases
from code_deploy_agent.config import AgentConfig
from code_deploy_agent.download import ArtifactRefused, Downloaded, discard_download, fetch_artifact
from code_deploy_agent.hooks import (
    AFTER_INSTALL,
    APPLICATION_START,
    APPLICATION_STOP,
    BEFORE_INSTALL,
    VALIDATE_SERVICE,
    HookContext,
    HookFailed,
    Hooks,
    HooksFileError,
    hooks_in_release,
    hooks_in_zip,
    run_event,
)
from code_deploy_agent.host_item import Report
from code_deploy_agent.p2p import P2PUnavailable, Swarm
from code_deploy_agent.region import Goal, RegionLink
from code_deploy_agent.state import AgentPaths, AgentState, save_state

FETCHING, INSTALLING, SWITCHED, ROLLING_BACK, REPORTING = (
    "fetching",
    "installing",
    "switched",
    "rolling-back",
    "reporting",
)


@dataclass(frozen=True)
class Failure:
    reason: str
    detail: str  # the hook's output tail, or what went wrong
    hook: str | None = None
    exit_code: int | str | None = None

    def to_item(self) -> dict[str, Any]:
        return {"reason": self.reason, "detail": self.detail, "hook": self.hook, "exitCode": self.exit_code}

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Failure:
        return cls(item["reason"], item["detail"], item.get("hook"), item.get("exitCode"))


def failure_of(error: Exception) -> Failure:
    """The report's reason for an error of the install (anything else is a bug and propagates)."""
    if isinstance(error, HookFailed):
        reason = host_item.HOOK_TIMEOUT if error.exit_code == host_item.TIMEOUT else host_item.HOOK_FAILED
        return Failure(reason, error.output_tail, error.event, error.exit_code)
    if isinstance(error, ArtifactRefused):
        return Failure(error.reason, error.detail)
    if isinstance(error, HooksFileError):
        return Failure(host_item.HOOKS_FILE, str(error))
    if isinstance(error, OSError) and error.errno == errno.ENOSPC:
        return Failure(host_item.DISK_FULL, str(error))
    if isinstance(error, OSError):
        return Failure(host_item.INSTALL_ERROR, str(error))
    raise error


INSTALL_ERRORS = (ArtifactRefused, HookFailed, HooksFileError, OSError)


class Deployer:
    """Carries out one deployment on one host at a time; the state (and its journal) is the agent's."""

    def __init__(
        self,
        *,
        config: AgentConfig,
        paths: AgentPaths,
        region: RegionLink,
        state: AgentState,
        log: logging.Logger,
        stop: threading.Event,
        on_step: Callable[[str], None] | None = None,
        swarm: Swarm | None = None,
    ) -> None:
        self.swarm = swarm  # the region's other hosts, where the artifact comes from when the goal has a torrent
        self.config = config
        self.paths = paths
        self.region = region
        self.state = state
        self.log = log
        self.stop = stop
        self.on_step = on_step

    # -- the steps, each recorded before it is taken ------------------------------------------------

    def _step(self, name: str) -> None:
        self.log.info("step %s", name)
        if self.on_step:
            self.on_step(name)

    def _save(self, journal: dict[str, Any] | None) -> None:
        self.state.journal = journal
        save_state(self.paths, self.state)

    def _set_host_state(self, host_state: str) -> None:
        self.state.host_state = host_state
        save_state(self.paths, self.state)
        self.region.update_host(self.config.host_id, host_item.state_change(host_state))

    def _context(self, journal: dict[str, Any]) -> HookContext:
        return HookContext(
            deployment_id=journal["goal"]["deploymentId"],
            host_id=self.config.host_id,
            group=self.config.group,
            region=self.config.region,
            app_port=self.config.app_port,
        )

    def _run(self, journal: dict[str, Any], build_id: str, event: str, hooks: Hooks | None = None) -> None:
        """Runs the event's hooks; the time they took is added to the journal's `hookSeconds` (the report
        carries it: the region publishes it as a metric), failed or not."""
        release_dir = self.paths.release(build_id)
        started = time.monotonic()
        try:
            run_event(
                event,
                hooks if hooks is not None else hooks_in_release(release_dir),
                build_id=build_id,
                release_dir=release_dir,
                context=self._context(journal),
                log=self.log,
                scratch=self.paths.root,
            )
        finally:
            took = journal.setdefault("hookSeconds", {})
            took[event] = round(took.get(event, 0.0) + time.monotonic() - started, 3)

    def _restart(self, journal: dict[str, Any], build_id: str | None) -> None:
        """Starts and validates a release the deployment had stopped, so the host serves it again; a failure
        here is logged, the report is the deployment's own."""
        if build_id is None or not releases.has_release(self.paths, build_id):
            return
        try:
            self._run(journal, build_id, APPLICATION_START)
            self._run(journal, build_id, VALIDATE_SERVICE)
        except (HookFailed, HooksFileError) as error:
            self.log.error("%s did not come back after the failed deployment: %s", build_id, error)

    # -- a deployment ------------------------------------------------------------------------------

    def converge(self, goal: Goal, target: str, drift: bool) -> Report:
        """Takes the host to `target` (the goal's build, or a build it still has) and reports the outcome."""
        from_build = releases.current_build(self.paths)
        cached = releases.has_release(self.paths, target)
        journal: dict[str, Any] = {
            "phase": FETCHING,
            "goal": goal.to_item(),
            "target": target,
            "fromBuild": from_build,
            "drift": drift,
            "stopped": False,
            "renamed": False,
            "downloadSeconds": 0.0,
            "downloadBytes": 0,
        }
        self.log.info("deployment %s wave %s: %s -> %s", goal.deployment_id, goal.wave, from_build, target)
        self._save(journal)
        self._step(FETCHING)
        hooks, artifact = None, None
        if not cached:
            self._set_host_state(host_item.DOWNLOADING)
            try:
                downloaded = self._fetch(goal)
                artifact = downloaded.path
                hooks = hooks_in_zip(artifact)
            except INSTALL_ERRORS as error:
                return self._finish(journal, failure_of(error))
            journal.update(
                downloadSeconds=downloaded.seconds,
                downloadBytes=downloaded.bytes_fetched,
                peerBytes=downloaded.peer_bytes,
            )
        self._set_host_state(host_item.INSTALLING)
        journal["phase"] = INSTALLING
        self._save(journal)
        self._step(INSTALLING)
        try:
            if from_build is not None:
                journal["stopped"] = True  # from here on the old release may be down: undoing restarts it
                self._save(journal)
                self._run(journal, from_build, APPLICATION_STOP)
                self._step("stopped")
            if hooks is not None and artifact is not None:
                self._install(journal, target, hooks, artifact)
        except INSTALL_ERRORS as error:
            failure = failure_of(error)
            self._undo_install(journal)
            return self._finish(journal, failure)
        return self._switch_and_start(journal)

    def _fetch(self, goal: Goal) -> Downloaded:
        """From the swarm when there is one and the build has a torrent, else from the bucket alone."""
        if self.swarm is not None and goal.info_hash:
            try:
                return self.swarm.fetch(goal, self.paths, self.stop)
            except P2PUnavailable as unavailable:
                self.log.warning("%s: fetching from the bucket", unavailable)
        return fetch_artifact(
            self.region, goal, self.paths, self.stop, bytes_per_second=self.config.download_bytes_per_second
        )

    def _install(self, journal: dict[str, Any], target: str, hooks: Hooks, artifact: Path) -> None:
        staging = releases.unpack_to_staging(self.paths, target, artifact)
        self._step("staged")
        run_event(
            BEFORE_INSTALL,
            hooks,
            build_id=target,
            release_dir=staging,
            context=self._context(journal),
            log=self.log,
            scratch=self.paths.root,
        )
        self._step("before-install")
        journal["renamed"] = True  # recorded first: a crash right after the rename still removes it
        self._save(journal)
        releases.move_into_place(self.paths, target)
        self._step("renamed")
        self._run(journal, target, AFTER_INSTALL, hooks)
        self._step("after-install")

    def _undo_install(self, journal: dict[str, Any]) -> None:
        """Back to where the deployment started: no staging directory, no release of it, the old one running."""
        releases.discard_staging(self.paths)
        if journal["renamed"] and releases.current_build(self.paths) != journal["target"]:
            releases.remove_release(self.paths, journal["target"])
        if journal["stopped"]:
            self._restart(journal, journal["fromBuild"])

    def _switch_and_start(self, journal: dict[str, Any]) -> Report:
        target = journal["target"]
        journal["phase"] = SWITCHED
        self._save(journal)
        releases.switch_current(self.paths, target)
        releases.touch_release(self.paths, target)
        self._step(SWITCHED)
        try:
            self._run(journal, target, APPLICATION_START)
            self._step("started")
            self._run(journal, target, VALIDATE_SERVICE)
            self._step("validated")
        except (HookFailed, HooksFileError) as error:
            return self._roll_back(journal, failure_of(error))
        from_build = journal["fromBuild"]
        if from_build is not None and from_build != target:
            self.state.previous_build = from_build
        self.state.active_build = target
        return self._finish(journal, None)

    def _roll_back(self, journal: dict[str, Any], failure: Failure) -> Report:
        """The target failed to start or validate after the switch: stop it, switch back, start the old one."""
        target, from_build = journal["target"], journal["fromBuild"]
        journal.update(phase=ROLLING_BACK, failure=failure.to_item())
        self._save(journal)
        self._step(ROLLING_BACK)
        if releases.has_release(self.paths, target):
            try:
                self._run(journal, target, APPLICATION_STOP)
            except (HookFailed, HooksFileError) as error:
                self.log.error("stopping the failed %s: %s", target, error)
        if from_build is not None and releases.has_release(self.paths, from_build):
            releases.switch_current(self.paths, from_build)
            self._restart(journal, from_build)
        else:
            releases.clear_current(self.paths)
        self.state.active_build = releases.current_build(self.paths)
        if journal["renamed"]:
            releases.remove_release(self.paths, target)
        self._step("rolled-back")
        return self._finish(journal, failure)

    def _finish(self, journal: dict[str, Any], failure: Failure | None) -> Report:
        goal = journal["goal"]
        report = Report(
            deployment_id=goal["deploymentId"],
            wave=int(goal["wave"]),
            build_id=journal["target"],
            status=host_item.FAILED if failure else host_item.DEPLOYED,
            reason=failure.reason if failure else None,
            hook=failure.hook if failure else None,
            exit_code=failure.exit_code if failure else None,
            output_tail=failure.detail if failure else None,
            download_seconds=journal["downloadSeconds"],
            hook_seconds=journal.get("hookSeconds", {}),
            download_bytes=journal["downloadBytes"],
            peer_bytes=journal.get("peerBytes", 0),
            drift=journal["drift"],
            at=host_item.iso_now(),
        )
        journal.update(phase=REPORTING, report=report.to_item())
        self.state.host_state = report.status
        self._save(journal)
        self._step(REPORTING)
        protected = {build for build in (releases.current_build(self.paths), self.state.previous_build) if build}
        for build in releases.prune(self.paths, self.config.keep_releases, protected):
            self.log.info("pruned release %s", build)
        discard_download(self.paths, journal["target"])
        return self._send_report(journal)

    def _send_report(self, journal: dict[str, Any]) -> Report:
        report = Report.from_item(journal["report"])
        self.region.update_host(
            self.config.host_id,
            host_item.outcome(report, releases.current_build(self.paths), self.state.previous_build),
        )
        self.state.last_report = journal["report"]
        self._save(None)
        self._step("reported")
        self.log.info(
            "reported %s for %s (%s)", report.status, report.build_id, report.reason or f"{report.download_bytes} bytes"
        )
        return report

    # -- a restart ---------------------------------------------------------------------------------

    def resume(self) -> Report | None:
        """Finishes or rolls back the deployment the journal says was under way; the report, if it sent one."""
        journal = self.state.journal
        if journal is None:
            return None
        phase = journal["phase"]
        self.log.info("resuming a deployment of %s left in phase %s", journal["target"], phase)
        if phase == REPORTING:
            return self._send_report(journal)
        if phase == ROLLING_BACK:
            return self._roll_back(journal, Failure.from_item(journal["failure"]))
        if phase == SWITCHED:
            return self._switch_and_start(journal)
        if phase == INSTALLING:
            self._undo_install(journal)
        self.state.host_state = self._resting_state()
        self._save(None)
        return None

    def _resting_state(self) -> str:
        if self.state.last_report:
            return self.state.last_report["status"]
        return host_item.DEPLOYED if releases.current_build(self.paths) else host_item.IDLE

    def report_already_running(self, goal: Goal, target: str) -> Report:
        """The host already runs the goal's build (installed earlier, or by hand): say so for this deployment."""
        journal: dict[str, Any] = {
            "phase": REPORTING,
            "goal": goal.to_item(),
            "target": target,
            "fromBuild": target,
            "drift": False,
            "stopped": False,
            "renamed": False,
            "downloadSeconds": 0.0,
            "downloadBytes": 0,
        }
        self.state.active_build = target
        return self._finish(journal, None)
