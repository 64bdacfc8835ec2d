"""Regional sync: an artifact reached a region's bucket, so roll it out to the region's hosts."""

from __future__ import annotations

import time
from functools import cache
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import S3Event, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from code_deploy import aws, pipeline, tracing
from code_deploy.builds import build_id_for_artifact, decoded_s3_key

if TYPE_CHECKING:
    from code_deploy.settings import RegionalSyncSettings

logger = Logger()
tracer = tracing.tracer()  # Powertools' Tracer, without the X-Ray SDK where tracing is off
metrics = Metrics()


@cache
def settings() -> RegionalSyncSettings:
    # deferred: pydantic is imported at the first event, not in the cold import
    from code_deploy.settings import RegionalSyncSettings

    return RegionalSyncSettings.from_env()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_source(data_class=S3Event)
def lambda_handler(event: S3Event, context: LambdaContext) -> dict:
    config = settings()
    rollouts = []
    for record in event.records:
        key = decoded_s3_key(record.s3.get_object.key)
        # The build's correlation key, from the artifact's name until the rollout reads its metadata.
        logger.append_keys(build_id=build_id_for_artifact(key, {}))
        started = time.monotonic()
        result = pipeline.roll_out_region(
            aws.dynamodb(config.builds_table_region).Table(config.builds_table),
            aws.s3(),
            aws.dynamodb_client(),
            config.host_records_table,
            config.region,
            config.bucket,
            record.s3.bucket.name,
            key,
            config.fleet,
            config.write_workers,
        )
        rollout_seconds = time.monotonic() - started
        logger.append_keys(build_id=result.build_id)
        logger.info(
            "rollout done",
            extra={
                "rollout_seconds": round(rollout_seconds, 3),
                "region": result.region,
                "hosts": result.hosts,
                "plan_method": result.plan.method.value,
                "pieces": result.plan.params.pieces,
                "rounds": result.plan.rounds,
                "model_seconds": result.plan.seconds,
            },
        )
        metrics.add_metric(name="HostsDeployed", unit=MetricUnit.Count, value=result.hosts)
        metrics.add_metric(name="RolloutSeconds", unit=MetricUnit.Seconds, value=rollout_seconds)
        metrics.add_metric(name="ModelRolloutSeconds", unit=MetricUnit.Seconds, value=result.plan.seconds)
        rollouts.append({"buildId": result.build_id, "region": result.region, "hosts": result.hosts})
    return {"rollouts": rollouts}
