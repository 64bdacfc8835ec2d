"""The agent's configuration: command-line flags, else `CODE_DEPLOY_*` environment variables, else a small
YAML (or JSON) file, else the defaults; parsed once, at start, into one typed object.

There is no endpoint here: boto3 reads AWS_ENDPOINT_URL, so the same agent talks to the emulator or AWS.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ENV_PREFIX = "CODE_DEPLOY_"
MIN_KEEP_RELEASES = 2  # the current release and the previous one, where a rollback returns


class ConfigError(Exception):
    """The configuration is incomplete or says something the agent cannot use."""


@dataclass(frozen=True)
class AgentConfig:
    region: str
    group: str
    host_id: str
    table: str  # the region's fleet table
    bucket: str  # the region's builds bucket
    agent_dir: Path
    zone: str = ""
    address: str = "127.0.0.1"
    app_port: int = 8080
    poll_seconds: float = 10.0
    heartbeat_seconds: float = 30.0
    keep_releases: int = 3
    # A cap on the artifact's download rate, 0 for none: a host's link is shared with the application it
    # serves, and the benchmark gives each local agent the bandwidth a real host would have.
    download_bytes_per_second: float = 0.0
    upload_bytes_per_second: float = 0.0  # what it sends its peers, 0 for no cap
    # The region's swarm directory (the regional stack's PeersTableName): with it the agent fetches an
    # artifact from the region's other hosts (docs/p2p.md); without it, from the bucket alone.
    peers_table: str = ""
    peer_address: str = ""  # where peers reach this host (default: address)
    peer_port: int = 0  # 0: any free port, announced as the one it got

    @property
    def swarm_address(self) -> str:
        return self.peer_address or self.address


FIELDS = {field.name: field for field in dataclasses.fields(AgentConfig)}
REQUIRED = [name for name, field in FIELDS.items() if field.default is dataclasses.MISSING]


def env_name(field_name: str) -> str:
    return ENV_PREFIX + field_name.upper()


def read_config_file(path: Path) -> dict[str, Any]:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise ConfigError(f"cannot read the config file {path}: {error}") from error
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise ConfigError(f"{path} must be a mapping of settings")
    unknown = set(document) - set(FIELDS)
    if unknown:
        raise ConfigError(f"{path}: unknown settings {', '.join(sorted(unknown))} (known: {', '.join(FIELDS)})")
    return document


CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "agent_dir": Path,
    "app_port": int,
    "poll_seconds": float,
    "heartbeat_seconds": float,
    "keep_releases": int,
    "download_bytes_per_second": float,
    "upload_bytes_per_second": float,
    "peer_port": int,
}


def _typed(name: str, value: Any) -> Any:
    convert = CONVERTERS.get(name, str)
    try:
        return convert(value)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{name}: {value!r} is not valid ({error})") from error


def load_config(flags: Mapping[str, Any], environ: Mapping[str, str], config_file: Path | None = None) -> AgentConfig:
    """The settings from flags (None: not given), environment and file, checked."""
    from_file = read_config_file(config_file) if config_file else {}
    settings: dict[str, Any] = {}
    for name in FIELDS:
        for source in (flags.get(name), environ.get(env_name(name)), from_file.get(name)):
            if source is not None and source != "":
                settings[name] = _typed(name, source)
                break
    missing = [name for name in REQUIRED if name not in settings]
    if missing:
        raise ConfigError(
            "missing settings: "
            + ", ".join(f"{name} (--{name.replace('_', '-')} or {env_name(name)})" for name in missing)
        )
    return check_config(AgentConfig(**settings))


def check_config(config: AgentConfig) -> AgentConfig:
    if config.poll_seconds <= 0 or config.heartbeat_seconds <= 0:
        raise ConfigError("poll_seconds and heartbeat_seconds must be positive")
    if config.keep_releases < MIN_KEEP_RELEASES:
        raise ConfigError(f"keep_releases must be at least {MIN_KEEP_RELEASES} (the current and the previous)")
    if config.download_bytes_per_second < 0 or config.upload_bytes_per_second < 0:
        raise ConfigError("download_bytes_per_second and upload_bytes_per_second must be 0 (no cap) or positive")
    if not 0 <= config.peer_port < 65536:
        raise ConfigError(f"peer_port {config.peer_port} is not a port (0: any free one)")
    if not 0 < config.app_port < 65536:
        raise ConfigError(f"app_port {config.app_port} is not a port")
    return config
