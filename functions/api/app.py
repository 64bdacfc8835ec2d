"""REST API: POST /builds queues a build; GET /builds lists builds, newest first; GET /builds/{buildId} reads
where one is. POST /deployments deploys a build (waves, health gates, rollback), GET /deployments[/{id}]
follows deployments, POST /deployments/{id}/{action} pauses, resumes, promotes or aborts one, POST
/deployments/plan predicts one; GET /regions[/{region}] says which build each region runs."""

from __future__ import annotations

import re
from functools import cache
from http import HTTPStatus
from typing import TYPE_CHECKING, Annotated

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.params import Header, Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from code_deploy import api_input, aws, build_list, errors, tracing
from code_deploy.builds import BUILD_ID_PATTERN, BUILD_ID_RULE, DEPLOYMENT_ID_PATTERN, DEPLOYMENT_ID_RULE, utc_now
from code_deploy.models import (
    ApiError,
    BuildAccepted,
    BuildList,
    BuildRequest,
    BuildSummary,
    BuildView,
    DeploymentAccepted,
    DeploymentActionResult,
    DeploymentList,
    DeploymentPlanView,
    DeploymentRequest,
    DeploymentView,
    ErrorDetail,
    RegionList,
    RegionPlanView,
    RegionView,
    WavePlanView,
)

if TYPE_CHECKING:
    from code_deploy import deployments, rollout, store
    from code_deploy.settings import ApiSettings

# The domain modules (the pipeline, the stores, the rollout, the status views) are imported by the routes
# that use them, not here: a cold start pays for what its request needs (GET /builds/{id} never loads the
# rollout), and the API's errors are answered by kind (code_deploy.errors) without importing their raisers.
logger = Logger()
tracer = tracing.tracer()  # Powertools' Tracer, without the X-Ray SDK where tracing is off
metrics = Metrics()
app = APIGatewayRestResolver(enable_validation=True, json_body_deserializer=api_input.parse_json)


@cache
def settings() -> ApiSettings:
    from code_deploy.settings import ApiSettings

    return ApiSettings.from_env()


def queue_build(commit: str) -> dict:
    from code_deploy import pipeline

    config = settings()
    record = pipeline.submit_build(aws.dynamodb().Table(config.builds_table), aws.sqs(), config.build_queue_url, commit)
    # The build's correlation key from here on, as in every function it passes through (deployctl logs).
    logger.append_keys(build_id=record.build_id)
    logger.info("build queued", extra={"commit": record.commit})
    metrics.add_metric(name="BuildsSubmitted", unit=MetricUnit.Count, value=1)
    accepted = BuildAccepted(
        buildId=record.build_id, commit=record.commit, status=record.status, statusUrl=f"/builds/{record.build_id}"
    )
    return accepted.model_dump(mode="json")


@cache
def idempotent_queue_build():
    """queue_build, once per Idempotency-Key (Powertools idempotency, records in IdempotencyTable), and
    the utility's config. Made at the first request with a key: the utility imports boto3, which a cold
    start that answers a GET or a refusal never needs."""
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyValidationError,
    )

    app.exception_handler(IdempotencyValidationError)(idempotency_key_reused)
    app.exception_handler(IdempotencyAlreadyInProgressError)(idempotent_request_in_progress)
    # A POST retried with the same Idempotency-Key answers the first request's build; the same key with
    # another commit is refused. Keys are kept a day.
    config = IdempotencyConfig(
        event_key_jmespath="key",
        payload_validation_jmespath="commit",
        expires_after_seconds=api_input.IDEMPOTENCY_KEY_TTL_SECONDS,
    )

    @idempotent_function(
        data_keyword_argument="submission",
        # the functions' one DynamoDB client: a session of its own would load botocore's models again
        persistence_store=DynamoDBPersistenceLayer(
            table_name=settings().idempotency_table, boto3_client=aws.dynamodb_client()
        ),
        config=config,
    )
    def queue(submission: dict) -> dict:
        return queue_build(submission["commit"])

    return config, queue


def queue_build_once(key: str, commit: str) -> dict:
    config, queue = idempotent_queue_build()
    config.register_lambda_context(app.lambda_context)
    return queue(submission={"key": key, "commit": commit})


def _json(model: type, description: str) -> dict:
    return {"description": description, "content": {content_types.APPLICATION_JSON: {"model": model}}}


