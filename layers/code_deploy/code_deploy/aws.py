"""The AWS clients the functions use, each made once per execution environment (at first use, so
tests can stand moto in front of it). No endpoint in code: boto3 reads AWS_ENDPOINT_URL on the emulator."""

from __future__ import annotations

from functools import cache

import boto3


@cache
def dynamodb():
    return boto3.resource("dynamodb")


@cache
def dynamodb_client():
    """A plain client, which takes items in DynamoDB's own JSON: for bulk writes that build them so."""
    return boto3.client("dynamodb")


@cache
def s3():
    return boto3.client("s3")


@cache
def sqs():
    return boto3.client("sqs")


@cache
def stepfunctions():
    return boto3.client("stepfunctions")
