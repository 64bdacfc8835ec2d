"""Regional copy: the replication state machine's copy of an artifact into one regional bucket, made in
that bucket's own region (Step Functions' S3 integrations reach only the state machine's region)."""

from __future__ import annotations

from functools import cache

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from code_deploy import aws, environment, tracing
from code_deploy.builds.model import build_id_for_artifact
from code_deploy.replication import copy, transfer

logger = Logger()
tracer = tracing.tracer()  # Powertools' Tracer, without the X-Ray SDK where tracing is off
metrics = Metrics()


settings = environment.lazy_settings("RegionalCopySettings")


@cache
def bucket_region(bucket: str) -> str:
    """A bucket's region, looked up once per execution environment."""
    return transfer.bucket_region(aws.s3(), bucket)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    # deferred: pydantic is imported at the first event, not in the cold import
    from code_deploy.replication.schema import CopyRequest

    request = CopyRequest.model_validate(event)
    # The build's correlation key: the build worker names each artifact after its build.
    logger.append_keys(build_id=build_id_for_artifact(request.sourceKey, {}))
    config = settings()
    result = copy.copy_to_region(
        s3_client=aws.s3(),
        s3_client_for_region=aws.s3,
        request=request,
        multipart_threshold=config.multipart_threshold,
        part_bytes=config.part_bytes,
        bucket_regions=bucket_region,
    )
    logger.info("copy done", extra={"source_key": request.sourceKey, **result})
    if result["status"] == "SUCCEEDED":
        metrics.add_metric(name="CopiedBytes", unit=MetricUnit.Bytes, value=result["size"])
    else:
        metrics.add_metric(name="CopiesFailed", unit=MetricUnit.Count, value=1)
    return result