# What refuse_unreadable_body answers for a body unreadable as a whole, on every route that takes one.
BODY_REFUSALS = {
    400: _json(ApiError, "The body is empty or not JSON"),
    413: _json(ApiError, f"The body is larger than {api_input.MAX_BODY_BYTES} bytes"),
    415: _json(ApiError, f"Content-Type is not {api_input.JSON_MEDIA_TYPE}"),
}


def error_response(status: HTTPStatus, message: str, detail: list[ErrorDetail] | None = None) -> Response:
    error = ApiError(statusCode=status, message=message, detail=detail)
    return Response(
        status_code=status, content_type=content_types.APPLICATION_JSON, body=error.model_dump(exclude_none=True)
    )


def accepted_at(body, status_url: str) -> Response:
    """202 Accepted, with where to follow what was accepted."""
    return Response(
        status_code=HTTPStatus.ACCEPTED,
        content_type=content_types.APPLICATION_JSON,
        body=body,
        headers={"Location": status_url},
    )


# POST /deployments/{id}/{action} takes no body (whatever is sent is ignored).
ACTION_PATH = re.compile(r"/deployments/[^/]+/[^/]+/?$")


def body_refusal() -> api_input.Refusal | None:
    """Why the current request's body is refused as a whole (too large, empty, not JSON, not an object);
    only the POSTs that take a body are refused."""
    event = app.current_event
    if event.http_method != "POST" or ACTION_PATH.search(event.path):
        return None
    return api_input.refuse_body(event.headers.get("content-type"), event.decoded_body)


def refuse_unreadable_body(app: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response:
    """Refuses a body that is unreadable as a whole before the handler writes anything. Powertools
    validates a request before any middleware runs, so when validation fails too, `invalid_request`
    gives the same answer: the body as a whole first, then its fields."""
    refusal = body_refusal()
    if refusal:
        return error_response(refusal.status, refusal.message)
    return next_middleware(app)


@app.exception_handler([RequestValidationError, RequestUnsupportedContentType])
def invalid_request(error: RequestValidationError | RequestUnsupportedContentType) -> Response:
    refusal = body_refusal()
    if refusal:
        return error_response(refusal.status, refusal.message)
    errors = error.errors()
    # Powertools' detail list (where and what, without pydantic's messages), with a sentence for people.
    detail = [ErrorDetail(loc=list(problem["loc"]), type=problem["type"]) for problem in errors]
    return error_response(HTTPStatus.UNPROCESSABLE_ENTITY, api_input.validation_message(errors), detail)


@app.exception_handler(ValueError)
def unparsable_body(error: ValueError) -> Response:
    """Powertools parses a form or multipart body before anything of ours runs, and raises ValueError on
    a malformed one (multipart without a boundary); such a body is refused anyway, as not JSON."""
    refusal = body_refusal()
    if refusal is None:
        raise error
    return error_response(refusal.status, refusal.message)


# The idempotency utility's errors (registered by idempotent_queue_build, which imports them).
def idempotency_key_reused(error: Exception) -> Response:
    return error_response(
        HTTPStatus.UNPROCESSABLE_ENTITY,
        "Idempotency-Key was already used with another commit: use a new key for a new request",
    )


def idempotent_request_in_progress(error: Exception) -> Response:
    return error_response(
        HTTPStatus.CONFLICT, "a request with this Idempotency-Key is still being handled: retry in a moment"
    )


@app.exception_handler(build_list.InvalidCursor)
def invalid_cursor(error: build_list.InvalidCursor) -> Response:
    return error_response(
        HTTPStatus.UNPROCESSABLE_ENTITY, f"cursor: not a cursor this API gave out ({error}); start without one"
    )


# No such build, deployment or region; a deployment or an action that does not apply now; a deployment
# that cannot be carried out as asked. Each error's message says which and why.
@app.exception_handler(errors.NotFound)
def not_found(error: errors.NotFound) -> Response:
    return error_response(HTTPStatus.NOT_FOUND, str(error))


@app.exception_handler(errors.NotAllowedNow)
def not_allowed_now(error: errors.NotAllowedNow) -> Response:
    return error_response(HTTPStatus.CONFLICT, str(error))


@app.exception_handler(errors.Unworkable)
def unworkable(error: errors.Unworkable) -> Response:
    return error_response(HTTPStatus.UNPROCESSABLE_ENTITY, str(error))


@app.not_found
def no_such_route(error: NotFoundError) -> Response:
    event = app.current_event
    return error_response(
        HTTPStatus.NOT_FOUND,
        f"no route for {event.http_method} {api_input.shortened(event.path)}: "
        "the API serves POST /builds, GET /builds, GET /builds/{buildId}, POST /deployments, "
        "POST /deployments/plan, GET /deployments, GET /deployments/{deploymentId}, "
        "POST /deployments/{deploymentId}/pause|resume|promote|abort, GET /regions and GET /regions/{region}",
    )


@app.post(
    "/builds",
    summary="Queue a build of a commit",
    middlewares=[refuse_unreadable_body],
    responses={
        202: _json(BuildAccepted, "Build queued"),
        **BODY_REFUSALS,
        409: _json(ApiError, "A request with the same Idempotency-Key is still being handled"),
        422: _json(
            ApiError,
            "The body is JSON but not a valid build request, or the Idempotency-Key was used with another commit",
        ),
    },
)
def submit_build(
    request: BuildRequest,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            pattern=api_input.IDEMPOTENCY_KEY_PATTERN,
            description="Makes retries safe: a POST repeated with the same key answers the first one's build "
            f"instead of making another ({api_input.IDEMPOTENCY_KEY_RULE}; kept 24 hours).",
        ),
    ] = None,
) -> Response[BuildAccepted]:
    if idempotency_key:
        accepted = BuildAccepted(**queue_build_once(idempotency_key, request.commit))
    else:
        accepted = BuildAccepted(**queue_build(request.commit))
    return accepted_at(accepted, accepted.statusUrl)


