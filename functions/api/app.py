"""REST API: POST /builds queues a build; GET /builds/{buildId} reads where it is."""

from __future__ import annotations

from functools import cache
from http import HTTPStatus
from typing import Annotated

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from code_deploy import pipeline, store
from code_deploy.builds import BUILD_ID_PATTERN, BuildStatus
from code_deploy.models import BuildAccepted, BuildRequest, BuildView
from code_deploy.settings import ApiSettings
from code_deploy.status import build_view

logger = Logger()
tracer = Tracer()
metrics = Metrics()
app = APIGatewayRestResolver(enable_validation=True)


@cache
def settings() -> ApiSettings:
    return ApiSettings.from_env()


@cache
def dynamodb():
    return boto3.resource("dynamodb")


@cache
def sqs():
    return boto3.client("sqs")


@app.post(
    "/builds",
    summary="Queue a build of a commit",
    responses={202: {"description": "Build queued", "content": {"application/json": {"model": BuildAccepted}}}},
)
def submit_build(request: BuildRequest) -> Response[BuildAccepted]:
    config = settings()
    record = pipeline.submit_build(dynamodb().Table(config.builds_table), sqs(), config.build_queue_url, request.commit)
    build_id = record["build_id"]
    metrics.add_metric(name="BuildsSubmitted", unit=MetricUnit.Count, value=1)
    accepted = BuildAccepted(
        buildId=build_id, commit=record["commit"], status=BuildStatus(record["status"]), statusUrl=f"/builds/{build_id}"
    )
    return Response(
        status_code=HTTPStatus.ACCEPTED,
        content_type=content_types.APPLICATION_JSON,
        body=accepted,
        headers={"Location": accepted.statusUrl},
    )


@app.get("/builds/<buildId>", summary="Read a build's status: built, replicated, rolled out")
def get_build(buildId: Annotated[str, Path(pattern=BUILD_ID_PATTERN)]) -> BuildView:  # noqa: N803 (the path's name)
    config = settings()
    items = store.get_build_items(dynamodb().Table(config.builds_table), buildId)
    if not items:
        raise NotFoundError(f"no build {buildId}")
    record = next(item for item in items if item["record"] == store.BUILD_RECORD)
    tracking = None
    if record.get("artifactKey"):
        tracking = store.get_copy_tracking(
            dynamodb().Table(config.copy_tracking_table), record["artifactKey"], record["artifactBucket"]
        )
    return build_view(items, tracking, config.regional_buckets, config.hosts_per_region)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
