"""deployctl without a stack: following a build to its outcome, the JSON output, the help, and the
one-line errors when the emulator or the stack is not there."""

from __future__ import annotations

import io
import json
import socket

import boto3
import pytest
from botocore.stub import Stubber
from rich.console import Console

from deployctl import cli
from deployctl.api import Api, ApiError, DeployctlError, Target
from deployctl.view import failure_reason, outcome

BUILD_ID = "build-20261123T014547Z-06418f7e"
COMMIT = "9fceb02d0ae598e95dc970b74767f19372d61af8"


@pytest.fixture(autouse=True)
def no_instance_metadata(monkeypatch):
    """Credentials come from the environment or nowhere: never from an instance metadata service."""
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def view(deployment_status: str, status: str = "SUCCEEDED", hosts_deployed: int = 0, **fields) -> dict:
    regions = [
        {
            "region": region,
            "bucket": f"bucket-{region}",
            "replication": fields.pop(
                f"copy_{region.replace('-', '_')}", "SUCCEEDED" if deployment_status != "BUILDING" else "PENDING"
            ),
            "replicationError": None,
            "hostsTotal": 1000,
            "hostsDeployed": hosts_deployed,
            "rolloutCompletedAt": "2026-11-23T01:45:48.380Z" if hosts_deployed == 1000 else None,
        }
        for region in ("region-a", "region-b")
    ]
    return {
        "buildId": BUILD_ID,
        "commit": COMMIT,
        "status": status,
        "deploymentStatus": deployment_status,
        "failureReason": None,
        "queuedAt": "2026-11-23T01:45:47.380Z",
        "replication": {"status": "SUCCEEDED"},
        "regions": regions,
        "statusHistory": [{"status": "QUEUED", "at": "2026-11-23T01:45:47.380Z"}],
        **fields,
    }


class ScriptedApi(Api):
    """The API answering GET /builds/{id} with the given views, one per poll (the last one repeats)."""

    def __init__(self, views: list[dict]) -> None:
        super().__init__(Target())
        self.views = views
        self.polls = 0
        self.submitted: list[str] = []

    def get_build(self, build_id: str) -> dict:
        answer = self.views[min(self.polls, len(self.views) - 1)]
        self.polls += 1
        if isinstance(answer, Exception):
            raise answer
        return answer

    def submit_build(self, commit: str) -> dict:
        self.submitted.append(commit)
        return {"buildId": BUILD_ID, "commit": commit, "status": "QUEUED", "statusUrl": f"/builds/{BUILD_ID}"}


def run_follow(api: Api, as_json: bool = False, timeout: float = 60) -> tuple[int, str]:
    output = io.StringIO()
    console = Console(file=output, width=160, force_terminal=False)
    code = cli.follow(api, BUILD_ID, console, as_json, timeout, sleep=lambda _: None)
    return code, output.getvalue()


def test_following_a_build_ends_in_success_with_every_host_counted():
    # Given a build that goes from BUILDING through ROLLING_OUT to DEPLOYED
    api = ScriptedApi(
        [
            view("BUILDING", status="BUILDING"),
            view("ROLLING_OUT", hosts_deployed=0),
            view("DEPLOYED", hosts_deployed=1000),
        ]
    )
    # When it is followed
    code, output = run_follow(api)
    # Then every poll was made, the bars end full, and the outcome is SUCCESS with the host count
    assert code == cli.EXIT_OK
    assert api.polls == 3
    assert "rolled out in region-a" in output and "1000/1000" in output
    assert f"SUCCESS: {BUILD_ID} (9fceb02d0ae5) deployed to 2,000 hosts in 2 regions in 1.00 s" in output


def test_a_failed_build_exits_non_zero_with_its_reason():
    reason = "build failed after 3 attempts: SimulatedBuildFailure: simulated compile error"
    api = ScriptedApi([view("FAILED", status="FAILED", failureReason=reason)])
    code, output = run_follow(api)
    assert code == cli.EXIT_FAILED
    assert f"FAILURE: {BUILD_ID}: {reason}" in output


def test_json_output_is_the_final_view_and_nothing_else():
    final = view("DEPLOYED", hosts_deployed=1000)
    code, output = run_follow(ScriptedApi([view("REPLICATING"), final]), as_json=True)
    assert code == cli.EXIT_OK
    assert json.loads(output) == final


