"""Scratch stacks for the scaling sweeps: the deployed stack's build and parameters, other hosts and
regions. Deployed with `sam deploy` (SAM CLI lives in its own virtualenv, .venv/tools, so it runs as a
program), and emptied and deleted at the end, so the deployed stack is never touched."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import boto3
from botocore.exceptions import ClientError

from tools.bench.floor import empty_bucket
from tools.stack import outputs, regional_buckets, stack_name

REPO = Path(__file__).resolve().parents[2]
SAM = REPO / ".venv" / "tools" / "bin" / "sam"
SCRATCH_STACK = "scd-bench"  # short: stack + region names must fit S3's 63-character bucket names
REGION_NAMES = [f"region-{letter}" for letter in "abcdefghijklmnopqrstuvwxyz"]


def deployed_parameters(name: str) -> dict[str, str]:
    """The parameters a stack was deployed with (locally `make deploy` adds its own, e.g. the multipart
    threshold), so a scratch stack differs from it only in what the sweep changes."""
    stack = boto3.client("cloudformation").describe_stacks(StackName=name)["Stacks"][0]
    return {parameter["ParameterKey"]: parameter["ParameterValue"] for parameter in stack.get("Parameters", [])}


def sam_deploy(name: str, parameters: dict[str, str]) -> None:
    """`sam deploy` of the last `sam build` (.aws-sam/build) as stack `name`, with samconfig.toml's
    default environment and these parameter overrides. Raises with SAM CLI's output when it fails."""
    command = [
        str(SAM),
        "deploy",
        "--stack-name",
        name,
        "--no-progressbar",
        "--parameter-overrides",
        *(f"{key}={value}" for key, value in parameters.items()),
    ]
    environment = {**os.environ, "SAM_CLI_TELEMETRY": "0", "STACK_NAME": name}
    done = subprocess.run(command, cwd=REPO, env=environment, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"sam deploy of {name} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")


def deploy_scratch_stack(name: str, hosts_per_region: int, regions: int) -> dict[str, str]:
    """Creates or updates the scratch stack: the deployed stack's build and parameters, these hosts and
    regions. Buckets of regions that go away are emptied first: CloudFormation deletes only empty buckets."""
    wanted = REGION_NAMES[:regions]
    try:
        for region, bucket in regional_buckets(fresh_outputs(name)).items():
            if region not in wanted:
                empty_bucket(bucket)
    except ClientError:
        pass  # not there yet
    parameters = deployed_parameters(stack_name())
    parameters.update(HostsPerRegion=str(hosts_per_region), Regions=",".join(wanted))
    sam_deploy(name, parameters)
    return fresh_outputs(name)


def fresh_outputs(name: str) -> dict[str, str]:
    outputs.cache_clear()  # the stack was just updated
    return outputs(name)


def delete_scratch_stack(name: str) -> None:
    cloudformation = boto3.client("cloudformation")
    try:
        stack_outputs = fresh_outputs(name)
    except ClientError:
        return
    for bucket in [stack_outputs["GlobalBuildsBucketName"], *regional_buckets(stack_outputs).values()]:
        empty_bucket(bucket)
    cloudformation.delete_stack(StackName=name)
    cloudformation.get_waiter("stack_delete_complete").wait(StackName=name, WaiterConfig={"Delay": 2})
