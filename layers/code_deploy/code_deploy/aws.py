"""The AWS clients the functions use, each made once per execution environment (at first use, so
tests can stand moto in front of it). No endpoint in code: boto3 reads AWS_ENDPOINT_URL on the emulator.

A client for another region (`region=...`) serves the calls that must reach a resource where it lives:
a regional bucket from the global stack's copy function, the global builds table from a region's sync.
"""

from __future__ import annotations

from functools import cache

import boto3


@cache
def dynamodb(region: str | None = None):
    return boto3.resource("dynamodb", region_name=region)


@cache
def dynamodb_client():
    """A plain client, which takes items in DynamoDB's own JSON: for bulk writes that build them so."""
    return boto3.client("dynamodb")


@cache
def s3(region: str | None = None):
    return boto3.client("s3", region_name=region)


@cache
def sqs():
    return boto3.client("sqs")


@cache
def stepfunctions():
    return boto3.client("stepfunctions")


@cache
def lambda_client(region: str | None = None):
    return boto3.client("lambda", region_name=region)
