"""A local fleet of real hosts: code-deploy-agent processes against the deployed stacks (the emulator's, with
`make fleet`), one process a region, each running AGENTS agents of one group, registered in the region's
fleet table as hosts would be. No redeploy: the names come from the regional stacks' outputs.

    python -m tools.fleet start [--agents 5] [--group fleet] [--dir .fleet] [--regions a,b] [--timeout 120]
    python -m tools.fleet stop [--dir .fleet]

`start` returns once every agent has registered (a host item written since it started), or stops what it
started and says why. Each agent lives in `<dir>/<region>/<hostId>/` (its releases, state, log, pid file);
each region's process logs to `<dir>/<region>/fleet.log`. `stop` stops the agents by their pid files, then
their apps (`code-deploy-agent stop --apps`). The endpoint comes from the environment (AWS_ENDPOINT_URL, as
make's LOCAL_ENV sets it): boto3 and the agents read it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import boto3

from code_deploy.hosts import fleet
from tools.stack import outputs, regional_outputs, regions

REPO = Path(__file__).resolve().parent.parent
AGENT = REPO / ".venv" / "agent" / "bin" / "code-deploy-agent"
DEFAULT_DIR = REPO / ".fleet"
DEFAULT_GROUP = "fleet"
# Locally, quick: a goal is seen within 2 s, and a host is known alive every 5 s.
POLL_SECONDS = 2.0
HEARTBEAT_SECONDS = 5.0
DEFAULT_TIMEOUT_SECONDS = 120.0
WAIT_SLICE_SECONDS = 0.5
STOP_TIMEOUT_SECONDS = 120.0
GONE_SECONDS = 24 * 3600
PAD_CHUNK_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class AgentTiming:
    """How often each agent polls and heartbeats, its link's rate caps (0: none), and whether the agents
    fetch from each other (the region's swarm) or each from the bucket."""

    poll_seconds: float = POLL_SECONDS
    heartbeat_seconds: float = HEARTBEAT_SECONDS
    download_bytes_per_second: float = 0.0
    upload_bytes_per_second: float = 0.0
    p2p: bool = False


class FleetError(RuntimeError):
    """The fleet could not start (or stop); the message says why and where to look."""


@dataclass(frozen=True)
class RegionFleet:
    """One region's agents: their process, its log, the names they use, and their host ids' prefix."""

    region: str
    process: subprocess.Popen
    log: Path
    table: str
    prefix: str


def host_prefix(region: str, group: str) -> str:
    """The agents' host ids are `<region>-<group>-001`, ...: a group's hosts are its own, run after run."""
    return f"{region}-{group}"


def agent_environment() -> dict[str, str]:
    """The environment with this checkout's agent first on the path: the agent's virtualenv installs it
    editable, but from the checkout that made the virtualenv, which a git worktree's is not."""
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join([str(REPO / "agent"), *filter(None, [os.environ.get("PYTHONPATH")])])
    return environment


def running_agents(base_dir: Path) -> list[Path]:
    """The pid files under base_dir whose process still runs."""
    running = []
    for pid_file in base_dir.rglob("agent.pid"):
        try:
            os.kill(int(pid_file.read_text()), 0)
        except (ValueError, OSError):
            continue
        running.append(pid_file)
    return running


def _iso_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def spawn(
    region: str,
    group: str,
    agents: int,
    base_dir: Path,
    names: dict[str, str],
    timing: AgentTiming,
    *,
    network: int = 1,
    prefix: str | None = None,
) -> RegionFleet:
    """One process of `agents` agents of the group (host ids `<prefix>-001`, ..., by default the group's
    own), logging to `<base_dir>/<region>/<prefix>.log`."""
    region_dir = base_dir / region
    region_dir.mkdir(parents=True, exist_ok=True)
    prefix = prefix or host_prefix(region, group)
    log = region_dir / ("fleet.log" if prefix == host_prefix(region, group) else f"{prefix}.log")
    command = [
        str(AGENT), "fleet", "--region", region, "--group", group, "--count", str(agents), "--dir", str(base_dir),
        "--table", names["FleetTableName"], "--bucket", names["RegionalBuildsBucketName"], "--prefix", prefix,
        "--poll-seconds", str(timing.poll_seconds), "--heartbeat-seconds", str(timing.heartbeat_seconds),
        "--download-bytes-per-second", str(timing.download_bytes_per_second),
        "--upload-bytes-per-second", str(timing.upload_bytes_per_second),
    ]  # fmt: skip
    if timing.p2p:
        command += ["--peers-table", names["PeersTableName"], "--peer-network", str(network)]
    with log.open("ab") as output:
        # A session of its own: the agents outlive `make fleet`, and a Ctrl-C in its terminal does not reach them.
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            env=agent_environment(),
            cwd=REPO,
            start_new_session=True,
        )
    return RegionFleet(region, process, log, names["FleetTableName"], prefix)


