"""deployctl: submit builds of sam-code-deploy (of a commit, or push an application's directory) and follow
them live to every host; deploy a build in waves, follow, pause, resume, promote or abort the deployment;
read builds', deployments', regions' and hosts' status.

It talks to the deployed stack's API with SigV4 (your AWS credentials; the emulator's by default) and
finds the API from the stack's outputs. Exit status: 0 done, 1 the build FAILED or the deployment did not
succeed (or --timeout passed), 2 deployctl could not do what was asked (the message says why).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from http import HTTPStatus
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.text import Text

from deployctl import deployment_view, push
from deployctl.api import Api, ApiError, DeployctlError, Target
from deployctl.deployment_view import DeploymentProgress, is_deployment_id
from deployctl.view import (
    FINAL_STATES,
    BuildProgress,
    Outcome,
    builds_table,
    log_line_text,
    outcome,
    status_renderable,
)

POLL_SECONDS = 0.5
DEFAULT_TIMEOUT_SECONDS = 600
EXIT_OK, EXIT_FAILED, EXIT_ERROR = 0, 1, 2
# Answers worth polling through while following a build: throttling and the API's own hiccups.
TRANSIENT_STATUSES = (429, 500, 502, 503, 504)
MAX_PAGE_SIZE = 50  # the largest page of GET /builds, GET /deployments and GET /regions/{region}/hosts
DEFAULT_HOSTS_LIMIT = 500
DEPLOYMENT_ACTIONS = ("pause", "resume", "promote", "approve", "abort", "rollback")
DEFAULT_DASHBOARD_PORT = 8089


def _print_json(console: Console, value: Any) -> None:
    console.out(json.dumps(value, indent=2), highlight=False)


def poll(
    fetch: Callable[[], dict[str, Any]],
    is_final: Callable[[dict[str, Any]], bool],
    progress: BuildProgress | DeploymentProgress | None,
    timeout: float,
    sleep: Callable[[float], None],
) -> dict[str, Any]:
    """Fetches a view until it is final or the timeout passes, drawing each one; the last view. A transient
    API error after the first answer is polled through."""
    deadline = time.monotonic() + timeout
    view: dict[str, Any] | None = None
    try:
        if progress:
            progress.progress.start()
        while True:
            try:
                view = fetch()
            except ApiError as error:
                if error.status not in TRANSIENT_STATUSES or view is None:
                    raise
            if progress:
                progress.update(view)
            if is_final(view) or time.monotonic() > deadline:
                return view
            sleep(POLL_SECONDS)
    finally:
        if progress:
            progress.progress.stop()


def _finish(
    console: Console, view: dict[str, Any], result: Outcome, identifier: str, state: str, as_json: bool, timeout: float
) -> int:
    if as_json:
        _print_json(console, view)
    elif result.finished:
        # A reason is text: a region list in brackets is not rich markup.
        console.print(Text(result.message, style="green" if result.succeeded else "red"), soft_wrap=True)
    if not result.finished:
        print(f"TIMEOUT: {identifier} still {state} after {timeout:.0f} s", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK if result.succeeded else EXIT_FAILED


def follow(
    api: Api,
    build_id: str,
    console: Console,
    as_json: bool,
    timeout: float,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Polls the build until it is DEPLOYED or FAILED, showing live progress; the exit status."""
    view = poll(
        lambda: api.get_build(build_id),
        lambda view: view["deploymentStatus"] in FINAL_STATES,
        None if as_json else BuildProgress(console),
        timeout,
        sleep,
    )
    return _finish(console, view, outcome(view), build_id, view["deploymentStatus"], as_json, timeout)


