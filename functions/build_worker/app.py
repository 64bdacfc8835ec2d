"""Build worker: takes queued builds from SQS, builds each one's artifact into the global builds bucket, or,
for a build of an upload (deployctl push), checks the staged zip and publishes it there.

Messages fail one by one (partial batch response), so one bad build never sends its neighbours back
to the queue. A failed build is retried with backoff (its message stays invisible 1, 2, 4, ... s); its last
attempt records the build as FAILED with the reason, and SQS then moves the message to the dead-letter queue.
A refused upload is not a failed attempt: the same bytes would be refused again, so its build FAILS at once
and its message is done.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from code_deploy import aws, environment, tracing
from code_deploy.builds import building

logger = Logger()
tracer = tracing.tracer()  # Powertools' Tracer, without the X-Ray SDK where tracing is off
metrics = Metrics()
# A batch whose every message failed is answered like any other (each one listed), not raised.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


settings = environment.lazy_settings("BuildWorkerSettings")


def build_one(record: SQSRecord) -> None:
    # deferred: pydantic is imported at the first event, not in the cold import
    from code_deploy.builds.schema import BuildMessage

    message = BuildMessage.model_validate_json(record.body)
    config = settings()
    builds_table = aws.dynamodb().Table(config.builds_table)
    # upload_id None (a build of a commit) removes the key a batch's earlier message may have set.
    logger.append_keys(build_id=message.buildId, commit=message.commit, upload_id=message.upload)
    try:
        if message.upload:
            result = building.run_upload_build(
                builds_table=builds_table,
                s3_client=aws.s3(),
                bucket=config.global_bucket,
                build=building.UploadBuild(message.buildId, message.commit, message.upload),
                staging=config.staging,
                piece_bytes=config.piece_bytes,
            )
        else:
            result = building.run_build(
                builds_table=builds_table,
                s3_client=aws.s3(),
                bucket=config.global_bucket,
                build_id=message.buildId,
                commit=message.commit,
                recipe=building.Recipe(config.payload_size, config.failing_commit_prefix, config.piece_bytes),
            )
    except Exception as error:
        # Recorded, and the message comes back later (or goes to the DLQ), but it fails all the same.
        attempt = int(record.attributes.approximate_receive_count)
        failed = building.handle_failed_attempt(
            builds_table=builds_table,
            sqs_client=aws.sqs(),
            queue_url=config.build_queue_url,
            build_id=message.buildId,
            delivery=building.Delivery(record.receipt_handle, attempt, config.max_attempts),
            error=error,
        )
        logger.exception(
            "build attempt failed",
            extra={"attempt": attempt, "last_attempt": failed.last, "retry_in_seconds": failed.retry_in_seconds},
        )
        metrics.add_metric(name="BuildAttemptsFailed", unit=MetricUnit.Count, value=1)
        if failed.last:
            metrics.add_metric(name="BuildsFailed", unit=MetricUnit.Count, value=1)
        raise
    if result.refused:
        logger.warning("build failed: upload refused", extra={"reason": result.refused})
        metrics.add_metric(name="BuildsFailed", unit=MetricUnit.Count, value=1)
        return
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
