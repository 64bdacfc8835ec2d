"""deployctl: submit builds of sam-code-deploy, follow them live to every host, read their status.

It talks to the deployed stack's API with SigV4 (your AWS credentials; the emulator's by default) and
finds the API from the stack's outputs. Exit status: 0 done, 1 the build FAILED (or --timeout passed),
2 deployctl could not do what was asked (the message says why).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from typing import Any

from rich.console import Console

from deployctl.api import Api, ApiError, DeployctlError, Target
from deployctl.view import FINAL_STATES, BuildProgress, builds_table, log_line_text, outcome, status_renderable

POLL_SECONDS = 0.5
DEFAULT_TIMEOUT_SECONDS = 600
EXIT_OK, EXIT_FAILED, EXIT_ERROR = 0, 1, 2
# Answers worth polling through while following a build: throttling and the API's own hiccups.
TRANSIENT_STATUSES = (429, 500, 502, 503, 504)
MAX_PAGE_SIZE = 50  # GET /builds's largest page
DEFAULT_DASHBOARD_PORT = 8089


def _print_json(console: Console, value: Any) -> None:
    console.out(json.dumps(value, indent=2), highlight=False)


def follow(
    api: Api,
    build_id: str,
    console: Console,
    as_json: bool,
    timeout: float,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Polls the build until it is DEPLOYED or FAILED, showing live progress; the exit status."""
    deadline = time.monotonic() + timeout
    progress = None if as_json else BuildProgress(console)
    view: dict[str, Any] | None = None
    try:
        if progress:
            progress.progress.start()
        while True:
            try:
                view = api.get_build(build_id)
            except ApiError as error:
                if error.status not in TRANSIENT_STATUSES or view is None:
                    raise
            if progress:
                progress.update(view)
            if view["deploymentStatus"] in FINAL_STATES or time.monotonic() > deadline:
                break
            sleep(POLL_SECONDS)
    finally:
        if progress:
            progress.progress.stop()
    result = outcome(view)
    if as_json:
        _print_json(console, view)
    elif result.finished:
        console.print(result.message, style="green" if result.succeeded else "red", highlight=False)
    if not result.finished:
        message = f"TIMEOUT: {build_id} still {view['deploymentStatus']} after {timeout:.0f} s"
        print(message, file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK if result.succeeded else EXIT_FAILED


# --- commands ------------------------------------------------------------------------------------------


def cmd_build(args: argparse.Namespace, api: Api, console: Console) -> int:
    accepted = api.submit_build(args.commit)
    if not args.wait:
        if args.json:
            _print_json(console, accepted)
        else:
            console.print(
                f"queued {accepted['buildId']} (commit {accepted['commit']}); "
                f"follow it with: deployctl watch {accepted['buildId']}",
                highlight=False,
            )
        return EXIT_OK
    if not args.json:
        console.print(f"queued {accepted['buildId']} (commit {accepted['commit']})", highlight=False)
    return follow(api, accepted["buildId"], console, args.json, args.timeout)


def cmd_watch(args: argparse.Namespace, api: Api, console: Console) -> int:
    return follow(api, args.id, console, args.json, args.timeout)


def cmd_status(args: argparse.Namespace, api: Api, console: Console) -> int:
    view = api.get_build(args.build_id)
    if args.json:
        _print_json(console, view)
    else:
        console.print(status_renderable(view))
    return EXIT_OK


def cmd_builds(args: argparse.Namespace, api: Api, console: Console) -> int:
    builds: list[dict[str, Any]] = []
    cursor = args.cursor
    while True:
        page = api.list_builds(limit=min(args.limit - len(builds), MAX_PAGE_SIZE), cursor=cursor)
        builds.extend(page["builds"])
        cursor = page.get("nextCursor")
        if not cursor or len(builds) >= args.limit:
            break
    if args.json:
        _print_json(console, {"builds": builds, "nextCursor": cursor})
        return EXIT_OK
    console.print(builds_table(builds))
    if cursor:
        console.print(f"older builds: deployctl builds --cursor {cursor}", highlight=False, soft_wrap=True)
    return EXIT_OK


def cmd_logs(args: argparse.Namespace, api: Api, console: Console) -> int:
    from deployctl import logs  # the log readers' imports only for this command

    # The API first: an unknown or malformed build id gets the API's own answer, and the status names
    # the build's replication execution.
    view = api.get_build(args.build_id)
    lines = logs.build_log_lines(api, args.build_id, view.get("replication", {}).get("executionId"))
    if args.json:
        _print_json(console, {"buildId": args.build_id, "lines": [line.as_json() for line in lines]})
        return EXIT_OK
    for line in lines:
        console.print(log_line_text(line), soft_wrap=True, highlight=False)
    if not lines:
        console.print(f"no log lines name {args.build_id} yet", highlight=False)
    return EXIT_OK


def cmd_dashboard(args: argparse.Namespace, api: Api, console: Console) -> int:
    from deployctl import dashboard  # the server's imports only for this command

    def ready(url: str) -> None:
        if args.json:
            # One line, so a script can read the URL as soon as the server listens.
            console.out(json.dumps({"url": url}), highlight=False)
        else:
            console.print(f"dashboard of stack {api.target.stack_name} on {url} (Ctrl-C stops it)", highlight=False)
        console.file.flush()

    try:
        dashboard.serve(api, args.port, on_ready=ready)
    except OSError as error:
        raise DeployctlError(f"cannot serve on 127.0.0.1:{args.port}: {error.strerror or error}") from None
    except KeyboardInterrupt:
        pass
    return EXIT_OK


# --- the parser ----------------------------------------------------------------------------------------

COMMANDS: dict[str, tuple[Callable[[argparse.Namespace, Api, Console], int], str, str]] = {
    "build": (
        cmd_build,
        "submit a build of a commit (--wait: follow it to every host)",
        "deployctl build 9fceb02d0ae598e95dc970b74767f19372d61af8 --wait",
    ),
    "watch": (
        cmd_watch,
        "follow a build that is already running, live, until it is DEPLOYED or FAILED",
        "deployctl watch build-20261123T014547Z-06418f7e",
    ),
    "status": (
        cmd_status,
        "a build's status: each region's replication and hosts, the history",
        "deployctl status build-20261123T014547Z-06418f7e --json",
    ),
    "builds": (
        cmd_builds,
        "recent builds, newest first: status and hosts of each",
        "deployctl builds --limit 50",
    ),
    "logs": (
        cmd_logs,
        "a build's log lines from every function of every region and its state machine, in time order",
        "deployctl logs build-20261123T014547Z-06418f7e",
    ),
    "dashboard": (
        cmd_dashboard,
        "a live page of the builds on 127.0.0.1, proxying the API with your credentials",
        "deployctl dashboard --port 8089",
    ),
}


def _common_options(parser: argparse.ArgumentParser, top_level: bool) -> None:
    # Accepted before or after the command; a subcommand's default must not overwrite the top level's.
    default = None if top_level else argparse.SUPPRESS
    parser.add_argument(
        "--json",
        action="store_true",
        default=False if top_level else argparse.SUPPRESS,
        help="print the API's JSON instead of tables and progress bars (for scripts)",
    )
    parser.add_argument("--stack", default=default, help="the stack's name (default: $STACK_NAME or sam-code-deploy)")
    parser.add_argument("--region", default=default, help="the stack's region (default: $AWS_REGION or us-east-1)")
    parser.add_argument(
        "--endpoint-url",
        default=default,
        help="the emulator's URL (default: $AWS_ENDPOINT_URL or http://127.0.0.1:4566)",
    )
    parser.add_argument(
        "--aws",
        action="store_true",
        default=False if top_level else argparse.SUPPRESS,
        help="talk to AWS itself with your credentials, not to the emulator",
    )


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def parser() -> argparse.ArgumentParser:
    examples = "\n".join(f"  {example}" for _, _, example in COMMANDS.values())
    top = argparse.ArgumentParser(
        prog="deployctl",
        description=__doc__,
        epilog=f"examples:\n{examples}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common_options(top, top_level=True)
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (handler, summary, example) in COMMANDS.items():
        command = commands.add_parser(
            name,
            help=summary,
            description=summary,
            epilog=f"example:\n  {example}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        command.set_defaults(handler=handler)
        _common_options(command, top_level=False)
        if name == "build":
            command.add_argument("commit", help="the git commit to build: 7 to 64 lowercase hex digits")
            command.add_argument("--wait", action="store_true", help="follow the build live until DEPLOYED or FAILED")
        elif name == "watch":
            command.add_argument("id", metavar="buildId", help="the build to follow")
        elif name in ("status", "logs"):
            command.add_argument("build_id", metavar="buildId")
        elif name == "builds":
            command.add_argument("--limit", type=_positive, default=20, help="how many builds (default 20)")
            command.add_argument("--cursor", help="start after the builds a previous listing showed")
        elif name == "dashboard":
            command.add_argument(
                "--port",
                type=int,
                default=DEFAULT_DASHBOARD_PORT,
                help=f"default {DEFAULT_DASHBOARD_PORT}; 0 for any free port",
            )
        if name in ("build", "watch"):
            command.add_argument(
                "--timeout",
                type=float,
                default=DEFAULT_TIMEOUT_SECONDS,
                help=f"give up after this many seconds (default {DEFAULT_TIMEOUT_SECONDS})",
            )
    return top


def main(argv: list[str] | None = None, console: Console | None = None) -> int:
    args = parser().parse_args(argv)
    # Piped into a file or a CI log, tables and bars get room for a build id instead of 80 columns.
    console = console or Console(highlight=False, width=None if sys.stdout.isatty() else 160)
    target = Target.resolve(args.stack, args.region, args.endpoint_url, args.aws)
    try:
        return args.handler(args, Api(target), console)
    except DeployctlError as error:
        print(f"deployctl: {error}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("deployctl: interrupted", file=sys.stderr)
        return 130