def test_a_transient_api_error_while_following_is_polled_through():
    api = ScriptedApi(
        [view("BUILDING", status="BUILDING"), ApiError(503, "busy"), view("DEPLOYED", hosts_deployed=1000)]
    )
    code, _ = run_follow(api)
    assert code == cli.EXIT_OK
    assert api.polls == 3


def test_a_build_still_running_at_the_timeout_exits_non_zero(capsys):
    code, _ = run_follow(ScriptedApi([view("ROLLING_OUT")]), timeout=0)
    assert code == cli.EXIT_FAILED
    assert f"TIMEOUT: {BUILD_ID} still ROLLING_OUT" in capsys.readouterr().err


def test_replication_failures_are_the_reason_when_the_build_itself_succeeded():
    failed = view("FAILED", copy_region_b="FAILED")
    failed["regions"][1]["replicationError"] = "NoSuchBucket"
    assert failure_reason(failed) == "replication failed in region-b: NoSuchBucket"
    assert outcome(failed).message == f"FAILURE: {BUILD_ID}: replication failed in region-b: NoSuchBucket"
    assert not outcome(view("ROLLING_OUT")).finished


def test_build_wait_submits_then_follows(monkeypatch):
    api = ScriptedApi([view("DEPLOYED", hosts_deployed=1000)])
    monkeypatch.setattr(cli, "Api", lambda target: api)
    output = io.StringIO()
    code = cli.main(["build", COMMIT, "--wait"], console=Console(file=output, width=160))
    assert code == cli.EXIT_OK
    assert api.submitted == [COMMIT]
    assert f"queued {BUILD_ID}" in output.getvalue()
    assert "SUCCESS" in output.getvalue()


def test_every_command_has_an_example_in_its_help():
    for name, (_, _, example) in cli.COMMANDS.items():
        assert example.startswith(f"deployctl {name} ")
        help_text = cli.parser()._subparsers._group_actions[0].choices[name].format_help()
        assert f"example:\n  {example}" in help_text
    assert all(example in cli.parser().format_help() for _, _, example in cli.COMMANDS.values())


def test_json_is_accepted_before_and_after_the_command():
    assert cli.parser().parse_args(["--json", "status", BUILD_ID]).json
    assert cli.parser().parse_args(["status", BUILD_ID, "--json"]).json
    assert not cli.parser().parse_args(["status", BUILD_ID]).json
    assert cli.parser().parse_args(["--stack", "other", "status", BUILD_ID]).stack == "other"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_no_emulator_is_one_line_that_says_what_to_do(capsys):
    endpoint = f"http://127.0.0.1:{_closed_port()}"
    code = cli.main(["status", BUILD_ID, "--endpoint-url", endpoint])
    err = capsys.readouterr().err
    assert code == cli.EXIT_ERROR
    assert err == f"deployctl: cannot reach the emulator at {endpoint}: run `make demo` first\n"


def test_no_stack_is_one_line_that_says_what_to_do(capsys, monkeypatch):
    # Given AWS answering DescribeStacks as it does for a stack that is not there
    cloudformation = boto3.client(
        "cloudformation", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    stubber = Stubber(cloudformation)
    stubber.add_client_error(
        "describe_stacks", "ValidationError", "Stack with id no-such-stack does not exist", http_status_code=400
    )
    stubber.activate()
    monkeypatch.setattr(Api, "client", lambda self, service, region=None: cloudformation)
    # When deployctl looks for it
    code = cli.main(["--aws", "--stack", "no-such-stack", "status", BUILD_ID])
    # Then it says so in one line, with what to do
    err = capsys.readouterr().err
    assert code == cli.EXIT_ERROR
    assert err.startswith("deployctl: no stack 'no-such-stack' on AWS (us-east-1): run `make demo` first")
    assert "Traceback" not in err and err.count("\n") == 1


def test_target_comes_from_flags_then_environment(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4599/")
    monkeypatch.setenv("STACK_NAME", "mine")
    assert Target.resolve(None, None, None, use_aws=False) == Target("mine", "us-east-1", "http://127.0.0.1:4599")
    assert Target.resolve("x", "eu-west-1", None, use_aws=True).endpoint_url is None
    with pytest.raises(DeployctlError, match="no AWS credentials"):
        monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
            monkeypatch.delenv(name, raising=False)
        _ = Api(Target("x", "us-east-1", None)).credentials
