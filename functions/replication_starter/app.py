"""Replication starter: an artifact landed in the global builds bucket, so replicate it to every region."""

from __future__ import annotations

from functools import cache

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import S3Event, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from code_deploy import aws, pipeline
from code_deploy.builds import decoded_s3_key
from code_deploy.settings import ReplicationStarterSettings

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@cache
def settings() -> ReplicationStarterSettings:
    return ReplicationStarterSettings.from_env()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_source(data_class=S3Event)
def lambda_handler(event: S3Event, context: LambdaContext) -> dict:
    config = settings()
    started = []
    for record in event.records:
        s3_object = record.s3.get_object
        key = decoded_s3_key(s3_object.key)
        # The version id, or else the ETag, names this upload of the key.
        version = s3_object.version_id or s3_object.etag or record.event_time
        name = pipeline.start_replication(
            aws.stepfunctions(), config.state_machine_arn, config.regional_buckets, record.s3.bucket.name, key, version
        )
        logger.info("replication started", extra={"bucket": record.s3.bucket.name, "key": key, "execution_name": name})
        metrics.add_metric(name="ReplicationsStarted", unit=MetricUnit.Count, value=1)
        started.append(name)
    return {"executions": started}
