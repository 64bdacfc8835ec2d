"""A host in a temporary directory: its agent over a FakeRegion, the tiny app as artifacts, and the apps it
starts killed at the end of each test."""

from __future__ import annotations

import contextlib
import http.client
import io
import os
import signal
import stat
import sys
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path

from code_deploy_agent.agent import Agent
from code_deploy_agent.config import AgentConfig
from code_deploy_agent.fleet import free_port
from code_deploy_agent.host_item import Report
from tests.unit.agent_fixtures.fake_region import FakeRegion, PublishedBuild

APP_DIR = Path(__file__).parent / "app"
GROUP = "web"
REGION = "us-east-1"
ZIP_DATE = (2020, 1, 1, 0, 0, 0)


def app_files() -> dict[str, bytes]:
    return {str(path.relative_to(APP_DIR)): path.read_bytes() for path in sorted(APP_DIR.rglob("*")) if path.is_file()}


def app_artifact(build_id: str, changes: Mapping[str, str | bytes | None] | None = None) -> bytes:
    """The tiny app as a zip, with some files changed (None: left out); scripts executable. Its build id
    goes in as a file, so every build's artifact differs."""
    files: dict[str, bytes | None] = {**app_files(), "BUILD": build_id.encode()}
    for name, content in (changes or {}).items():
        files[name] = content.encode() if isinstance(content, str) else content
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in sorted(files.items()):
            if content is None:
                continue
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            mode = 0o755 if name.endswith(".sh") else 0o644
            info.external_attr = (stat.S_IFREG | mode) << 16
            archive.writestr(info, content)
    return buffer.getvalue()


def hooks_path() -> str:
    """PATH for hooks: this interpreter's python3 first (fast to start, the same everywhere)."""
    return f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}"


class Host:
    def __init__(self, root: Path, region: FakeRegion, host_id: str = "host-001", keep_releases: int = 3) -> None:
        self.region = region
        self.host_id = host_id
        self.config = AgentConfig(
            region=REGION,
            group=GROUP,
            host_id=host_id,
            table="fleet",
            bucket="builds",
            agent_dir=root / host_id,
            zone=f"{REGION}a",
            app_port=free_port(),
            poll_seconds=0.05,
            heartbeat_seconds=60,
            keep_releases=keep_releases,
        )
        self.dir = self.config.agent_dir
        self.agents: list[Agent] = []

    def agent(self, on_step: Callable[[str], None] | None = None) -> Agent:
        """A new agent process on this host (the previous one, if any, is gone), started: registered, and
        done with whatever its predecessor left under way."""
        agent = Agent(self.config, self.region, on_step=on_step)
        self.agents.append(agent)
        agent.start()
        return agent

    def deploy(self, build: PublishedBuild, deployment_id: str, **goal: object) -> Report | None:
        self.region.set_goal(GROUP, build, deployment_id, **goal)
        return self.agent().poll_once()

    def publish(self, build_id: str, changes: Mapping[str, str | bytes | None] | None = None) -> PublishedBuild:
        return self.region.publish(build_id, app_artifact(build_id, changes))

    @property
    def item(self) -> dict:
        return self.region.hosts[self.host_id]

    def current(self) -> str | None:
        link = self.dir / "current"
        return Path(os.readlink(link)).name if link.is_symlink() else None

    def releases(self) -> list[str]:
        releases_dir = self.dir / "releases"
        return sorted(entry.name for entry in releases_dir.iterdir()) if releases_dir.exists() else []

    def health(self) -> str | None:
        """What the app answers on GET /health; None when nothing listens."""
        connection = http.client.HTTPConnection("127.0.0.1", self.config.app_port, timeout=2)
        try:
            connection.request("GET", "/health")
            return connection.getresponse().read().decode()
        except OSError:
            return None
        finally:
            connection.close()

    def close(self) -> None:
        """Kills every process still working in this host's directory (the apps its releases started, a
        hook's leftovers), closes the agents' logs."""
        kill_processes_under(self.dir)
        for agent in self.agents:
            agent.close()


def kill_processes_under(directory: Path) -> None:
    root = str(directory.resolve())
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            cwd = os.readlink(proc / "cwd")
        except OSError:
            continue  # gone, or not ours to look at
        if cwd == root or cwd.startswith(root + os.sep):
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(proc.name), signal.SIGKILL)
