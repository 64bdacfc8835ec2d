"""Lifecycle hooks: the artifact's `deploy.yaml` and running its scripts.

    version: 1
    hooks:
      application_stop:  [{run: hooks/stop.sh, timeout: 30}]   # runs from the release being left
      before_install:    [{run: hooks/before_install.sh, timeout: 60}]
      after_install:     [{run: hooks/after_install.sh, timeout: 60}]
      application_start: [{run: hooks/start.sh, timeout: 60}]
      validate_service:  [{run: hooks/validate.sh, timeout: 60}]

Each script runs with its release as working directory, a small known environment, its own process group
(killed whole at the timeout), and its output in a file, not a pipe: a start hook that leaves a server
running in the background must not keep the agent waiting for an end of file.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import tempfile
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

import yaml

from code_deploy_agent.host_item import OUTPUT_TAIL_CHARS, TIMEOUT

HOOKS_FILE_NAME = "deploy.yaml"
APPLICATION_STOP = "application_stop"
BEFORE_INSTALL = "before_install"
AFTER_INSTALL = "after_install"
APPLICATION_START = "application_start"
VALIDATE_SERVICE = "validate_service"
LIFECYCLE_EVENTS = (APPLICATION_STOP, BEFORE_INSTALL, AFTER_INSTALL, APPLICATION_START, VALIDATE_SERVICE)
DEFAULT_TIMEOUT_SECONDS = 60
MAX_TIMEOUT_SECONDS = 3600
# How much of a hook's output goes to the agent's log (the report keeps the last 2,048 characters).
LOGGED_OUTPUT_BYTES = 64 * 1024
PERMISSION_DENIED_EXIT, NOT_FOUND_EXIT = 126, 127  # what a shell answers for the same two failures


class HooksFileError(Exception):
    """deploy.yaml does not parse, or says something the agent cannot run."""


@dataclass(frozen=True)
class HookStep:
    script: str  # relative to the release
    timeout_seconds: float


@dataclass(frozen=True)
class Hooks:
    steps: Mapping[str, tuple[HookStep, ...]]

    def for_event(self, event: str) -> tuple[HookStep, ...]:
        return self.steps.get(event, ())


NO_HOOKS = Hooks({})


def _script_path(value: object, event: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise HooksFileError(f"{event}: `run` must name a script")
    path = PurePosixPath(value)
    if path.is_absolute() or ".." in path.parts:
        raise HooksFileError(f"{event}: {value} is not a path inside the release")
    return str(path)


def _timeout(value: object, event: str) -> float:
    if value is None:
        return DEFAULT_TIMEOUT_SECONDS
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= MAX_TIMEOUT_SECONDS:
        raise HooksFileError(f"{event}: timeout must be a number of seconds in (0, {MAX_TIMEOUT_SECONDS}]")
    return float(value)


def parse_hooks(text: str, has_file: Callable[[str], bool]) -> Hooks:
    """The hooks deploy.yaml declares, once every script it names is there."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise HooksFileError(f"{HOOKS_FILE_NAME} does not parse: {error}") from error
    if not isinstance(document, dict) or document.get("version") != 1:
        raise HooksFileError(f"{HOOKS_FILE_NAME} must be a mapping with version: 1")
    declared = document.get("hooks") or {}
    if not isinstance(declared, dict):
        raise HooksFileError("hooks must map lifecycle events to lists of scripts")
    steps: dict[str, tuple[HookStep, ...]] = {}
    for event, entries in declared.items():
        if event not in LIFECYCLE_EVENTS:
            raise HooksFileError(f"unknown lifecycle event {event!r} (known: {', '.join(LIFECYCLE_EVENTS)})")
        if not isinstance(entries, list):
            raise HooksFileError(f"{event}: a list of {{run, timeout}} entries expected")
        event_steps = []
        for entry in entries:
            if not isinstance(entry, dict) or set(entry) - {"run", "timeout"}:
                raise HooksFileError(f"{event}: each entry is {{run: <script>, timeout: <seconds>}}")
            script = _script_path(entry.get("run"), event)
            if not has_file(script):
                raise HooksFileError(f"{event}: {script} is not in the artifact")
            event_steps.append(HookStep(script, _timeout(entry.get("timeout"), event)))
        steps[event] = tuple(event_steps)
    return Hooks(steps)


