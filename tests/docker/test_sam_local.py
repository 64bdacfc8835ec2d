"""`sam local invoke` of every function with its events/ file, and `sam local start-api`, in Docker
against the stack deployed on the emulator (make docker-test; scripts/docker-tests.sh starts a daemon
or skips these, saying why). SAM CLI exits 0 even when the handler raises, so each test reads the
function's answer. The events are filled in with the stack's newest build (tools/sample_event.py)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.request import Request, urlopen

import pytest

from tests.utils import REPO
from tools.sample_event import newest_artifact
from tools.stack import outputs, regions

TOOLS_PYTHON = str(REPO / ".venv" / "tools" / "bin" / "python")

# Each function of both templates with its sample event and what its answer must hold; a regional
# template's function runs as its first region's stack deployed it.
INVOCATIONS = {
    "replication-starter-s3-event": ("ReplicationStarterFunction", "events/s3_put.json", "executions"),
    "replication-starter-direct-input": ("ReplicationStarterFunction", "events/replication_input.json", "executions"),
    "api-get-build": ("ApiFunction", "events/api_get_build.json", "statusCode"),
    "build-worker": ("BuildWorkerFunction", "events/sqs_build_message.json", "batchItemFailures"),
    "regional-copy": ("RegionalCopyFunction", "events/regional_copy_input.json", "status"),
    "regional-sync": ("RegionalSyncFunction", "events/regional_wave.json", "hostsByBuild"),
}
REGIONAL_FUNCTIONS = {"RegionalSyncFunction"}


def local_invoke(function: str, event: str) -> subprocess.CompletedProcess:
    where = []
    if function in REGIONAL_FUNCTIONS:
        where = ["--template", "regional.yaml", "--region", regions(outputs())[0]]
    return subprocess.run(
        [TOOLS_PYTHON, "-m", "tools.local_invoke", "invoke", function, event, *where],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def answers() -> dict[str, subprocess.CompletedProcess]:
    """Every invocation, side by side (each is mostly waiting on Docker and SAM CLI's start-up)."""
    newest_artifact(outputs()["GlobalBuildsBucketName"])  # fails the module at once when there is no build
    with ThreadPoolExecutor(max_workers=3) as pool:
        runs = {name: pool.submit(local_invoke, function, event) for name, (function, event, _) in INVOCATIONS.items()}
        return {name: run.result() for name, run in runs.items()}


@pytest.mark.parametrize("name", INVOCATIONS)
def test_sam_local_invoke_runs_the_function_against_the_emulator(answers, name):
    function, event, expected_key = INVOCATIONS[name]
    run = answers[name]
    assert run.returncode == 0, f"{function} {event}: exit {run.returncode}\n{run.stdout}\n{run.stderr[-3000:]}"
    answer = json.loads(run.stdout.strip().splitlines()[-1])
    assert "errorType" not in answer, answer
    assert expected_key in answer, answer
    if name == "api-get-build":
        build = json.loads(answer["body"])
        assert answer["statusCode"] == 200 and build["status"] == "SUCCEEDED", build
    if name == "regional-sync":
        # the sample's wave: hosts 0-99 of the region, each updated, already on the build, or left alone as a
        # later deployment's (the sample's seq is 1)
        assert answer["updated"] + answer["skipped"] + answer["superseded"] + answer["failed"] == 100, answer
    if name == "regional-copy":
        assert answer["status"] == "SUCCEEDED" and answer["region"] == regions(outputs())[0], answer


def test_a_failing_handler_makes_local_invoke_fail_with_the_functions_error():
    # The starter refuses an event it cannot read; sam local invoke itself would exit 0.
    run = subprocess.run(
        [TOOLS_PYTHON, "-m", "tools.local_invoke", "invoke", "ReplicationStarterFunction", "/dev/stdin", "--as-is"],
        cwd=REPO,
        input='{"bucket": "x"}',
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 1, run.stdout + run.stderr[-3000:]
    error = json.loads(run.stdout.strip().splitlines()[-1])
    assert error["errorType"] == "InvalidReplicationRequest"
    assert "expected an S3 event notification" in error["errorMessage"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_sam_local_start_api_serves_the_api_against_the_emulator():
    port = _free_port()
    server = subprocess.Popen(
        [TOOLS_PYTHON, "-m", "tools.local_invoke", "start-api", "--port", str(port)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        build_id = newest_artifact(outputs()["GlobalBuildsBucketName"]).build_id
        deadline = time.monotonic() + 300
        while True:
            try:
                with urlopen(f"http://127.0.0.1:{port}/builds/{build_id}", timeout=120) as response:
                    status, body = response.status, json.loads(response.read())
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail("sam local start-api did not serve GET /builds/{id}")
                time.sleep(1)
        assert status == 200 and body["buildId"] == build_id and body["status"] == "SUCCEEDED", body
        # and a refusal is the API's own 4xx with its JSON message
        request = Request(
            f"http://127.0.0.1:{port}/builds",
            data=b'{"commit": "XYZ"}',
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with pytest.raises(OSError) as refused:
            urlopen(request, timeout=120)
        assert refused.value.code == 422
        assert "commit" in json.loads(refused.value.read())["message"]
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
