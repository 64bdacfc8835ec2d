"""deployctl logs without a stack: which lines are a build's, how a line reads, and their order across
log groups, regions and the state machine's history (moto's CloudWatch Logs)."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import boto3
import pytest
from moto import mock_aws
from rich.console import Console

from deployctl import logs
from deployctl.api import Api, Target
from deployctl.view import log_line_text

BUILD_ID = "build-20261123T014547Z-06418f7e"
OTHER_BUILD_ID = "build-20261123T014547Z-0badbeef"
GLOBAL = logs.LogSource("us-east-1", "stack", "/aws/lambda/stack-BuildWorker", "BuildWorkerFunction")
REGIONAL = logs.LogSource("eu-west-1", "stack-eu-west-1", "/aws/lambda/stack-eu-west-1-Sync", "RegionalSyncFunction")


def powertools_line(message: str, at: str, build_id: str = BUILD_ID, **fields) -> str:
    """A line as Powertools' Logger writes it (its timestamp format included)."""
    return json.dumps(
        {
            "level": "INFO",
            "location": "build_one:61",
            "message": message,
            "timestamp": at,
            "service": "build-worker",
            "cold_start": True,
            "function_request_id": "r-1",
            "build_id": build_id,
            **fields,
        }
    )


def ms(at: str) -> int:
    return int(datetime.strptime(at, "%Y-%m-%d %H:%M:%S,%f%z").timestamp() * 1000)


@pytest.fixture
def aws(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield Api(Target(stack_name="stack", region="us-east-1", endpoint_url=None))


def put_lines(source: logs.LogSource, lines: list[str]) -> None:
    client = boto3.client("logs", region_name=source.region)
    client.create_log_group(logGroupName=source.log_group)
    client.create_log_stream(logGroupName=source.log_group, logStreamName="2026/11/23/[$LATEST]abc")
    client.put_log_events(
        logGroupName=source.log_group,
        logStreamName="2026/11/23/[$LATEST]abc",
        logEvents=[
            {"timestamp": ms(json.loads(line)["timestamp"]) if line.startswith("{") else ms_now(), "message": line}
            for line in lines
        ],
    )


def ms_now() -> int:
    return int(datetime(2026, 11, 23, 1, 45, 50, tzinfo=UTC).timestamp() * 1000)


def test_a_powertools_line_reads_as_when_where_what_and_its_own_fields():
    event = {
        "timestamp": 1,  # ingestion time; the line's own timestamp wins
        "message": powertools_line("build attempt failed", "2026-11-23 01:45:48,123+0000", attempt=2),
        "logStreamName": "s",
    }
    line = logs.parse_line(GLOBAL, event)
    assert (line.at, line.region, line.function, line.level, line.message) == (
        "2026-11-23T01:45:48.123Z",
        "us-east-1",
        "BuildWorkerFunction",
        "INFO",
        "build attempt failed",
    )
    # Powertools' own keys are left out, what the line says of itself is kept
    assert line.fields == {"attempt": 2}
    output = io.StringIO()
    Console(file=output, width=200).print(log_line_text(line), soft_wrap=True)
    assert output.getvalue().split() == [
        "2026-11-23T01:45:48.123Z",
        "us-east-1",
        "BuildWorkerFunction",
        "INFO",
        "build",
        "attempt",
        "failed",
        "attempt=2",
    ]


def test_a_line_that_is_not_json_is_kept_with_cloudwatchs_time():
    line = logs.parse_line(REGIONAL, {"timestamp": ms_now(), "message": "Task timed out after 60.00 seconds\n"})
    assert (line.at, line.level, line.message) == ("2026-11-23T01:45:50.000Z", "", "Task timed out after 60.00 seconds")


def test_the_build_id_says_from_when_to_look():
    assert logs.build_time(BUILD_ID) == datetime(2026, 11, 23, 1, 45, 47, tzinfo=UTC)
    assert logs.build_time("test-file") is None  # an artifact uploaded by hand


def test_a_builds_lines_from_every_region_come_in_time_order_and_no_other_builds(aws, monkeypatch):
    # Given the build's lines in a global and a regional log group, mixed with another build's
    put_lines(
        GLOBAL,
        [
            powertools_line("build done", "2026-11-23 01:45:48,010+0000"),
            powertools_line("build done", "2026-11-23 01:45:48,020+0000", build_id=OTHER_BUILD_ID),
            powertools_line("replication started", "2026-11-23 01:45:48,300+0000"),
        ],
    )
    put_lines(REGIONAL, [powertools_line("rollout done", "2026-11-23 01:45:48,200+0000")])
    monkeypatch.setattr(logs, "all_log_sources", lambda api: [GLOBAL, REGIONAL])
    # When they are read
    lines = logs.build_log_lines(aws, BUILD_ID)
    # Then they are that build's only, oldest first across the regions
    assert [(line.region, line.message) for line in lines] == [
        ("us-east-1", "build done"),
        ("eu-west-1", "rollout done"),
        ("us-east-1", "replication started"),
    ]


def test_a_function_that_never_ran_has_no_lines_not_an_error(aws, monkeypatch):
    monkeypatch.setattr(logs, "all_log_sources", lambda api: [GLOBAL])
    assert logs.build_log_lines(aws, BUILD_ID) == []


def test_the_state_machines_history_reads_as_lines_with_errors_flagged():
    started = datetime(2026, 11, 23, 1, 45, 48, 100000, tzinfo=UTC)
    entered = logs._state_machine_line(
        "us-east-1",
        {"type": "TaskStateEntered", "timestamp": started, "stateEnteredEventDetails": {"name": "LogWorkflowStart"}},
    )
    failed = logs._state_machine_line(
        "us-east-1",
        {
            "type": "ExecutionFailed",
            "timestamp": started,
            "executionFailedEventDetails": {"error": "PartialReplicationFailure", "cause": "1 of 3"},
        },
    )
    assert (entered.at, entered.function, entered.level, entered.message) == (
        "2026-11-23T01:45:48.100Z",
        logs.STATE_MACHINE,
        "INFO",
        "TaskStateEntered LogWorkflowStart",
    )
    assert (failed.level, failed.fields) == ("ERROR", {"error": "PartialReplicationFailure", "cause": "1 of 3"})
