"""The functions' Tracer: Powertools' own where tracing is on, and no X-Ray SDK import where it is off."""

import json
import subprocess
import sys

from tests.utils import REPO

# A fresh interpreter, as a cold start: which X-Ray modules did building the tracer import, and does a
# handler it decorates still answer?
PROBE = """
import json, sys
from code_deploy import tracing
tracer = tracing.tracer()

@tracer.capture_lambda_handler
def handler(event, context):
    return {"echo": event}

answer = handler({"a": 1}, None)
print(json.dumps({
    "xray": sorted(name for name in sys.modules if name.startswith("aws_xray_sdk")),
    "disabled": tracer.disabled,
    "answer": answer,
}))
"""


def probe(**environment: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        env={"PYTHONPATH": str(REPO / "layers" / "code_deploy"), "AWS_REGION": "us-east-1", **environment},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


def test_tracing_off_never_imports_the_xray_sdk():
    # Given tracing turned off, as make deploy does on the emulator, in a Lambda sandbox
    # When a function builds its tracer and a decorated handler runs
    found = probe(POWERTOOLS_TRACE_DISABLED="true", LAMBDA_TASK_ROOT="/var/task")
    # Then no part of the X-Ray SDK was imported (it is not even deployed there: TracingLayer is attached
    # only where tracing is on), and the handler answered as undecorated
    assert found["xray"] == []
    assert found["disabled"] is True
    assert found["answer"] == {"echo": {"a": 1}}


def test_tracing_on_is_powertools_tracer_with_the_xray_sdk():
    # Given tracing on (the default, as on AWS)
    # When a function builds its tracer
    found = probe(POWERTOOLS_TRACE_DISABLED="false", LAMBDA_TASK_ROOT="/var/task")
    # Then it is Powertools' Tracer over the X-Ray SDK
    assert "aws_xray_sdk.core" in found["xray"]
    assert found["disabled"] is False
    assert found["answer"] == {"echo": {"a": 1}}
