"""The agent's own disk: where things live under its directory, and its state file.

The state file is what makes the agent restart-safe: the journal of an install under way (its phase, the
goal, what has been done), the last report sent (so a goal already reported is not reported again), the
build the agent itself last made current (so a change by hand shows as drift) and the one before it.
Every write is atomic: a temporary file, fsync, rename over the old one, fsync of the directory.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

STATE_FILE = "state.json"
PID_FILE = "agent.pid"


@dataclass(frozen=True)
class AgentPaths:
    root: Path

    @property
    def releases(self) -> Path:
        return self.root / "releases"

    @property
    def current(self) -> Path:
        return self.root / "current"

    @property
    def downloads(self) -> Path:
        return self.root / "downloads"

    @property
    def state_file(self) -> Path:
        return self.root / STATE_FILE

    @property
    def log_file(self) -> Path:
        return self.root / "agent.log"

    @property
    def pid_file(self) -> Path:
        return self.root / PID_FILE

    def release(self, build_id: str) -> Path:
        return self.releases / build_id

    def staging(self, build_id: str) -> Path:
        return self.releases / f".staging-{build_id}"

    def make(self) -> None:
        for directory in (self.root, self.releases, self.downloads):
            directory.mkdir(parents=True, exist_ok=True)


def fsync_directory(directory: Path) -> None:
    """Makes a rename or a new name in the directory durable."""
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def write_json_atomically(path: Path, document: Any) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    with open(temporary, "w", encoding="utf-8") as file:
        json.dump(document, file, indent=1, sort_keys=True)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)
    fsync_directory(path.parent)


@dataclass
class AgentState:
    host_id: str | None = None  # the host this directory belongs to
    group: str | None = None
    region: str | None = None
    host_state: str = "IDLE"
    active_build: str | None = None  # what the agent itself last made current
    previous_build: str | None = None  # what was current before that
    app_port: int | None = None
    last_report: dict[str, Any] | None = None  # the report map as sent
    journal: dict[str, Any] | None = None  # the install under way, see deploy.py


def load_state(paths: AgentPaths) -> AgentState:
    try:
        document = json.loads(paths.state_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return AgentState()
    known = {name: document[name] for name in AgentState.__dataclass_fields__ if name in document}
    return AgentState(**known)


def save_state(paths: AgentPaths, state: AgentState) -> None:
    write_json_atomically(paths.state_file, asdict(state))
