"""One build's log lines, from every function of the global stack and of each regional stack and from its
replication's state machine, in time order.

Every handler logs the build id as a Powertools Logger key (`build_id`), so the build id in quotes, a
plain-term CloudWatch Logs filter pattern, finds the lines of that build in each log group; FilterLogEvents
runs in the region of each stack (the global stack's home, and each region of its `RegionNames`).
The log groups are the stacks' own `AWS::Logs::LogGroup` resources, so a function added later is found too.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from deployctl.api import Api, DeployctlError, stack_outputs

LOG_GROUP_TYPE = "AWS::Logs::LogGroup"
STATE_MACHINE = "ReplicationStateMachine"
LOG_GROUP_SUFFIX = "LogGroup"  # ApiFunctionLogGroup holds ApiFunction's logs
# A build's lines start when it is queued: its id carries that time (build-20261123T014547Z-06418f7e).
_BUILD_TIME = re.compile(r"^build-(\d{8}T\d{6}Z)-")
# Lines logged a little before the build id's second (clock skew between the API and CloudWatch).
EARLIEST_LINE_BEFORE_BUILD = timedelta(minutes=1)
# Powertools' timestamp: "2026-11-23 16:04:07,179+0000"
_POWERTOOLS_TIME = "%Y-%m-%d %H:%M:%S,%f%z"
# Keys every Powertools line carries; what is left is what the line says of itself.
_STANDARD_KEYS = {
    "level",
    "location",
    "message",
    "timestamp",
    "service",
    "cold_start",
    "function_name",
    "function_memory_size",
    "function_arn",
    "function_request_id",
    "xray_trace_id",
    "sampling_rate",
    "correlation_id",
    "build_id",
}


@dataclass(frozen=True)
class LogSource:
    """A log group of one of the stacks, and the stack's region."""

    region: str
    stack_name: str
    log_group: str
    function: str  # the resource's logical id without the suffix: ApiFunction, RegionalSyncFunction ...