def _registered(region_fleet: RegionFleet, group: str, since: str) -> list[str]:
    """The fleet's host ids whose agents registered since `since` (ISO-8601 UTC), from the group's index."""
    table = boto3.resource("dynamodb", region_name=region_fleet.region).Table(region_fleet.table)
    return [
        host.host_id
        for host in fleet.group_hosts(table, group)
        if host.host_id.startswith(region_fleet.prefix + "-") and host.registered_at >= since
    ]


def _log_tail(log: Path, lines: int = 5) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def wait_for_registration(
    fleets: list[RegionFleet], group: str, agents: int, since: str, timeout: float
) -> dict[str, list[str]]:
    """Polls each region's fleet table until all its agents have registered; region -> host ids. Raises
    FleetError when a region's process ends, or at the timeout, naming the regions still short."""
    deadline = time.monotonic() + timeout
    registered: dict[str, list[str]] = {}
    while True:
        for region_fleet in fleets:
            if region_fleet.process.poll() is not None:
                raise FleetError(
                    f"the agents of {region_fleet.region} exited ({region_fleet.process.returncode}); "
                    f"{region_fleet.log}:\n{_log_tail(region_fleet.log)}"
                )
            if len(registered.get(region_fleet.region, ())) < agents:
                registered[region_fleet.region] = sorted(_registered(region_fleet, group, since))
        short = [f.region for f in fleets if len(registered[f.region]) < agents]
        if not short:
            return registered
        if time.monotonic() > deadline:
            counts = ", ".join(f"{region} {len(registered[region])}/{agents}" for region in short)
            logs = ", ".join(str(f.log) for f in fleets if f.region in short)
            raise FleetError(f"agents not registered after {timeout:.0f} s ({counts}); see {logs}")
        time.sleep(WAIT_SLICE_SECONDS)


def terminate(fleets: list[RegionFleet]) -> None:
    for region_fleet in fleets:
        if region_fleet.process.poll() is None:
            region_fleet.process.send_signal(signal.SIGTERM)
    for region_fleet in fleets:
        try:
            region_fleet.process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            region_fleet.process.kill()
            region_fleet.process.wait()


