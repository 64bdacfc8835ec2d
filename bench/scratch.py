"""Scratch stacks for the scaling sweeps: the deployed stacks' build and parameters, other hosts and
regions. Deployed with tools/deploy.py (plain `sam deploy`s: the global stack, then a stack a region;
SAM CLI lives in its own virtualenv, .venv/tools, so it runs as a program), and emptied and deleted at
the end, so the deployed stacks are never touched."""

from __future__ import annotations

import contextlib

import boto3
from botocore.exceptions import ClientError

from bench.floor import empty_bucket
from tools import deploy
from tools.stack import outputs, regional_buckets, regions, stack_name

SCRATCH_STACK = "scd-bench"  # short: stack + region names must fit S3's 63-character bucket names
# The scaling sweep's regions, in the order it adds them: real AWS region names, as the stacks need.
REGION_NAMES = [
    "us-west-2", "eu-west-1", "ap-southeast-2", "us-east-2", "eu-central-1",
    "ap-northeast-1", "sa-east-1", "ca-central-1", "ap-south-1", "eu-north-1",
]  # fmt: skip


def deployed_parameters(name: str) -> dict[str, str]:
    """The parameters a stack was deployed with (locally `make deploy` adds its own, e.g. the multipart
    threshold), so a scratch stack differs from it only in what the sweep changes."""
    stack = boto3.client("cloudformation").describe_stacks(StackName=name)["Stacks"][0]
    return {parameter["ParameterKey"]: parameter["ParameterValue"] for parameter in stack.get("Parameters", [])}


def deploy_scratch_stack(name: str, hosts_per_region: int, region_count: int) -> dict[str, str]:
    """Creates or updates the scratch stacks: the deployed stacks' build and parameters, these hosts and
    regions. Regional stacks of regions that go away are deleted, their buckets emptied first:
    CloudFormation deletes only empty buckets."""
    wanted = REGION_NAMES[:region_count]
    with contextlib.suppress(ClientError):  # not there yet
        existing = fresh_outputs(name)
        for region in regions(existing):
            if region not in wanted:
                delete_regional_stack(existing, region)
    parameters = deployed_parameters(stack_name())
    parameters.update(HostsPerRegion=str(hosts_per_region), Regions=",".join(wanted))
    deploy.deploy(name, boto3.session.Session().region_name, parameters)
    return fresh_outputs(name)


def fresh_outputs(name: str) -> dict[str, str]:
    outputs.cache_clear()  # the stack was just updated
    return outputs(name)


def _delete_stack(name: str, region: str | None) -> None:
    cloudformation = boto3.client("cloudformation", region_name=region)
    cloudformation.delete_stack(StackName=name)
    cloudformation.get_waiter("stack_delete_complete").wait(StackName=name, WaiterConfig={"Delay": 2})


def delete_regional_stack(stack_outputs: dict[str, str], region: str) -> None:
    empty_bucket(regional_buckets(stack_outputs)[region], region)
    _delete_stack(stack_outputs["RegionalStackNamePattern"].format(region=region), region)


def delete_scratch_stack(name: str) -> None:
    try:
        stack_outputs = fresh_outputs(name)
    except ClientError:
        return
    for region in regions(stack_outputs):
        with contextlib.suppress(ClientError):  # its deploy may never have got that far
            delete_regional_stack(stack_outputs, region)
    empty_bucket(stack_outputs["GlobalBuildsBucketName"])
    _delete_stack(name, None)