@app.get(
    "/builds",
    summary="List builds, newest first, a page at a time",
    responses={
        200: _json(BuildList, "A page of builds"),
        422: _json(ApiError, "The limit is out of range or the cursor is not one this API gave out"),
    },
)
def list_builds(
    limit: Annotated[
        int,
        Query(ge=1, le=build_list.MAX_PAGE_SIZE, description="Builds on the page"),
    ] = build_list.DEFAULT_PAGE_SIZE,
    cursor: Annotated[
        str | None,
        Query(max_length=build_list.MAX_CURSOR_CHARS, description="The previous page's nextCursor"),
    ] = None,
) -> BuildList:
    config = settings()
    builds_table = aws.dynamodb().Table(config.builds_table)
    page = build_list.list_builds(
        builds_table, utc_now(), limit, build_list.Cursor.decode(cursor) if cursor is not None else None
    )
    summaries = [summary_of(read_build(config, record["build_id"])) for record in page.records]
    return BuildList(builds=summaries, nextCursor=page.next_cursor.encode() if page.next_cursor else None)


def read_build(config: ApiSettings, build_id: str) -> BuildView:
    from code_deploy import status

    return status.read_build(
        aws.dynamodb().Table(config.builds_table),
        aws.dynamodb().Table(config.copy_tracking_table),
        build_id,
        config.regional_buckets,
        config.hosts_per_region,
    )


def summary_of(view: BuildView) -> BuildSummary:
    return BuildSummary(
        buildId=view.buildId,
        commit=view.commit,
        status=view.status,
        deploymentStatus=view.deploymentStatus,
        failureReason=view.failureReason,
        queuedAt=view.queuedAt,
        hostsDeployed=sum(region.hostsDeployed for region in view.regions),
        hostsTotal=sum(region.hostsTotal for region in view.regions),
        statusUrl=f"/builds/{view.buildId}",
    )


@app.get(
    "/builds/<buildId>",
    summary="Read a build's status: built, replicated, rolled out",
    responses={
        200: _json(BuildView, "The build's status"),
        404: _json(ApiError, "No such build"),
        422: _json(ApiError, "The build id is malformed"),
    },
)
def get_build(
    buildId: Annotated[str, Path(pattern=BUILD_ID_PATTERN, description=f"The build's id: {BUILD_ID_RULE}")],  # noqa: N803
) -> BuildView:
    logger.append_keys(build_id=buildId)
    return read_build(settings(), buildId)


