"""The deployed stacks as seen from outside: the global stack's outputs, each region's stack, and the
API's base URL.

On AWS the API's URL is the stack output `ApiUrl`. On the emulator that host does not resolve, so
the URL is derived from the endpoint instead; this is the one place that knows how.

    python -m tools.stack            # prints the global stack's outputs as JSON, with the API base URL
    python -m tools.stack ApiBaseUrl # prints one of them
    python -m tools.stack --regions  # prints every regional stack's outputs
"""

from __future__ import annotations

import json
import os
import sys
from functools import cache

import boto3

DEFAULT_STACK_NAME = "sam-code-deploy"


def stack_name() -> str:
    return os.environ.get("STACK_NAME", DEFAULT_STACK_NAME)


def emulator_endpoint() -> str | None:
    """The emulator's URL when the tools talk to one (AWS_ENDPOINT_URL set), else None for AWS."""
    return os.environ.get("AWS_ENDPOINT_URL") or None


@cache
def outputs(name: str | None = None, region: str | None = None) -> dict[str, str]:
    """A stack's outputs: the global stack's by default (in the configured region, its home)."""
    cloudformation = boto3.client("cloudformation", region_name=region)
    stack = cloudformation.describe_stacks(StackName=name or stack_name())["Stacks"][0]
    return {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}


def regions(stack_outputs: dict[str, str]) -> list[str]:
    return [region for region in stack_outputs["RegionNames"].split(",") if region]


def regional_outputs(stack_outputs: dict[str, str], region: str) -> dict[str, str]:
    """The outputs of a region's stack (`<global stack>-<region>`, in that region)."""
    return outputs(stack_outputs["RegionalStackNamePattern"].format(region=region), region)


def host_record_tables(stack_outputs: dict[str, str]) -> dict[str, str]:
    """Region name -> its host-deployment-logs table (in that region)."""
    return {
        region: regional_outputs(stack_outputs, region)["HostDeploymentLogsTableName"]
        for region in regions(stack_outputs)
    }


def api_base_url(stack_outputs: dict[str, str]) -> str:
    endpoint = emulator_endpoint()
    if endpoint:
        # MiniStack and LocalStack both serve REST APIs at /_aws/execute-api/{apiId}/{stage}.
        return f"{endpoint.rstrip('/')}/_aws/execute-api/{stack_outputs['ApiId']}/{stack_outputs['ApiStage']}"
    return stack_outputs["ApiUrl"]


def regional_buckets(stack_outputs: dict[str, str]) -> dict[str, str]:
    """Region name -> its builds bucket."""
    pattern = stack_outputs["RegionalBucketNamePattern"]
    return {region: pattern.format(region=region) for region in regions(stack_outputs)}


def main(argv: list[str]) -> int:
    values = dict(outputs())
    values["ApiBaseUrl"] = api_base_url(values)
    if argv == ["--regions"]:
        print(json.dumps({region: regional_outputs(values, region) for region in regions(values)}, indent=2))
    elif argv:
        print(values[argv[0]])
    else:
        print(json.dumps(values, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
