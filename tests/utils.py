"""Helpers shared by the test suites."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from urllib.parse import unquote

from tools.functions import load_function

REPO = Path(__file__).resolve().parent.parent
EVENTS = REPO / "events"
FUNCTIONS = REPO / "functions"


def load_event(name: str) -> dict:
    return json.loads((EVENTS / name).read_text())


def load_handler(function: str) -> ModuleType:
    """functions/<function>/app.py as a fresh module, as a cold start would (tools.functions)."""
    return load_function(function)


@dataclass
class LambdaContext:
    function_name: str = "test-function"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:000000000000:function:test-function"
    aws_request_id: str = "5f2c0c2e-1b3a-4c8e-9d3f-000000000000"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def api_event(method: str, path: str, body: str | None = None, headers: dict[str, str] | None = None) -> dict:
    """The event API Gateway hands the API function for a request: the sample POST event with this
    method, headers and body, and the path percent-decoded as the gateway does before routing."""
    event = load_event("api_post_builds.json")
    headers = headers or {}
    event.update(
        httpMethod=method,
        path=unquote(path),
        headers=headers,
        multiValueHeaders={name: [value] for name, value in headers.items()},
        body=body,
        pathParameters=None,
    )
    event["requestContext"].update(httpMethod=method, path=f"/dev{unquote(path)}")
    return event


def logged_lines(logger) -> Callable[[], list[dict]]:
    """Catches what a handler's Powertools Logger writes from now on; the call returns the JSON lines.
    (Every load of a handler shares Python's logger of its service, and so the stream it first got.)"""
    stream = io.StringIO()
    logger.registered_handler.setStream(stream)
    return lambda: [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]


# An application as deployctl push uploads it: deploy.yaml at the top, the scripts its hooks run.
APPLICATION_HOOKS = """\
version: 1
hooks:
  application_stop: [{run: hooks/stop.sh, timeout: 30}]
  application_start: [{run: hooks/start.sh, timeout: 30}]
  validate_service: [{run: hooks/validate.sh}]
"""
APPLICATION_SCRIPTS = ("hooks/stop.sh", "hooks/start.sh", "hooks/validate.sh")


def zipped(files: dict[str, str | bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def application_zip(**changes: str | bytes | None) -> bytes:
    """A good application's zip, with files changed (a value) or left out (None)."""
    files: dict[str, str | bytes | None] = {
        "deploy.yaml": APPLICATION_HOOKS,
        "server.py": "print('hi')\n",
        **{script: "#!/bin/sh\n" for script in APPLICATION_SCRIPTS},
    }
    files.update(changes)
    return zipped({name: content for name, content in files.items() if content is not None})
