"""Sends an event file to a function of the deployed stack and prints its answer and its logs:
the Docker-free counterpart of `sam local invoke -e EVENT`.

    python -m tools.invoke replication-starter events/s3_put.json
"""

from __future__ import annotations

import base64
import json
import sys
import time
from pathlib import Path

import boto3

from tools.stack import outputs

FUNCTIONS = {
    "api": "ApiFunctionName",
    "build-worker": "BuildWorkerFunctionName",
    "replication-starter": "ReplicationStarterFunctionName",
    "regional-sync": "RegionalSyncFunctionName",
    "large-copy": "LargeCopyFunctionName",
}


def function_logs(function_name: str, since_ms: int, request_id: str | None) -> list[str]:
    """The invocation's log lines from CloudWatch Logs (for when Invoke returns no LogResult)."""
    logs = boto3.client("logs")
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


def invoke(function: str, event_path: str) -> int:
    if function not in FUNCTIONS:
        print(f"unknown function {function!r}; one of: {', '.join(FUNCTIONS)}", file=sys.stderr)
        return 2
    function_name = outputs()[FUNCTIONS[function]]
    payload = Path(event_path).read_bytes()
    since_ms = int(time.time() * 1000) - 1000
    response = boto3.client("lambda").invoke(FunctionName=function_name, Payload=payload, LogType="Tail")
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
        print("\n".join(function_logs(function_name, since_ms, request_id)) or "(no log lines found)")
    return 1 if response.get("FunctionError") else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(invoke(sys.argv[1], sys.argv[2]))