@dataclass(frozen=True)
class LogLine:
    at: str  # ISO-8601 UTC, milliseconds
    region: str
    function: str
    level: str
    message: str
    fields: dict[str, Any]  # the line's own keys (error, attempt, artifact_key ...), without Powertools' standard ones
    log_group: str
    log_stream: str

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def build_time(build_id: str) -> datetime | None:
    match = _BUILD_TIME.match(build_id)
    if not match:
        return None
    return datetime.strptime(match.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_line(source: LogSource, event: dict[str, Any]) -> LogLine:
    """A CloudWatch Logs event as a line: Powertools' JSON gives the level, the message and the time it
    was logged (CloudWatch's own timestamp is when the line was ingested); any other line is kept as is."""
    at = _iso(datetime.fromtimestamp(event["timestamp"] / 1000, UTC))
    level, message, fields = "", event["message"].rstrip("\n"), {}
    try:
        record = json.loads(message)
    except json.JSONDecodeError:
        record = None
    if isinstance(record, dict):
        level = str(record.get("level", ""))
        message = str(record.get("message", ""))
        fields = {name: value for name, value in record.items() if name not in _STANDARD_KEYS}
        # A line without Powertools' timestamp keeps CloudWatch's.
        with contextlib.suppress(KeyError, TypeError, ValueError):
            at = _iso(datetime.strptime(record["timestamp"], _POWERTOOLS_TIME))
    return LogLine(
        at=at,
        region=source.region,
        function=source.function,
        level=level,
        message=message,
        fields=fields,
        log_group=source.log_group,
        log_stream=event.get("logStreamName", ""),
    )


def log_sources(api: Api, stack_name: str, region: str) -> list[LogSource]:
    """The log groups a stack declares, with the function each belongs to."""
    client = api.client("cloudformation", region)
    sources = []
    try:
        for page in client.get_paginator("list_stack_resources").paginate(StackName=stack_name):
            for resource in page["StackResourceSummaries"]:
                if resource["ResourceType"] != LOG_GROUP_TYPE or not resource.get("PhysicalResourceId"):
                    continue
                logical_id = resource["LogicalResourceId"]
                function = logical_id[: -len(LOG_GROUP_SUFFIX)] if logical_id.endswith(LOG_GROUP_SUFFIX) else logical_id
                sources.append(LogSource(region, stack_name, resource["PhysicalResourceId"], function))
    except ClientError as error:
        message = error.response["Error"].get("Message", str(error))
        raise DeployctlError(f"cannot list the log groups of stack {stack_name!r} in {region}: {message}") from None
    return sources


def all_log_sources(api: Api) -> list[LogSource]:
    """The global stack's log groups and those of each region's stack (`RegionalStackNamePattern`)."""
    outputs = api.outputs
    sources = log_sources(api, api.target.stack_name, api.target.region)
    pattern = outputs.get("RegionalStackNamePattern")
    for region in [name for name in outputs.get("RegionNames", "").split(",") if name]:
        if pattern:
            regional_stack = pattern.format(region=region)
            stack_outputs(api, regional_stack, region, require_api=False)  # a clear error if it is not deployed
            sources.extend(log_sources(api, regional_stack, region))
    return sources


def _events(api: Api, source: LogSource, build_id: str, start_ms: int | None) -> Iterator[dict[str, Any]]:
    client = api.client("logs", source.region)
    kwargs: dict[str, Any] = {"logGroupName": source.log_group, "filterPattern": f'"{build_id}"'}
    if start_ms is not None:
        kwargs["startTime"] = start_ms
    try:
        for page in client.get_paginator("filter_log_events").paginate(**kwargs):
            yield from page["events"]
    except ClientError as error:
        if error.response["Error"]["Code"] == "ResourceNotFoundException":
            return  # a function that never ran has no log group yet
        message = error.response["Error"].get("Message", str(error))
        raise DeployctlError(f"cannot read log group {source.log_group} in {source.region}: {message}") from None


def build_log_lines(api: Api, build_id: str, execution_arn: str | None = None) -> list[LogLine]:
    """Every line of every log group of the stacks that names the build, and the events of its
    replication's execution (execution_arn, from the build's status), oldest first."""
    started = build_time(build_id)
    start_ms = int((started - EARLIEST_LINE_BEFORE_BUILD).timestamp() * 1000) if started else None
    sources = all_log_sources(api)

    def lines_of(source: LogSource) -> list[LogLine]:
        return [parse_line(source, event) for event in _events(api, source, build_id, start_ms)]

    try:
        with ThreadPoolExecutor(max_workers=max(1, min(8, len(sources)))) as pool:
            found = [line for lines in pool.map(lines_of, sources) for line in lines]
        if execution_arn:
            found.extend(state_machine_lines(api, execution_arn))
    except BotoCoreError as error:
        raise DeployctlError(f"cannot read the logs on {api.target.where}: {error}") from None
    return sorted(found, key=lambda line: line.at)


def _state_machine_line(region: str, event: dict[str, Any]) -> LogLine:
    """One event of the replication's execution history as a line: the state it entered or left, and
    any error with its cause."""
    kind = event["type"]
    details = next((value for name, value in event.items() if name.endswith("EventDetails")), {}) or {}
    message = kind + (f" {details['name']}" if details.get("name") else "")
    fields = {name: details[name] for name in ("error", "cause") if details.get(name)}
    level = "ERROR" if fields.get("error") or kind.endswith(("Failed", "TimedOut", "Aborted")) else "INFO"
    return LogLine(
        at=_iso(event["timestamp"]),
        region=region,
        function=STATE_MACHINE,
        level=level,
        message=message,
        fields=fields,
        log_group="",
        log_stream="",
    )


def state_machine_lines(api: Api, execution_arn: str) -> list[LogLine]:
    """The replication's execution history: Step Functions keeps it for every execution (its CloudWatch
    log group, where one is configured, holds the same events)."""
    client = api.client("stepfunctions")
    try:
        pages = client.get_paginator("get_execution_history").paginate(executionArn=execution_arn)
        return [_state_machine_line(api.target.region, event) for page in pages for event in page["events"]]
    except ClientError as error:
        message = error.response["Error"].get("Message", str(error))
        raise DeployctlError(f"cannot read the execution history of {execution_arn}: {message}") from None