def deployment_spec(request: DeploymentRequest) -> deployments.DeploymentSpec:
    from code_deploy import deployments

    simulate = request.simulate
    return deployments.spec_from_request(
        request.buildId,
        settings().regional_buckets.regions,
        regions=request.regions,
        waves=request.waves,
        bake_seconds=request.bakeSeconds,
        region_waves=request.regionWaves,
        max_failure_percent=request.maxFailurePercent,
        simulation=deployments.Simulation(simulate.hostFailurePercent, simulate.seed) if simulate else None,
    )


def plan_view(artifact: store.ArtifactLocation, plan: deployments.DeploymentPlan) -> DeploymentPlanView:
    return DeploymentPlanView(
        buildId=plan.spec.build_id,
        artifactBytes=artifact.size,
        regionWaves=[list(region_wave) for region_wave in plan.spec.region_waves],
        regions=[
            RegionPlanView(
                region=region.region,
                hostsTotal=region.hosts_total,
                waves=[
                    WavePlanView(
                        wave=wave.wave + 1,
                        cumulativePercent=wave.cumulative_percent,
                        hosts=wave.hosts,
                        hostsHolding=wave.hosts_holding,
                        predictedSeconds=round(wave.seconds, 6),
                    )
                    for wave in region.waves
                ],
                predictedSeconds=round(region.seconds, 6),
                rollbackSeconds=region.rollback_seconds,
            )
            for region in plan.regions.values()
        ],
        regionWaveSeconds=[round(seconds, 6) for seconds in plan.region_wave_seconds],
        predictedSeconds=round(plan.seconds, 6),
    )


@app.post(
    "/deployments/plan",
    summary="Plan a deployment without doing it: waves, hosts per wave, predicted time",
    middlewares=[refuse_unreadable_body],
    responses={
        200: _json(DeploymentPlanView, "The plan"),
        **BODY_REFUSALS,
        404: _json(ApiError, "No such build"),
        409: _json(ApiError, "The build is not SUCCEEDED, or not in every target region's bucket"),
        422: _json(ApiError, "The body is not a valid deployment (unknown region, waves not increasing ...)"),
    },
)
def plan_deployment(request: DeploymentRequest) -> DeploymentPlanView:
    from code_deploy import rollout

    config = settings()
    artifact, plan = rollout.plan_deployment(
        rollout_tables(config),
        aws.dynamodb().Table(config.copy_tracking_table),
        config.regional_buckets,
        config.fleet,
        deployment_spec(request),
    )
    return plan_view(artifact, plan)


def rollout_tables(config: ApiSettings) -> rollout.Tables:
    from code_deploy import rollout

    return rollout.Tables.of(aws.dynamodb(), config.deployments_table, config.regions_table, config.builds_table)


@app.post(
    "/deployments",
    summary="Deploy a build: to which regions, in which waves, with which health gate",
    middlewares=[refuse_unreadable_body],
    responses={
        202: _json(DeploymentAccepted, "Deployment accepted; its rollout has started"),
        **BODY_REFUSALS,
        404: _json(ApiError, "No such build"),
        409: _json(ApiError, "The build is not SUCCEEDED, or not in every target region's bucket"),
        422: _json(ApiError, "The body is not a valid deployment (unknown region, waves not increasing ...)"),
    },
)
def create_deployment(request: DeploymentRequest) -> Response[DeploymentAccepted]:
    from code_deploy import rollout

    config = settings()
    spec = deployment_spec(request)
    deployment = rollout.deploy_build(
        rollout_tables(config),
        aws.dynamodb().Table(config.copy_tracking_table),
        config.regional_buckets,
        aws.stepfunctions(),
        config.rollout_state_machine_arn,
        spec,
        config.fleet,
    )
    logger.append_keys(build_id=deployment.build_id, deployment_id=deployment.deployment_id)
    logger.info("deployment accepted", extra={"regions": list(spec.regions), "waves": list(spec.waves)})
    accepted = DeploymentAccepted(
        deploymentId=deployment.deployment_id,
        buildId=deployment.build_id,
        status=deployment.status.value,
        statusUrl=f"/deployments/{deployment.deployment_id}",
        predictedSeconds=round(deployment.predicted_seconds, 6),
    )
    return accepted_at(accepted, accepted.statusUrl)


