"""Helpers the integration tests share (the fixtures are in conftest.py): requests to the API, deployctl,
waiting for the pipeline, and reading what it left in the stacks' tables and topics."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from http.client import HTTPConnection, HTTPSConnection
from pathlib import Path
from urllib.parse import urlsplit

import boto3
import pytest
import requests
from boto3.dynamodb.conditions import Attr

from code_deploy.builds import store as build_store
from code_deploy.hosts import fleet
from code_deploy.hosts import records as host_logs
from tests.utils import REPO
from tools import fleet as local_fleet
from tools.api_client import call, signed_headers
from tools.host_records import count_host_records_by_scan
from tools.stack import host_record_tables, regions

# --- the API -----------------------------------------------------------------------------------------------


def http(
    method: str, url: str, body: bytes | str | dict | None = None, headers: dict[str, str] | None = None
) -> tuple[int, dict]:
    """A JSON request, SigV4-signed as every client of the API must (it uses IAM authorization)."""
    return call(method, url, body, headers)


def send(
    method: str, url: str, body: str | None = None, headers: dict[str, str] | None = None, sign: bool = True
) -> tuple[int, str, bytes]:
    """One request exactly as given, for malformed ones: the path is not re-encoded and no header is
    added but the SigV4 signature (urllib would add a Content-Type). Returns the status, the answer's
    Content-Type and body."""
    data = None if body is None else body.encode()
    headers = signed_headers(method, url, data, dict(headers or {})) if sign else dict(headers or {})
    parts = urlsplit(url)
    connection = (HTTPSConnection if parts.scheme == "https" else HTTPConnection)(parts.netloc, timeout=30)
    try:
        target = f"{parts.path}?{parts.query}" if parts.query else parts.path
        connection.request(method, target, body=data, headers=headers)
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type", ""), response.read()
    finally:
        connection.close()


class SigV4(requests.auth.AuthBase):
    """Signs a `requests` request (schemathesis sends with requests) as tools.api_client does."""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        body = request.body.encode() if isinstance(request.body, str) else request.body
        request.headers.update(signed_headers(request.method, request.url, body, dict(request.headers)))
        return request


def deployment(api: str, deployment_id: str) -> dict:
    code, view = http("GET", f"{api}/deployments/{deployment_id}")
    assert code == 200, view
    return view


# --- deployctl, the installed console script, as a user's terminal runs it --------------------------------

DEPLOYCTL = REPO / ".venv" / "deployctl" / "bin" / "deployctl"


def deployctl_environment() -> dict[str, str]:
    """The environment that runs this checkout's deployctl: the virtualenv installs it editable, but from
    the checkout that made the virtualenv, which a git worktree's is not; the checkout first on the path wins."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}


