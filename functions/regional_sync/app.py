"""Regional sync: the deployment workflow hands it one wave of a deployment (or its rollback) to carry
out on the region's hosts."""

from __future__ import annotations

import time

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from code_deploy import aws, environment, tracing
from code_deploy.hosts import wave

logger = Logger()
tracer = tracing.tracer()  # Powertools' Tracer, without the X-Ray SDK where tracing is off
metrics = Metrics()


settings = environment.lazy_settings("RegionalSyncSettings")


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    from code_deploy.hosts.schema import WaveRequest  # deferred with the settings: pydantic at the first event

    config = settings()
    request = WaveRequest.model_validate(event)
    logger.append_keys(build_id=request.buildId, deployment_id=request.deploymentId)
    hosts = aws.dynamodb().Table(config.host_state_table)
    started = time.monotonic()
    if request.action == "wave":
        result = wave.roll_out_wave(
            s3_client=aws.s3(),
            host_state_table=hosts,
            dynamodb_client=aws.dynamodb_client(),
            host_records_table_name=config.host_records_table,
            region=config.region,
            regional_bucket=config.bucket,
            request=request,
            fleet=config.fleet,
            writers=config.write_workers,
            record_retention_days=config.host_record_retention_days,
        )
    else:
        result = wave.roll_back_region(
            s3_client=aws.s3(),
            host_state_table=hosts,
            region=config.region,
            regional_bucket=config.bucket,
            request=request,
            fleet=config.fleet,
        )
    rollout_seconds = time.monotonic() - started
    logger.info(
        "rollout done" if request.action == "wave" else "rollback done",
        extra={
            "region": config.region,
            "hosts": result.updated,
            "rollout_seconds": round(rollout_seconds, 3),
            **result.to_dict(),
        },
    )
    metrics.add_metric(name="RolloutSeconds", unit=MetricUnit.Seconds, value=rollout_seconds)
    metrics.add_metric(name="HostsDeployed", unit=MetricUnit.Count, value=result.updated)
    metrics.add_metric(name="HostsFailed", unit=MetricUnit.Count, value=result.failed)
    metrics.add_metric(name="ModelRolloutSeconds", unit=MetricUnit.Seconds, value=result.model_seconds)
    return result.to_dict()
