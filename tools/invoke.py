"""Sends an event file to a function of the deployed stack and prints its answer and its logs:
the Docker-free counterpart of `sam local invoke -e EVENT`. The sample is first filled in with the
stack's buckets and newest build (tools/sample_event.py), so the function works on something real;
`--as-is` sends the file unchanged.

    python -m tools.invoke replication-starter events/s3_put.json
    python -m tools.invoke --as-is api events/api_post_builds.json
"""

from __future__ import annotations

import base64
import json
import re
import sys
import time
from pathlib import Path

import boto3
from botocore.exceptions import ClientError

from tools.sample_event import NoBuildYet, filled_event
from tools.stack import outputs, regional_outputs, regions, stack_name


def _functions_of(stack_outputs: dict[str, str]) -> dict[str, str]:
    return {
        re.sub(r"(?<!^)(?=[A-Z])", "-", key.removesuffix("FunctionName")).lower(): value
        for key, value in stack_outputs.items()
        if key.endswith("FunctionName")
    }


def deployed_functions(stack_outputs: dict[str, str], region: str | None = None) -> dict[str, tuple[str, str | None]]:
    """The functions by short name, from the `<Name>FunctionName` outputs (ApiFunctionName is `api`,
    BuildWorkerFunctionName `build-worker`), each with the region it runs in: the global stack's in its
    own (None), a region's stack's (regional-sync) in `region` when it is one of the stacks' regions (an
    S3 event's awsRegion), else in their first region."""
    functions: dict[str, tuple[str, str | None]] = {
        name: (function, None) for name, function in _functions_of(stack_outputs).items()
    }
    stack_regions = regions(stack_outputs)
    region = region if region in stack_regions else stack_regions[0]
    for name, function in _functions_of(regional_outputs(stack_outputs, region)).items():
        functions[name] = (function, region)
    return functions


def _event_region(payload: bytes) -> str | None:
    """The region an S3 event's record names (awsRegion): where its bucket, and so its function, is."""
    try:
        records = json.loads(payload).get("Records") or []
    except (json.JSONDecodeError, AttributeError):
        return None
    return records[0].get("awsRegion") if records and isinstance(records[0], dict) else None


def function_logs(function_name: str, since_ms: int, request_id: str | None, region: str | None = None) -> list[str]:
    """The invocation's log lines from CloudWatch Logs (for when Invoke returns no LogResult)."""
    logs = boto3.client("logs", region_name=region)
    group = f"/aws/lambda/{function_name}"
    for _ in range(10):
        try:
            events = logs.filter_log_events(logGroupName=group, startTime=since_ms)["events"]
        except logs.exceptions.ResourceNotFoundException:
            events = []
        lines = [event["message"].rstrip() for event in events]
        if request_id:
            lines = _one_invocation(lines, request_id)
        if lines:
            return lines
        time.sleep(0.3)
    return []


def _one_invocation(lines: list[str], request_id: str) -> list[str]:
    """The lines from this invocation's START line to its REPORT line, or all if it has none."""
    starts = [i for i, line in enumerate(lines) if line.startswith("START") and request_id in line]
    if not starts:
        return lines
    reports = [i for i, line in enumerate(lines) if line.startswith("REPORT") and request_id in line]
    return lines[starts[0] : (reports[0] + 1) if reports else None]


def invoke(function: str, event_path: str, as_is: bool = False) -> int:
    try:
        stack_outputs = outputs()
    except ClientError as error:
        print(f"stack {stack_name()} not found ({error}): run `make deploy` first", file=sys.stderr)
        return 2
    try:
        payload = (
            Path(event_path).read_bytes() if as_is else json.dumps(filled_event(event_path, stack_outputs)).encode()
        )
    except (OSError, json.JSONDecodeError, NoBuildYet) as error:
        print(f"cannot send {event_path}: {error}", file=sys.stderr)
        return 2
    functions = deployed_functions(stack_outputs, _event_region(payload))
    if function not in functions:
        print(f"unknown function {function!r}; one of: {', '.join(sorted(functions))}", file=sys.stderr)
        return 2
    function_name, region = functions[function]
    since_ms = int(time.time() * 1000) - 1000
    response = boto3.client("lambda", region_name=region).invoke(
        FunctionName=function_name, Payload=payload, LogType="Tail"
    )
    answer = response["Payload"].read().decode()
    print(
        f"== {function} ({function_name}) answered, status {response['StatusCode']}"
        f"{', error ' + response['FunctionError'] if response.get('FunctionError') else ''}"
    )
    try:
        print(json.dumps(json.loads(answer), indent=2))
    except json.JSONDecodeError:
        print(answer)
    print("== logs")
    if response.get("LogResult"):
        print(base64.b64decode(response["LogResult"]).decode())
    else:
        request_id = response["ResponseMetadata"].get("RequestId")
        print("\n".join(function_logs(function_name, since_ms, request_id, region)) or "(no log lines found)")
    return 1 if response.get("FunctionError") else 0


if __name__ == "__main__":
    arguments = [a for a in sys.argv[1:] if a != "--as-is"]
    if len(arguments) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(invoke(*arguments, as_is="--as-is" in sys.argv))
