"""The AWS clients the functions use, each made once per execution environment (at first use, so
tests can stand moto in front of it). No endpoint in code: botocore reads AWS_ENDPOINT_URL on the emulator.

A client for another region (`region=...`) serves the calls that must reach a resource where it lives:
a regional bucket from the global stack's copy function, the global builds table from a region's sync.

Lean on purpose, as every cold start pays what a function imports: botocore and boto3 are imported at
the first client, not with this module (a request refused before any AWS call never loads them), and
every client and resource comes from one botocore session, so each service's model is loaded once.
Plain clients are botocore's own; boto3 only where it adds something: the DynamoDB resource (Table, items
in plain Python) and the S3 client (boto3's managed multipart copy).
"""

from __future__ import annotations

from functools import cache


@cache
def session():
    """The execution environment's one botocore session (credentials, region and models, loaded once)."""
    import botocore.session  # deferred: see the module's docstring

    return botocore.session.get_session()


@cache
def boto3_session():
    import boto3.session  # deferred: see the module's docstring

    return boto3.session.Session(botocore_session=session())


@cache
def dynamodb(region: str | None = None):
    return boto3_session().resource("dynamodb", region_name=region)


@cache
def dynamodb_client():
    """A plain client, which takes items in DynamoDB's own JSON: for bulk writes that build them so."""
    return session().create_client("dynamodb")


@cache
def s3(region: str | None = None):
    return boto3_session().client("s3", region_name=region)


@cache
def sqs():
    return session().create_client("sqs")


@cache
def stepfunctions():
    return session().create_client("stepfunctions")


@cache
def lambda_client(region: str | None = None):
    return session().create_client("lambda", region_name=region)
