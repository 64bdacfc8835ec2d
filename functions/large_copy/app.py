"""Large copy: the replication state machine's copy for artifacts above the multipart threshold."""

from __future__ import annotations

from functools import cache

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from code_deploy import aws, tracing
from code_deploy.models import CopyRequest
from code_deploy.settings import LargeCopySettings
from code_deploy.transfer import multipart_copy

logger = Logger()
tracer = tracing.tracer()  # Powertools' Tracer, without the X-Ray SDK where tracing is off
metrics = Metrics()


@cache
def settings() -> LargeCopySettings:
    return LargeCopySettings.from_env()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    request = CopyRequest.model_validate(event)
    part_bytes = settings().part_bytes
    result = multipart_copy(aws.s3(), request.sourceBucket, request.sourceKey, request.destinationBucket, part_bytes)
    logger.info(
        "multipart copy done",
        extra={"destination": request.destinationBucket, "parts": result.parts, "size": result.size},
    )
    metrics.add_metric(name="MultipartCopyBytes", unit=MetricUnit.Bytes, value=result.size)
    return {"bucket": request.destinationBucket, "etag": result.etag, "size": result.size, "parts": result.parts}
