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

from functools import cache, partial


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
def s3(region: str | None = None):
    from botocore.config import Config  # deferred: see the module's docstring

    # SigV4 for presigned URLs too (an upload's PUT), which botocore would otherwise sign the legacy way
    # in us-east-1; every other request is signed so already.
    return boto3_session().client("s3", region_name=region, config=Config(signature_version="s3v4"))


@cache
def client(service: str, region: str | None = None):
    """A plain client of `service`, in `region` (the function's own without one)."""
    return session().create_client(service, region_name=region)


# The plain clients the functions use. DynamoDB's takes items in DynamoDB's own JSON: for bulk writes
# that build them so.
dynamodb_client = partial(client, "dynamodb")
sqs = partial(client, "sqs")
stepfunctions = partial(client, "stepfunctions")
lambda_client = partial(client, "lambda")


class FunctionFailed(RuntimeError):
    """A function invoked synchronously raised; the message names it and carries its error."""


# A synchronous invoke waits for the function's whole run: the read timeout outlasts the longest run
# (a regional sync may take its whole 300 s Timeout, regional.yaml, after a cold start of up to 10 s),
# and the SDK does not retry on its own, since a retry of a run that timed out on our side would run it
# twice at once; the workflow's Retry retries the step as a whole instead, and every step is idempotent.
# The deployment step's own Timeout (template.yaml) outlasts connect + read, with time for its reads
# and writes around the invoke (tests/unit/test_rollout_definition.py checks the three agree).
SYNC_INVOKE_READ_TIMEOUT_SECONDS = 320
SYNC_INVOKE_CONNECT_TIMEOUT_SECONDS = 10


@cache
def _sync_lambda_client(region: str):
    from botocore.config import Config  # deferred: see the module's docstring

    config = Config(
        read_timeout=SYNC_INVOKE_READ_TIMEOUT_SECONDS,
        connect_timeout=SYNC_INVOKE_CONNECT_TIMEOUT_SECONDS,
        retries={"total_max_attempts": 1},
    )
    return session().create_client("lambda", region_name=region, config=config)


def invoke_in_region(region: str, function_name: str, payload: dict) -> dict:
    """Runs a function in its own region and returns its answer (a Step Functions task cannot reach
    another region's function). Raises FunctionFailed with the function's error when it raised."""
    import json

    response = _sync_lambda_client(region).invoke(FunctionName=function_name, Payload=json.dumps(payload).encode())
    answer = json.loads(response["Payload"].read() or b"null")
    if response.get("FunctionError"):
        raise FunctionFailed(
            f"{function_name} in {region} failed: {answer.get('errorType')}: {answer.get('errorMessage')}"
        )
    return answer
