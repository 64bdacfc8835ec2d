"""Host reports: the fleet table's stream. Each report of a real host's agent is counted once for its
group's wave under way; the wave's last report wakes the rollout workflow's wait in the home region. Each
report counted is also published as metrics: a host deployed or failed, its hooks' time."""

from __future__ import annotations

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from code_deploy import aws, environment, tracing
from code_deploy.hosts import fleet, report_metrics

logger = Logger()
tracer = tracing.tracer()  # Powertools' Tracer, without the X-Ray SDK where tracing is off
settings = environment.lazy_settings("HostReportsSettings")
processor = BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)
groups_seen: set[str] = set()  # an execution environment notes each group once


def publish_metrics(report: dict) -> None:
    """A report counted for its wave, as metrics: the host deployed or failed, its hooks' time."""
    config = settings()
    aws.client("cloudwatch").put_metric_data(
        Namespace=config.metrics_namespace, MetricData=report_metrics.report_metrics(report, config.region)
    )


def take(record: DynamoDBRecord) -> None:
    item = record.dynamodb.new_image if record.dynamodb else None
    if not item or not str(item.get("pk", "")).startswith("HOST#"):
        return
    config = settings()
    table = aws.dynamodb().Table(config.fleet_table)
    if item.get("group") and item["group"] not in groups_seen:
        fleet.note_group(table, item["group"])
        groups_seen.add(item["group"])
    completed = fleet.take_report(table, item, on_counted=publish_metrics)
    if completed and completed.task_token:
        from code_deploy.deployments import waits  # deferred: only a wave's last report wakes anything

        woken = waits.wake(aws.stepfunctions(config.home_region), completed.task_token, "hosts reported")
        logger.info("wave reported", extra={"tally": completed.wave_id, "expected": completed.expected, "woken": woken})


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return process_partial_response(event=event, record_handler=take, processor=processor, context=context)
