"""What a function's cold start imports: every concurrent invocation on the emulator, and every cold start
on AWS, pays for it before the first event. The AWS SDK waits for the first client (code_deploy.aws; only
botocore's exceptions come before), pydantic for the first event's settings, except in the API, whose
routes are pydantic models."""

import json
import subprocess
import sys

import pytest

from tests.utils import FUNCTIONS, REPO

# A fresh interpreter importing a function's app.py as Lambda does, with tracing off as on the emulator.
PROBE = """
import json, sys
import app
print(json.dumps(sorted(sys.modules)))
"""

# What a cold start leaves to the first event: the SDK's sessions and clients, boto3 (and s3transfer with
# it), the X-Ray SDK (never, with tracing off).
LATER = ("boto3", "s3transfer", "botocore.session", "botocore.client", "aws_xray_sdk")
PYDANTIC = ("pydantic", "pydantic_core")


def among(modules: set[str], packages: tuple[str, ...]) -> set[str]:
    return {name for name in modules if name in packages or name.startswith(tuple(f"{p}." for p in packages))}


def imported_packages(function: str) -> set[str]:
    code = FUNCTIONS / function
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=code,
        env={
            "PYTHONPATH": f"{code}:{REPO / 'layers' / 'code_deploy'}",
            "AWS_REGION": "us-east-1",
            "LAMBDA_TASK_ROOT": str(code),
            "POWERTOOLS_TRACE_DISABLED": "true",
        },
        capture_output=True,
        text=True,
        check=True,
    )
    return set(json.loads(done.stdout))


@pytest.mark.parametrize(
    "function", sorted(path.parent.name for path in FUNCTIONS.glob("*/app.py") if path.parent.name != "api")
)
def test_a_function_imports_no_aws_sdk_and_no_pydantic_until_its_first_event(function):
    # Given a function that is not the API
    # When its module is imported, as at a cold start
    found = imported_packages(function)
    # Then neither the AWS SDK nor pydantic came with it
    assert among(found, LATER + PYDANTIC) == set()


def test_the_api_imports_pydantic_for_its_routes_but_no_aws_sdk():
    # Given the API, whose routes validate requests with pydantic models
    # When its module is imported
    found = imported_packages("api")
    # Then pydantic came with it, the AWS SDK did not
    assert "pydantic" in found
    assert among(found, LATER) == set()


def test_the_api_imports_the_domain_modules_its_request_needs_when_it_needs_them():
    # Given the API, whose routes reach the building of builds, the stores, the deployments' acceptance,
    # actions and rules, and the views
    # When its module is imported
    found = imported_packages("api")
    # Then none of them came with it: each route imports its own, and errors are answered by kind
    domain = {
        "builds.building",
        "builds.store",
        "builds.view",
        "deployments.accept",
        "deployments.actions",
        "deployments.model",
        "deployments.store",
        "deployments.view",
        "deployments.workflow",
        "hosts.fleet",
        "hosts.records",
        "hosts.view",
        "settings",
        "swarm",
    }
    assert {name.removeprefix("code_deploy.") for name in found if name.startswith("code_deploy.")} & domain == set()