def hooks_in_zip(zip_path: Path) -> Hooks:
    """The artifact's hooks, read before anything is unpacked; NO_HOOKS without a deploy.yaml."""
    try:
        with zipfile.ZipFile(zip_path) as archive:
            names = {str(PurePosixPath(name)) for name in archive.namelist() if not name.endswith("/")}
            if HOOKS_FILE_NAME not in names:
                return NO_HOOKS
            text = archive.read(HOOKS_FILE_NAME).decode("utf-8")
    except (zipfile.BadZipFile, UnicodeDecodeError) as error:
        raise HooksFileError(f"cannot read {HOOKS_FILE_NAME}: {error}") from error
    return parse_hooks(text, names.__contains__)


def hooks_in_release(release_dir: Path) -> Hooks:
    hooks_file = release_dir / HOOKS_FILE_NAME
    if not hooks_file.is_file():
        return NO_HOOKS
    return parse_hooks(hooks_file.read_text(encoding="utf-8"), lambda script: (release_dir / script).is_file())


@dataclass(frozen=True)
class HookContext:
    """What every hook of one deployment on one host is told (besides its event, build and release)."""

    deployment_id: str
    host_id: str
    group: str
    region: str
    app_port: int


class HookFailed(Exception):
    def __init__(self, event: str, exit_code: int | str, output_tail: str) -> None:
        super().__init__(f"{event} failed ({exit_code})")
        self.event = event
        self.exit_code = exit_code
        self.output_tail = output_tail


def _environment(event: str, build_id: str, release_dir: Path, context: HookContext) -> dict[str, str]:
    return {
        "LIFECYCLE_EVENT": event,
        "DEPLOYMENT_ID": context.deployment_id,
        "BUILD_ID": build_id,
        "RELEASE_DIR": str(release_dir),
        "APP_PORT": str(context.app_port),
        "HOST_ID": context.host_id,
        "GROUP": context.group,
        "REGION": context.region,
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
    }


def _output_tail(output_file: BinaryIO) -> tuple[str, str]:
    """The last LOGGED_OUTPUT_BYTES of the output (for the log) and its last 2,048 characters."""
    size = output_file.seek(0, os.SEEK_END)
    output_file.seek(max(0, size - LOGGED_OUTPUT_BYTES))
    logged = output_file.read().decode("utf-8", errors="replace")
    return logged, logged[-OUTPUT_TAIL_CHARS:]


def _run_step(
    event: str, step: HookStep, release_dir: Path, environment: dict[str, str], log: logging.Logger, scratch: Path
) -> None:
    with tempfile.TemporaryFile(dir=scratch, prefix="hook-output-") as output_file:
        try:
            process = subprocess.Popen(
                [str(release_dir / step.script)],
                cwd=release_dir,
                env=environment,
                stdin=subprocess.DEVNULL,
                stdout=output_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, killed whole at the timeout
            )
        except PermissionError as error:
            raise HookFailed(event, PERMISSION_DENIED_EXIT, f"{step.script}: {error.strerror}") from error
        except FileNotFoundError as error:
            raise HookFailed(event, NOT_FOUND_EXIT, f"{step.script}: {error.strerror}") from error
        try:
            exit_code: int | str = process.wait(timeout=step.timeout_seconds)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):  # gone between the timeout and the kill
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            exit_code = TIMEOUT
        logged, tail = _output_tail(output_file)
    log.info("hook %s %s exited %s; output:\n%s", event, step.script, exit_code, logged.rstrip())
    if exit_code != 0:
        raise HookFailed(event, exit_code, tail)


def run_event(
    event: str,
    hooks: Hooks,
    *,
    build_id: str,
    release_dir: Path,
    context: HookContext,
    log: logging.Logger,
    scratch: Path,
) -> None:
    """Runs the event's scripts in order; the first that exits non-zero or times out raises HookFailed."""
    environment = _environment(event, build_id, release_dir, context)
    for step in hooks.for_event(event):
        _run_step(event, step, release_dir, environment, log, scratch)