def follow_deployment(
    api: Api,
    deployment_id: str,
    console: Console,
    as_json: bool,
    timeout: float,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Polls the deployment until it is finished, showing each region's hosts and wave live; the exit status:
    0 when it SUCCEEDED, 1 when it ended any other way (its reason says why) or is still running at the timeout."""
    view = poll(
        lambda: api.get_deployment(deployment_id),
        lambda view: view["status"] in deployment_view.FINAL_STATES,
        None if as_json else DeploymentProgress(console),
        timeout,
        sleep,
    )
    return _finish(console, view, deployment_view.outcome(view), deployment_id, view["status"], as_json, timeout)


# --- commands ------------------------------------------------------------------------------------------


def cmd_build(args: argparse.Namespace, api: Api, console: Console) -> int:
    accepted = api.submit_build(args.commit)
    return _queued(args, api, console, accepted, accepted)


def _queued(args: argparse.Namespace, api: Api, console: Console, accepted: dict, as_json: dict) -> int:
    """What build and push answer once the build is queued: `as_json` (--json) or where to follow it, or,
    with --wait, its progress to the end."""
    if not args.wait:
        if args.json:
            _print_json(console, as_json)
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


def submit_with_retries(
    api: Api, commit: str, upload_id: str, sleep: Callable[[float], None] = time.sleep, attempts: int = 3
) -> dict[str, Any]:
    """POST /builds of an upload with one Idempotency-Key for all its tries: a retry after throttling or the
    API's own hiccup (its answer lost, perhaps after the build was queued) answers the first one's build."""
    key = str(uuid.uuid4())
    for attempt in range(1, attempts + 1):
        try:
            return api.submit_build(commit, upload=upload_id, idempotency_key=key)
        except ApiError as error:
            if error.status not in (*TRANSIENT_STATUSES, HTTPStatus.CONFLICT) or attempt == attempts:
                raise
            sleep(attempt)  # 1 s, then 2 s; a 409 is the first try still being handled
    raise AssertionError("unreachable")


def cmd_push(args: argparse.Namespace, api: Api, console: Console) -> int:
    directory = Path(args.directory)
    with tempfile.TemporaryFile() as archive:
        packed = push.package(directory, archive)
        commit = args.commit or push.default_commit(directory, packed.sha256)
        grant = api.request_upload()
        if packed.size > grant["maxBytes"]:
            raise DeployctlError(
                f"{directory} zips to {packed.size:,} bytes; the stack takes at most {grant['maxBytes']:,} "
                "(its MaxUploadBytes)"
            )
        api.put_upload(grant["uploadUrl"], archive, packed.size)
    if not args.json:
        console.print(
            f"pushed {directory}: {packed.files} files, {packed.size:,} bytes zipped (sha256 {packed.sha256[:12]}), "
            f"upload {grant['uploadId']}",
            highlight=False,
            soft_wrap=True,
        )
    accepted = submit_with_retries(api, commit, grant["uploadId"])
    upload = {"uploadId": grant["uploadId"], "sizeBytes": packed.size, "sha256": packed.sha256}
    return _queued(args, api, console, accepted, accepted | {"upload": upload})


def cmd_watch(args: argparse.Namespace, api: Api, console: Console) -> int:
    if is_deployment_id(args.id):
        return follow_deployment(api, args.id, console, args.json, args.timeout)
    return follow(api, args.id, console, args.json, args.timeout)


def cmd_status(args: argparse.Namespace, api: Api, console: Console) -> int:
    view = api.get_build(args.build_id)
    if args.json:
        _print_json(console, view)
    else:
        console.print(status_renderable(view))
    return EXIT_OK


def _listing(
    list_page: Callable[..., dict[str, Any]], key: str, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """Up to `limit` items of a listing, newest first, following the API's cursor; and the cursor after them."""
    items: list[dict[str, Any]] = []
    while True:
        page = list_page(limit=min(limit - len(items), MAX_PAGE_SIZE), cursor=cursor)
        items.extend(page[key])
        cursor = page.get("nextCursor")
        if not cursor or len(items) >= limit:
            return items, cursor


def cmd_builds(args: argparse.Namespace, api: Api, console: Console) -> int:
    builds, cursor = _listing(api.list_builds, "builds", args.limit, args.cursor)
    if args.json:
        _print_json(console, {"builds": builds, "nextCursor": cursor})
        return EXIT_OK
    console.print(builds_table(builds))
    if cursor:
        console.print(f"older builds: deployctl builds --cursor {cursor}", highlight=False, soft_wrap=True)
    return EXIT_OK


def deployment_request(args: argparse.Namespace) -> dict[str, Any]:
    """The body of POST /deployments (and /plan) from deploy's options: only what was given, so the API's
    defaults stay the API's, and its own checks (waves increasing, known regions ...) answer a mistake."""
    spec: dict[str, Any] = {"buildId": args.build_id}
    if args.regions is not None:
        spec["regions"] = args.regions
    if args.waves is not None:
        spec["waves"] = args.waves
    if args.bake is not None:
        spec["bakeSeconds"] = args.bake
    if args.region_waves is not None:
        spec["regionWaves"] = args.region_waves
    if args.max_failure_percent is not None:
        spec["maxFailurePercent"] = args.max_failure_percent
    if args.simulate_failures is not None:
        spec["simulate"] = {"hostFailurePercent": args.simulate_failures}
        if args.seed is not None:
            spec["simulate"]["seed"] = args.seed
    elif args.seed is not None:
        raise DeployctlError("--seed picks the hosts --simulate-failures makes fail: give both, or neither")
    if args.alarms is not None:
        spec["alarms"] = args.alarms
    if args.on_gate_failure is not None:
        spec["onGateFailure"] = args.on_gate_failure
    if args.approval_required is not None:
        spec["approvalRequired"] = [int(wave) for wave in args.approval_required]
    if args.override_freeze is not None:
        spec["freezeOverride"] = {"reason": args.override_freeze}
    return spec


def cmd_freeze(args: argparse.Namespace, api: Api, console: Console) -> int:
    """freeze: new deployments are refused, running ones pause; unfreeze: they go on. One line, or the JSON."""
    if args.command == "freeze":
        answer = api.freeze(args.reason, args.until, args.service)
        line = f"frozen{' ' + args.service if args.service else ''}: {answer['reason']} (by {answer.get('frozenBy')})"
    else:
        answer = api.unfreeze(args.service)
        lifted = answer.get("lifted")
        paused = ", ".join(lifted["pausedDeployments"]) if lifted and lifted["pausedDeployments"] else "none"
        line = f"unfrozen; resumed: {paused}" if lifted else "nothing was frozen"
    if args.json:
        _print_json(console, answer)
    else:
        console.print(line, highlight=False, soft_wrap=True)
    return EXIT_OK


def cmd_deploy(args: argparse.Namespace, api: Api, console: Console) -> int:
    spec = deployment_request(args)
    if args.plan:
        plan = api.plan_deployment(spec)
        if args.json:
            _print_json(console, plan)
        else:
            console.print(deployment_view.plan_renderable(plan))
        return EXIT_OK
    accepted = api.submit_deployment(spec)
    deployment_id = accepted["deploymentId"]
    queued = (
        f"queued {deployment_id} (build {accepted['buildId']}, "
        f"predicted {deployment_view.seconds(accepted.get('predictedSeconds'))})"
    )
    if not args.wait:
        if args.json:
            _print_json(console, accepted)
        else:
            console.print(f"{queued}; follow it with: deployctl watch {deployment_id}", highlight=False)
        return EXIT_OK
    if not args.json:
        console.print(queued, highlight=False)
    return follow_deployment(api, deployment_id, console, args.json, args.timeout)


def cmd_deployments(args: argparse.Namespace, api: Api, console: Console) -> int:
    if args.deployment_id:
        view = api.get_deployment(args.deployment_id)
        if args.json:
            _print_json(console, view)
        else:
            console.print(deployment_view.deployment_renderable(view))
        return EXIT_OK
    deployments, cursor = _listing(api.list_deployments, "deployments", args.limit, args.cursor)
    if args.json:
        _print_json(console, {"deployments": deployments, "nextCursor": cursor})
        return EXIT_OK
    console.print(deployment_view.deployments_table(deployments))
    if cursor:
        console.print(f"older deployments: deployctl deployments --cursor {cursor}", highlight=False, soft_wrap=True)
    return EXIT_OK


def cmd_act(args: argparse.Namespace, api: Api, console: Console) -> int:
    """pause, resume, promote, approve, abort, rollback: one line with the deployment's new status. An action
    the deployment's
    state refuses (409) prints the API's reason alone, on one line."""
    try:
        answer = api.act_on_deployment(args.deployment_id, args.command)
    except ApiError as error:
        if error.status != HTTPStatus.CONFLICT:
            raise
        print(f"deployctl: {error.api_message}", file=sys.stderr)
        return EXIT_ERROR
    if args.json:
        _print_json(console, answer)
    else:
        console.print(f"{args.command}: {answer['deploymentId']} is now {answer['status']}", highlight=False)
    return EXIT_OK


def cmd_regions(args: argparse.Namespace, api: Api, console: Console) -> int:
    if args.region_name:
        answer = api.get_region(args.region_name)
        regions = [answer]
    else:
        answer = api.list_regions()
        regions = answer["regions"]
    if args.json:
        _print_json(console, answer)
    else:
        console.print(deployment_view.regions_table(regions))
    return EXIT_OK


def host_listing(api: Api, region: str, group: str | None, limit: int, cursor: str | None) -> dict[str, Any]:
    """GET /regions/{region}/hosts as one answer: up to `limit` hosts, following the API's cursor, and the
    cursor after them; the rest as the first page had it (a single page: the API's answer as it is)."""
    answer = api.list_hosts(region, group, min(limit, MAX_PAGE_SIZE), cursor)
    hosts = list(answer["hosts"])
    while answer.get("nextCursor") and len(hosts) < limit:
        answer = api.list_hosts(region, group, min(limit - len(hosts), MAX_PAGE_SIZE), answer["nextCursor"])
        hosts.extend(answer["hosts"])
    return {**answer, "hosts": hosts}


def cmd_hosts(args: argparse.Namespace, api: Api, console: Console) -> int:
    from deployctl import host_view

    answer = host_listing(api, args.region_name, args.group, args.limit, args.cursor)
    if args.json:
        _print_json(console, answer)
        return EXIT_OK
    console.print(host_view.hosts_renderable(answer))
    if answer.get("nextCursor"):
        more = f"deployctl hosts {args.region_name}" + (f" --group {args.group}" if args.group else "")
        console.print(f"more hosts: {more} --cursor {answer['nextCursor']}", highlight=False, soft_wrap=True)
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
    "push": (
        cmd_push,
        "build an application's directory (deploy.yaml at its top): zip, upload and build it (--wait: follow it)",
        "deployctl push examples/hello --wait",
    ),
    "watch": (
        cmd_watch,
        "follow a build (until DEPLOYED or FAILED) or a deployment (until it is finished) already running, live",
        "deployctl watch deploy-20261123T101500Z-0a1b2c3d",
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
    "deploy": (
        cmd_deploy,
        "deploy a build in waves to every region or some (--plan: only the plan and its predicted time)",
        "deployctl deploy build-20261123T014547Z-06418f7e --waves 10,50,100 --bake 30 --region-waves "
        '"us-west-2;eu-west-1,ap-southeast-2" --wait',
    ),
    "deployments": (
        cmd_deployments,
        "recent deployments, newest first; or one deployment: each region's wave and hosts, predicted vs model time",
        "deployctl deployments deploy-20261123T101500Z-0a1b2c3d",
    ),
    "pause": (
        cmd_act,
        "pause a running deployment until it is resumed",
        "deployctl pause deploy-20261123T101500Z-0a1b2c3d",
    ),
    "resume": (
        cmd_act,
        "resume a PAUSED deployment",
        "deployctl resume deploy-20261123T101500Z-0a1b2c3d",
    ),
    "promote": (
        cmd_act,
        "skip a deployment's remaining bakes and pauses: its next waves go at once",
        "deployctl promote deploy-20261123T101500Z-0a1b2c3d",
    ),
    "approve": (
        cmd_act,
        "approve the next wave of a deployment that waits for an approval (approvalRequired)",
        "deployctl approve deploy-20261123T101500Z-0a1b2c3d",
    ),
    "abort": (
        cmd_act,
        "stop a deployment and roll its regions back to their previous build",
        "deployctl abort deploy-20261123T101500Z-0a1b2c3d",
    ),
    "rollback": (
        cmd_act,
        "roll a deployment back at once, every region it changed, skipping bakes and waves (also once it ended)",
        "deployctl rollback deploy-20261123T101500Z-0a1b2c3d",
    ),
    "freeze": (
        cmd_freeze,
        "freeze deployments (all, or a service's): new ones are refused, running ones pause at their next step",
        'deployctl freeze "end-of-year freeze" --until 2027-01-04T09:00:00Z',
    ),
    "unfreeze": (
        cmd_freeze,
        "lift a freeze: the deployments it paused go on",
        "deployctl unfreeze --json",
    ),
    "regions": (
        cmd_regions,
        "each region's goal build and how many of its hosts run each build",
        "deployctl regions --json",
    ),
    "hosts": (
        cmd_hosts,
        "a region's real hosts: each one's state, builds, last report and failed hook's output; its simulated "
        "hosts counted",
        "deployctl hosts us-west-2 --group fleet",
    ),
    "dashboard": (
        cmd_dashboard,
        "a live page of the builds, deployments and regions on 127.0.0.1, proxying the API with your credentials",
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


def _waves(text: str) -> list[float | int]:
    try:
        percents = [float(part) for part in text.split(",")]
    except ValueError:
        percents = []
    if not percents or not all(math.isfinite(percent) for percent in percents):
        raise argparse.ArgumentTypeError(f"{text!r}: cumulative percents separated by commas, like 10,50,100")
    return [int(percent) if percent.is_integer() else percent for percent in percents]


def _names(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",")]
    if not all(names):
        raise argparse.ArgumentTypeError(f"{text!r}: region names separated by commas, like us-west-2,eu-west-1")
    return names


def _region_waves(text: str) -> list[list[str]]:
    try:
        return [_names(wave) for wave in text.split(";")]
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: region waves separated by semicolons, each a comma-separated list of regions, "
            "like 'us-west-2;eu-west-1,ap-southeast-2'"
        ) from None


def _deploy_options(command: argparse.ArgumentParser) -> None:
    # Left out, an option is left out of the request: the API's defaults (all regions, one wave of 100 %,
    # no bake, all regions at once, 5 % failures) are the API's to say.
    command.add_argument("build_id", metavar="buildId", help="the build to deploy (SUCCEEDED and replicated)")
    command.add_argument(
        "--waves", type=_waves, metavar="P1,P2,...", help="cumulative percent of each region's hosts, ending at 100"
    )
    command.add_argument("--bake", type=int, metavar="SECONDS", help="wait after each wave before the next")
    command.add_argument("--regions", type=_names, metavar="R1,R2,...", help="a subset of the regions")
    command.add_argument(
        "--region-waves",
        type=_region_waves,
        metavar="'R1;R2,R3'",
        help="regions in the order they deploy: ';' between region waves, ',' within one",
    )
    command.add_argument(
        "--max-failure-percent", type=float, metavar="PCT", help="a wave with more failed hosts rolls back"
    )
    command.add_argument(
        "--simulate-failures", type=float, metavar="PCT", help="make this share of hosts fail (fault injection)"
    )
    command.add_argument("--seed", type=int, help="with --simulate-failures: which hosts fail (default 1)")
    command.add_argument(
        "--alarms", type=_names, metavar="A1,A2,...", help="CloudWatch alarms: one in ALARM fails a wave's gate"
    )
    command.add_argument("--on-gate-failure", choices=("rollback", "pause"), help="what a failed gate does")
    command.add_argument(
        "--approval-required", type=_names, metavar="W1,W2,...", help="waves (1-based) that wait for `approve`"
    )
    command.add_argument("--override-freeze", metavar="REASON", help="deploy through a freeze, saying why")
    mode = command.add_mutually_exclusive_group()
    mode.add_argument("--plan", action="store_true", help="print the plan and its predicted time; deploy nothing")
    mode.add_argument("--wait", action="store_true", help="follow the deployment live until it is finished")


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
        elif name == "push":
            command.add_argument("directory", help="the application: a directory with its deploy.yaml at the top")
            command.add_argument(
                "--commit",
                help="what the build is filed under: 7 to 64 lowercase hex digits "
                "(default: the directory's git HEAD, else the first 40 hex digits of the zip's sha256)",
            )
            command.add_argument("--wait", action="store_true", help="follow the build live until DEPLOYED or FAILED")
        elif name == "watch":
            command.add_argument(
                "id", metavar="buildId|deploymentId", help="the build or the deployment (deploy-...) to follow"
            )
        elif name in ("status", "logs"):
            command.add_argument("build_id", metavar="buildId")
        elif name in ("builds", "deployments"):
            if name == "deployments":
                command.add_argument(
                    "deployment_id", metavar="deploymentId", nargs="?", help="one deployment's detail instead"
                )
            command.add_argument("--limit", type=_positive, default=20, help=f"how many {name} (default 20)")
            command.add_argument("--cursor", help=f"start after the {name} a previous listing showed")
        elif name == "deploy":
            _deploy_options(command)
        elif name in DEPLOYMENT_ACTIONS:
            command.add_argument("deployment_id", metavar="deploymentId")
        elif name in ("freeze", "unfreeze"):
            if name == "freeze":
                command.add_argument("reason", help="quoted to every deployment it refuses")
                command.add_argument("--until", help="when it ends by itself (ISO 8601 with a zone)")
            command.add_argument("--service", help="one service's deployments only")
        elif name == "regions":
            command.add_argument("region_name", nargs="?", metavar="region", help="one region only")
        elif name == "hosts":
            command.add_argument("region_name", metavar="region", help="one of the stack's regions")
            command.add_argument("--group", help="one group's hosts only (simulated: the simulated hosts' count)")
            command.add_argument(
                "--limit",
                type=_positive,
                default=DEFAULT_HOSTS_LIMIT,
                help=f"how many hosts (default {DEFAULT_HOSTS_LIMIT})",
            )
            command.add_argument("--cursor", help="start after the hosts a previous listing showed")
        elif name == "dashboard":
            command.add_argument(
                "--port",
                type=int,
                default=DEFAULT_DASHBOARD_PORT,
                help=f"default {DEFAULT_DASHBOARD_PORT}; 0 for any free port",
            )
        if name in ("build", "push", "watch", "deploy"):
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
