"""Regional sync: the deployment workflow hands it one wave of a deployment (or its rollback) to carry
out on the region's hosts."""

from __future__ import annotations

import time

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from code_deploy import aws, environment, tracing
from code_deploy.builds.model import utc_now
from code_deploy.hosts import fleet_wave, wave

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
    if event.get("action") in REAL_HOSTS_STEPS:
        return REAL_HOSTS_STEPS[event["action"]](config, event)
    request = WaveRequest.model_validate(event)
    logger.append_keys(build_id=request.buildId, deployment_id=request.deploymentId)
    hosts = wave.RegionHosts(
        region=config.region,
        bucket=config.bucket,
        s3_client=aws.s3(),
        host_state_table=aws.dynamodb().Table(config.host_state_table),
        fleet=config.fleet,
    )
    started = time.monotonic()
    if request.action == "wave":
        log = wave.HostRecordsLog(
            dynamodb_client=aws.dynamodb_client(),
            table_name=config.host_records_table,
            writers=config.write_workers,
            retention_days=config.host_record_retention_days,
        )
        result = wave.roll_out_wave(hosts, request, log)
    else:
        result = wave.roll_back_region(hosts, request)
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
    return result.to_dict() | {"realHosts": steer_real_hosts(config, request)}


def fleet_table(config):
    return aws.dynamodb().Table(config.fleet_table)


def steer_real_hosts(config, request) -> list[dict]:
    """The region's real hosts' groups take the wave (or the rollback): their goals, and the tallies
    their reports are counted in."""
    order = request.realHosts
    artifact = fleet_wave.ArtifactRef.from_dict(order and order.get("artifact"))
    if not order or artifact is None or not config.fleet_table:
        return []
    steered = fleet_wave.steer(
        fleet_table(config),
        fleet_wave.WaveOrder(
            deployment_id=request.deploymentId,
            build_id=order["buildId"],
            previous_build_id=order.get("previousBuildId"),
            seq=request.seq,
            wave=int(order["wave"]),
            percents=(float(order["percents"][0]), float(order["percents"][1])),
            artifact=artifact,
            service=request.service,
        ),
        (utc_now(), time.time()),
        config.host_lost_after_seconds,
    )
    return [group.to_dict() for group in steered]


# The rollout workflow's steps on the real hosts' wave once steered: keep its task token where the last
# report wakes it, and count what the wave came to.
REAL_HOSTS_STEPS = {
    "await_hosts": lambda config, event: {
        "complete": fleet_wave.await_reports(fleet_table(config), event["hostWaves"], event["taskToken"])
    },
    "count_hosts": lambda config, event: fleet_wave.count(
        fleet_table(config), event["hostWaves"], time.time(), config.host_lost_after_seconds
    ).to_dict(),
}
