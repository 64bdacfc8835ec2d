"""code-deploy-agent: run the host agent, a local fleet of them, or stop them.

  code-deploy-agent run --config /etc/code-deploy-agent/config.yaml
  code-deploy-agent fleet --region us-east-1 --group web --count 200 --dir .fleet
  code-deploy-agent stop --dir .fleet [--apps]

Exit status: 0 done, 1 some agent (or app) did not stop, 2 the agent could not start (the message says why).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
from pathlib import Path

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from code_deploy_agent.aws_region import AwsPeerDirectory, AwsRegion
from code_deploy_agent.config import FIELDS, ConfigError, load_config
from code_deploy_agent.fleet import FleetSwarm, fleet_configs, run_agents, stop_agents, stop_apps, stop_on_signals

EXIT_OK, EXIT_NOT_STOPPED, EXIT_ERROR = 0, 1, 2
DEFAULT_FLEET_DIR = ".fleet"
DEFAULT_STOP_TIMEOUT_SECONDS = 120.0
MAX_CONNECTIONS = 64  # a fleet shares its clients: enough connections for its agents' concurrent calls


def _run(args: argparse.Namespace) -> int:
    flags = {name: getattr(args, name) for name in FIELDS}
    config = load_config(flags, os.environ, args.config)
    stop = threading.Event()
    stop_on_signals(stop)
    directory = AwsPeerDirectory(config.region, config.peers_table) if config.peers_table else None
    run_agents(
        [config], AwsRegion(config.region, config.table, config.bucket), stop, log_to_stderr=True, directory=directory
    )
    return EXIT_OK


def _stack_name() -> str:
    return os.environ.get("STACK_NAME", "sam-code-deploy")


def _default_table(region: str) -> str:
    """The fleet table of the regional stack (`<stack>-<region>`), as docs/agent.md names it."""
    return os.environ.get("CODE_DEPLOY_TABLE") or f"{_stack_name()}-{region}-fleet"


def _default_bucket(region: str) -> str:
    """The regional stack's builds bucket: `<stack>-builds-<account>-<region>` (regional.yaml)."""
    if os.environ.get("CODE_DEPLOY_BUCKET"):
        return os.environ["CODE_DEPLOY_BUCKET"]
    try:
        account = boto3.client("sts", region_name=region).get_caller_identity()["Account"]
    except (BotoCoreError, ClientError) as error:
        raise ConfigError(f"no --bucket given and the account is unknown ({error})") from error
    return f"{_stack_name()}-builds-{account}-{region}"


def _fleet(args: argparse.Namespace) -> int:
    if args.count < 1:
        raise ConfigError("--count must be at least 1")
    configs = fleet_configs(
        region=args.region,
        group=args.group,
        count=args.count,
        base_dir=Path(args.dir),
        table=args.table or _default_table(args.region),
        bucket=args.bucket or _default_bucket(args.region),
        prefix=args.prefix,
        zones=args.zones.split(",") if args.zones else None,
        poll_seconds=args.poll_seconds,
        heartbeat_seconds=args.heartbeat_seconds,
        keep_releases=args.keep_releases,
        download_bytes_per_second=args.download_bytes_per_second,
        swarm=FleetSwarm(args.peers_table, args.peer_network, args.upload_bytes_per_second)
        if args.peers_table
        else None,
    )
    stop = threading.Event()
    stop_on_signals(stop)
    region = AwsRegion(
        args.region, configs[0].table, configs[0].bucket, max_connections=max(10, min(len(configs), MAX_CONNECTIONS))
    )
    print(
        f"code-deploy-agent: {len(configs)} agents of {args.region}/{args.group} under {args.dir} (pid {os.getpid()});"
        f" stop them with: code-deploy-agent stop --dir {args.dir}",
        file=sys.stderr,
    )
    directory = (
        AwsPeerDirectory(args.region, args.peers_table, max_connections=max(10, min(len(configs), MAX_CONNECTIONS)))
        if args.peers_table
        else None
    )
    run_agents(configs, region, stop, directory=directory)
    return EXIT_OK


def _stop(args: argparse.Namespace) -> int:
    base_dir = Path(args.dir)
    running = stop_agents(base_dir, args.timeout)
    if running:
        print(f"code-deploy-agent: still running after {args.timeout} s: {running}", file=sys.stderr)
        return EXIT_NOT_STOPPED
    if args.apps:
        failed = stop_apps(base_dir)
        if failed:
            print(f"code-deploy-agent: application_stop failed on {', '.join(failed)}", file=sys.stderr)
            return EXIT_NOT_STOPPED
    return EXIT_OK


def _add_agent_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, help="a YAML or JSON file of settings (the flags win over it)")
    for name in FIELDS:
        parser.add_argument(
            f"--{name.replace('_', '-')}", dest=name, default=None, help=f"or $CODE_DEPLOY_{name.upper()}"
        )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="code-deploy-agent", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run one host's agent until SIGTERM")
    _add_agent_flags(run)
    run.set_defaults(handler=_run)

    fleet = commands.add_parser("fleet", help="run COUNT agents in this process, each in DIR/REGION/HOST_ID")
    fleet.add_argument("--region", required=True)
    fleet.add_argument("--group", required=True)
    fleet.add_argument("--count", type=int, required=True)
    fleet.add_argument("--dir", default=DEFAULT_FLEET_DIR)
    fleet.add_argument(
        "--table", help="the region's fleet table (default $CODE_DEPLOY_TABLE, else <stack>-<region>-fleet)"
    )
    fleet.add_argument("--bucket", help="the region's builds bucket (default $CODE_DEPLOY_BUCKET, else the stack's)")
    fleet.add_argument("--prefix", help="host ids are <prefix>-001, ... (default <region>-agent)")
    fleet.add_argument("--zones", help="zone labels given round-robin, comma-separated (default <region>a,b,c)")
    fleet.add_argument("--poll-seconds", type=float, default=5.0)
    fleet.add_argument("--heartbeat-seconds", type=float, default=30.0)
    fleet.add_argument("--keep-releases", type=int, default=3)
    fleet.add_argument("--download-bytes-per-second", type=float, default=0.0, help="each agent's cap (0: none)")
    fleet.add_argument("--upload-bytes-per-second", type=float, default=0.0, help="each agent's cap (0: none)")
    fleet.add_argument(
        "--peers-table", help="the region's swarm directory: the agents fetch from each other (default: bucket only)"
    )
    fleet.add_argument(
        "--peer-network", type=int, default=1, help="the agents' addresses are 127.N.<zone rack>.<n> (default 1)"
    )
    fleet.set_defaults(handler=_fleet)

    stop = commands.add_parser("stop", help="stop the agents whose pid files are under DIR")
    stop.add_argument("--dir", default=DEFAULT_FLEET_DIR)
    stop.add_argument("--apps", action="store_true", help="then run each agent's application_stop hook")
    stop.add_argument("--timeout", type=float, default=DEFAULT_STOP_TIMEOUT_SECONDS)
    stop.set_defaults(handler=_stop)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # The agent's own messages at INFO; the libraries' (botocore's credential lookups and the like) only when
    # something is wrong.
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("code_deploy_agent").setLevel(logging.INFO)
    try:
        return args.handler(args)
    except ConfigError as error:
        print(f"code-deploy-agent: {error}", file=sys.stderr)
        return EXIT_ERROR