def deployctl(*args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    """deployctl as its console script runs it, with its venv's interpreter, but from this checkout: where
    checkouts (git worktrees) share one .venv, the console script runs the checkout that installed it."""
    if not DEPLOYCTL.exists():
        pytest.fail(f"{DEPLOYCTL} is missing: `make venvs` installs it")
    return subprocess.run(
        [str(DEPLOYCTL.with_name("python")), "-m", "deployctl", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=deployctl_environment(),
    )


EXAMPLES = REPO / "examples"


def push(directory: Path) -> str:
    """Pushes an application's directory as a build (`deployctl push`); its build id."""
    pushed = deployctl("push", str(directory), "--json")
    assert pushed.returncode == 0, pushed.stderr
    return json.loads(pushed.stdout)["buildId"]


# --- real hosts (agents), started as `make fleet` starts them ----------------------------------------------


@contextmanager
def local_agents(fleet_table, group: str, base_dir) -> Iterator[None]:
    """Whatever is started under base_dir (tools/fleet.py) is stopped at the end, agents and apps. Their
    hosts are then gone for good, and their items say so at once (a day silent), so no later test counts
    them among a region's live hosts. The group starts afresh, without the goal and the hosts an earlier
    run left, so its agents wait, idle, for this run's deployments."""
    stale = [fleet.goal_key(shard) for shard in fleet.group_shards(group)]
    stale += [fleet.host_key(host.host_id) for host in fleet.group_hosts(fleet_table, group)]
    with fleet_table.batch_writer() as batch:
        for key in stale:
            batch.delete_item(Key={"pk": key})
    try:
        yield
    finally:
        local_fleet.stop(base_dir)
        assert local_fleet.running_agents(base_dir) == []
        local_fleet.retire(fleet_table, group)


def group_hosts(api: str, region: str, group: str) -> list[dict]:
    """The group's hosts as GET /regions/{region}/hosts lists them."""
    status, answer = http("GET", f"{api}/regions/{region}/hosts?group={group}")
    assert status == 200, answer
    return answer["hosts"]


def health(host: dict) -> dict:
    """What the host's application answers on /health."""
    with urllib.request.urlopen(f"http://{host['address']}:{host['appPort']}/health", timeout=5) as answer:
        return json.loads(answer.read())


def every_app_answers(api: str, region: str, group: str, build_id: str) -> bool:
    """Whether the application of every host of the group answers /health with the build."""
    try:
        return all(health(host)["buildId"] == build_id for host in group_hosts(api, region, group))
    except OSError:
        return False  # an application being stopped or started


def listed_lost(api: str, fleet_table, region: str, group: str, host_id: str) -> dict[str, str]:
    """Waits until the host, its agent stopped for good, is listed lost: past the region's lost-after time (a
    stack deployed with a short HostLostAfterSeconds is waited for; otherwise its last heartbeat is made that
    old). The group's hosts' states then."""
    status, answer = http("GET", f"{api}/regions/{region}/hosts?group={group}")
    assert status == 200, answer
    lost_after = answer["lostAfterSeconds"]
    if lost_after > 20:
        local_fleet.make_silent(fleet_table, host_id, 2 * lost_after)

    def states() -> dict[str, str] | None:
        found = {host["hostId"]: host["state"] for host in group_hosts(api, region, group)}
        return found if found[host_id] == "lost" else None

    return wait_for(states, f"{host_id} lost", timeout=lost_after + 30)


def agent_dir(base_dir: Path, region: str, host_id: str) -> Path:
    """An agent's own directory in a local fleet (tools/fleet.py): its releases, current, downloads, state."""
    return base_dir / region / host_id


def kill_agents(base_dir: Path, region: str) -> None:
    """SIGKILL to the region's agents' process (their pid files name it), as a host's crash would stop
    them: no step is finished, no pid file removed. It is reaped, so its pid files name no process."""
    pids = {int(pid_file.read_text()) for pid_file in (base_dir / region).rglob("agent.pid")}
    assert pids, f"no agent runs under {base_dir / region}"
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
        with suppress(ChildProcessError):  # reaped already
            os.waitpid(pid, 0)  # the process is this test's child (tools/fleet.py started it)
    assert local_fleet.running_agents(base_dir / region) == []


# --- waiting for the pipeline ------------------------------------------------------------------------------

DEADLINE_SECONDS = 90


def wait_for[T](probe: Callable[[], T | None], what: str, timeout: float = DEADLINE_SECONDS) -> T:
    """Polls `probe` until it returns something truthy; fails the test with `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.3)


def execution_finished(execution_arn: str) -> dict | None:
    described = boto3.client("stepfunctions").describe_execution(executionArn=execution_arn)
    return described if described["status"] != "RUNNING" else None


# --- deployments ---------------------------------------------------------------------------------------

# A deployment to real hosts: a push, its replication, the agents' downloads and hooks, a rollback.
DEPLOYMENT_SECONDS = 240
FINISHED = {"SUCCEEDED", "ROLLED_BACK", "ABORTED", "SUPERSEDED", "FAILED"}  # ROLLING_BACK is not


def deploy(api: str, body: dict) -> str:
    """POST /deployments; the accepted deployment's id."""
    status, accepted = http("POST", f"{api}/deployments", body)
    assert status == 202, accepted
    assert accepted["statusUrl"] == f"/deployments/{accepted['deploymentId']}"
    return accepted["deploymentId"]


def finished(api: str, deployment_id: str, timeout: float = DEADLINE_SECONDS) -> dict:
    """The deployment's view once it has finished."""
    return wait_for(
        lambda: (view := deployment(api, deployment_id))["status"] in FINISHED and view,
        f"{deployment_id} finished",
        timeout,
    )


def auto_deployment(api: str, build_id: str, final: set[str], timeout: float = DEPLOYMENT_SECONDS) -> dict:
    """The AutoDeploy deployment of the build, once it has reached one of the `final` statuses."""

    def ended() -> dict | None:
        status, page = http("GET", f"{api}/deployments?limit=20")
        assert status == 200, page
        for summary in page["deployments"]:
            if summary["buildId"] == build_id and summary["status"] in final:
                return http("GET", f"{api}{summary['statusUrl']}")[1]
        return None

    return wait_for(ended, f"the deployment of {build_id} to end", timeout=timeout)


# --- what it left in the stacks ---------------------------------------------------------------------------


def build_record_ids(table_name: str) -> set[str]:
    """The id of every build recorded in the builds table (its BUILD records, not rollout summaries,
    which the pipeline keeps writing for earlier builds)."""
    table = boto3.resource("dynamodb").Table(table_name)
    kwargs = {"FilterExpression": Attr("record").eq(build_store.BUILD_RECORD), "ProjectionExpression": "build_id"}
    build_ids: set[str] = set()
    while True:
        page = table.scan(ConsistentRead=True, **kwargs)
        build_ids.update(item["build_id"] for item in page["Items"])
        if "LastEvaluatedKey" not in page:
            return build_ids
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def host_records_table(stack_outputs: dict[str, str], region: str):
    return boto3.resource("dynamodb", region_name=region).Table(host_record_tables(stack_outputs)[region])


def scan_count_host_records(stack_outputs: dict[str, str], build_id: str) -> int:
    """The plan's check, as it wrote it (a Scan counting one build's host records), summed over the
    regions' tables: each region keeps its hosts' records in its own."""
    return sum(
        count_host_records_by_scan(host_records_table(stack_outputs, region), build_id)
        for region in regions(stack_outputs)
    )


def count_host_records(stack_outputs: dict[str, str], build_id: str, in_regions) -> int:
    """One build's host records in every region, by querying the shards of each region's table (no
    Scan: the tables grow with every test, and polling a Scan would slow down with it)."""
    hosts = int(stack_outputs["SimulatedHostsPerRegion"])
    return sum(
        host_logs.count_host_records(host_records_table(stack_outputs, region), build_id, region, hosts)
        for region in in_regions
    )


def copy_tracking(stack_outputs: dict[str, str], key: str) -> dict:
    table = boto3.resource("dynamodb").Table(stack_outputs["CopyTrackingTableName"])
    return table.get_item(
        Key={"fileKey": key, "sourceBucket": stack_outputs["GlobalBuildsBucketName"]}, ConsistentRead=True
    ).get("Item", {})


@contextmanager
def subscribed_queue(topic_arn: str, name: str) -> Iterator[str]:
    """An SQS queue subscribed to an SNS topic (raw messages), to read what is published; gone after."""
    sqs, sns = boto3.client("sqs"), boto3.client("sns")
    queue_url = sqs.create_queue(QueueName=f"{name}-{uuid.uuid4().hex[:12]}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    subscription = sns.subscribe(
        TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"}
    )
    try:
        yield queue_url
    finally:
        sns.unsubscribe(SubscriptionArn=subscription["SubscriptionArn"])
        sqs.delete_queue(QueueUrl=queue_url)


def published(queue_url: str, wanted: Callable[[dict], bool], what: str = "the message") -> dict:
    """The first JSON message read from the queue (subscribed_queue) that is `wanted`; the others are dropped."""
    sqs = boto3.client("sqs")

    def read() -> dict | None:
        for message in sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=2, MaxNumberOfMessages=10).get(
            "Messages", []
        ):
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            body = json.loads(message["Body"])
            if wanted(body):
                return body
        return None

    return wait_for(read, what)
