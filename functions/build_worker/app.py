"""Build worker: takes queued builds from SQS, builds each one's artifact into the global builds bucket.

Messages fail one by one (partial batch response), so one bad build never sends its neighbours back
to the queue; after the queue's redrive count a failing message moves to the dead-letter queue.
"""

from __future__ import annotations

from functools import cache

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from code_deploy import pipeline
from code_deploy.models import BuildMessage
from code_deploy.settings import BuildWorkerSettings

logger = Logger()
tracer = Tracer()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.SQS)


@cache
def settings() -> BuildWorkerSettings:
    return BuildWorkerSettings.from_env()


@cache
def dynamodb():
    return boto3.resource("dynamodb")


@cache
def s3():
    return boto3.client("s3")


def build_one(record: SQSRecord) -> None:
    message = BuildMessage.model_validate_json(record.body)
    config = settings()
    logger.append_keys(build_id=message.buildId, commit=message.commit)
    result = pipeline.run_build(
        dynamodb().Table(config.builds_table),
        s3(),
        config.global_bucket,
        message.buildId,
        message.commit,
        config.payload_size,
    )
    logger.info(
        "build done",
        extra={"artifact_key": result.artifact_key, "sha256": result.sha256, "already_built": result.already_built},
    )
    if not result.already_built:
        metrics.add_metric(name="BuildsSucceeded", unit=MetricUnit.Count, value=1)
        metrics.add_metric(name="ArtifactBytes", unit=MetricUnit.Bytes, value=result.artifact_size)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return process_partial_response(event=event, record_handler=build_one, processor=processor, context=context)
