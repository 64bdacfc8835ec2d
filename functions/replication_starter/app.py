"""Replication starter: an artifact landed in the global builds bucket, so replicate it to every region.

Also takes the plan's direct input, {"sourceBucket", "sourceKey", "destinationBuckets"}, as the seed's
invoker does (`lambda invoke --payload ...`); anything else fails with a message saying what it expected.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from code_deploy import aws, environment, tracing
from code_deploy.builds.model import build_id_for_artifact
from code_deploy.replication import copy
from code_deploy.replication.model import replication_requests

logger = Logger()
tracer = tracing.tracer()  # Powertools' Tracer, without the X-Ray SDK where tracing is off
metrics = Metrics()


settings = environment.lazy_settings("ReplicationStarterSettings")


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    config = settings()
    started = []
    for request in replication_requests(event):
        # The build's correlation key: the build worker names each artifact after its build.
        logger.append_keys(build_id=build_id_for_artifact(request.source_key, {}))
        name = copy.start_replication(
            sfn_client=aws.stepfunctions(),
            state_machine_arn=config.state_machine_arn,
            destination_buckets=list(request.destination_buckets or config.regional_buckets.bucket_names),
            source_bucket=request.source_bucket,
            source_key=request.source_key,
            version=request.version,
        )
        logger.info(
            "replication started",
            extra={"bucket": request.source_bucket, "key": request.source_key, "execution_name": name},
        )
        metrics.add_metric(name="ReplicationsStarted", unit=MetricUnit.Count, value=1)
        started.append(name)
    return {"executions": started}