def start(
    *,
    agents: int,
    group: str = DEFAULT_GROUP,
    base_dir: Path = DEFAULT_DIR,
    only_regions: list[str] | None = None,
    timing: AgentTiming = AgentTiming(),
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> dict[str, list[str]]:
    """Starts `agents` agents of `group` in each region of the deployed stack (or `only_regions`), one
    process a region; returns region -> the registered host ids once every agent has registered."""
    if agents < 1:
        raise FleetError("at least one agent a region")
    base_dir = base_dir.resolve()  # the agents run from the repository's root
    if not AGENT.exists():
        raise FleetError(f"{AGENT} is missing: `make venvs` installs it")
    stack_outputs = outputs()
    stack_regions = regions(stack_outputs)
    chosen = only_regions or stack_regions
    unknown = sorted(set(chosen) - set(stack_regions))
    if unknown:
        raise FleetError(f"not regions of the stack: {', '.join(unknown)} (its regions: {', '.join(stack_regions)})")
    for region in chosen:
        if running_agents(base_dir / region):
            raise FleetError(f"agents already run under {base_dir / region}: stop them first (make fleet-stop)")
    since = _iso_now()
    fleets: list[RegionFleet] = []
    try:
        for region in chosen:
            names = regional_outputs(stack_outputs, region)
            # Each region's agents on a loopback network of their own (127.<n>.x.y), as regions are apart.
            network = 1 + stack_regions.index(region)
            fleets.append(spawn(region, group, agents, base_dir, names, timing, network=network))
        return wait_for_registration(fleets, group, agents, since, timeout)
    except BaseException:
        terminate(fleets)
        raise


def padded_application(example: str, pad_bytes: int, into: Path) -> Path:
    """examples/<example> copied to `into`, with a file of `pad_bytes` random bytes: a zip cannot shrink them,
    and each copy is bytes no agent holds a piece of, so its artifact is that many bytes more to fetch."""
    shutil.copytree(REPO / "examples" / example, into, ignore=shutil.ignore_patterns("__pycache__"))
    with (into / "padding.bin").open("wb") as pad:
        for offset in range(0, pad_bytes, PAD_CHUNK_BYTES):
            pad.write(os.urandom(min(PAD_CHUNK_BYTES, pad_bytes - offset)))
    return into


def make_silent(fleet_table, host_id: str, seconds: float) -> None:
    """The host's last heartbeat `seconds` ago, as if its agent had been gone that long."""
    fleet_table.update_item(
        Key={"pk": fleet.host_key(host_id)},
        UpdateExpression="SET heartbeatAt = :then",
        ExpressionAttributeValues={":then": int(time.time() - seconds)},
    )


def retire(fleet_table, group: str) -> None:
    """Marks the group's hosts gone for good, their agents stopped for good: their last heartbeat a day ago,
    so the next deployment leaves them out at once (lost) rather than counting them until
    HostLostAfterSeconds has passed, and no one counts them among the region's live hosts."""
    for host in fleet.group_hosts(fleet_table, group):
        make_silent(fleet_table, host.host_id, GONE_SECONDS)


def stop(base_dir: Path = DEFAULT_DIR, apps: bool = True) -> int:
    """Stops every agent with a pid file under base_dir (and then their apps); code-deploy-agent's status."""
    base_dir = base_dir.resolve()
    if not base_dir.exists():
        return 0
    command = [str(AGENT), "stop", "--dir", str(base_dir), "--timeout", str(STOP_TIMEOUT_SECONDS)]
    done = subprocess.run(command + (["--apps"] if apps else []), env=agent_environment(), cwd=REPO, check=False)
    return done.returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    start_command = commands.add_parser("start", help="start the agents and wait until every one has registered")
    start_command.add_argument("--agents", type=int, default=5, help="agents in each region (default 5)")
    start_command.add_argument("--group", default=DEFAULT_GROUP, help=f"their group (default {DEFAULT_GROUP})")
    start_command.add_argument("--regions", help="some of the stack's regions, comma-separated (default: every one)")
    start_command.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    start_command.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_SECONDS)
    start_command.add_argument(
        "--no-p2p", dest="p2p", action="store_false", help="each agent fetches from the bucket (default: peer to peer)"
    )
    stop_command = commands.add_parser("stop", help="stop the agents under DIR, then their apps")
    stop_command.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    args = parser.parse_args(argv)
    if args.command == "stop":
        return stop(args.dir)
    try:
        registered = start(
            agents=args.agents,
            group=args.group,
            base_dir=args.dir,
            only_regions=args.regions.split(",") if args.regions else None,
            timeout=args.timeout,
            timing=AgentTiming(p2p=args.p2p),
        )
    except FleetError as error:
        print(f"fleet: {error}", file=sys.stderr)
        return 1
    for region, host_ids in registered.items():
        print(f"{region}: {len(host_ids)} agents of group {args.group} registered ({host_ids[0]} ... {host_ids[-1]})")
    print(f"see them: deployctl hosts <region>; stop them: make fleet-stop (agents under {args.dir})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