@app.get(
    "/deployments",
    summary="List deployments, newest first, a page at a time",
    responses={
        200: _json(DeploymentList, "A page of deployments"),
        422: _json(ApiError, "The limit is out of range or the cursor is not one this API gave out"),
    },
)
def list_deployments(
    limit: Annotated[int, Query(ge=1, le=build_list.MAX_PAGE_SIZE, description="Deployments on the page")] = (
        build_list.DEFAULT_PAGE_SIZE
    ),
    cursor: Annotated[
        str | None, Query(max_length=build_list.MAX_CURSOR_CHARS, description="The previous page's nextCursor")
    ] = None,
) -> DeploymentList:
    from code_deploy import deployment_store, status

    config = settings()
    found, next_cursor = deployment_store.list_recent(
        aws.dynamodb().Table(config.deployments_table),
        utc_now(),
        limit,
        build_list.Cursor.decode(cursor, build_list.DEPLOYMENTS) if cursor is not None else None,
    )
    return DeploymentList(
        deployments=[status.deployment_summary(deployment) for deployment in found],
        nextCursor=next_cursor.encode() if next_cursor else None,
    )


DeploymentId = Annotated[
    str, Path(pattern=DEPLOYMENT_ID_PATTERN, description=f"The deployment's id: {DEPLOYMENT_ID_RULE}")
]


@app.get(
    "/deployments/<deploymentId>",
    summary="Read a deployment: its status, and each region's wave and hosts",
    responses={
        200: _json(DeploymentView, "The deployment"),
        404: _json(ApiError, "No such deployment"),
        422: _json(ApiError, "The deployment id is malformed"),
    },
)
def get_deployment(deploymentId: DeploymentId) -> DeploymentView:  # noqa: N803
    from code_deploy import deployment_store, status

    logger.append_keys(deployment_id=deploymentId)
    return status.deployment_view(
        deployment_store.get(aws.dynamodb().Table(settings().deployments_table), deploymentId)
    )


@app.post(
    "/deployments/<deploymentId>/<action>",
    summary="pause (before the next wave), resume, promote (skip the bakes left) or abort (stop and roll back)",
    responses={
        202: _json(DeploymentActionResult, "Done; the workflow acts on it at its next step"),
        404: _json(ApiError, "No such deployment"),
        409: _json(ApiError, "The action does not apply to the deployment as it stands"),
        422: _json(ApiError, "The deployment id is malformed, or the action is none of pause, resume, promote, abort"),
    },
)
def act_on_deployment(
    deploymentId: DeploymentId,  # noqa: N803
    action: Annotated[
        str, Path(pattern="^(pause|resume|promote|abort)$", description="pause, resume, promote or abort")
    ],
) -> Response[DeploymentActionResult]:
    from code_deploy import rollout

    logger.append_keys(deployment_id=deploymentId)
    deployment = rollout.act(rollout_tables(settings()), deploymentId, action)
    logger.info(f"deployment {action}", extra={"status": deployment.status.value})
    return Response(
        status_code=HTTPStatus.ACCEPTED,
        content_type=content_types.APPLICATION_JSON,
        body=DeploymentActionResult(deploymentId=deploymentId, status=deployment.status.value),
    )


def region_views(config: ApiSettings, regions: tuple[str, ...]) -> list[RegionView]:
    from code_deploy import deployment_store, status

    goals = deployment_store.get_region_goals(aws.dynamodb().Table(config.regions_table), regions)
    return [status.region_view(goals[region], config.hosts_per_region) for region in regions]


@app.get(
    "/regions",
    summary="Which build each region should run and runs: its goal and its hosts per build",
    responses={200: _json(RegionList, "Every region")},
)
def list_regions() -> RegionList:
    config = settings()
    return RegionList(regions=region_views(config, config.regional_buckets.regions))


@app.get(
    "/regions/<region>",
    summary="One region's goal and hosts per build",
    responses={
        200: _json(RegionView, "The region"),
        404: _json(ApiError, "Not one of the stack's regions"),
        422: _json(ApiError, "The region's name is too long"),
    },
)
def get_region(region: Annotated[str, Path(max_length=64, description="An AWS region of the stack")]) -> RegionView:
    config = settings()
    if region not in config.regional_buckets.regions:
        raise errors.NotFound(
            f"no region {api_input.shortened(region)}: the regions are {', '.join(config.regional_buckets.regions)}"
        )
    return region_views(config, (region,))[0]


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
