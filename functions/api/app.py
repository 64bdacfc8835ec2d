"""REST API: services (POST /services, GET /services[/{name}], DELETE /services/{name}), builds (POST
/builds[/uploads], GET /builds[/{buildId}]), deployments (POST /deployments[/plan], GET /deployments[/{id}],
POST /deployments/{id}/{action}), freezes (POST|GET|DELETE /freeze) and regions (GET /regions[/{region}[/hosts]]),
one router a concept (service_routes, build_routes, deployment_routes, freeze_routes, region_routes). Here: the
resolver, the routers, and how a
refusal is answered, by kind."""

from __future__ import annotations

from http import HTTPStatus

import build_routes
import deployment_routes
import freeze_routes
import region_routes
import service_routes
from answers import body_refusal, error_response
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from code_deploy import api_input, errors, paging, tracing
from code_deploy.schema import ErrorDetail

# The domain modules are imported by the routes that use them: a cold start pays for what its request
# needs (GET /builds/{id} never loads a deployment's workflow), and the API's errors are answered by kind
# (code_deploy.errors) without importing their raisers.
logger = Logger()
tracer = tracing.tracer()  # Powertools' Tracer, without the X-Ray SDK where tracing is off
metrics = Metrics()
app = APIGatewayRestResolver(enable_validation=True, json_body_deserializer=api_input.parse_json)
for concept in (service_routes, build_routes, deployment_routes, freeze_routes, region_routes):
    app.include_router(concept.router)


@app.exception_handler([RequestValidationError, RequestUnsupportedContentType])
def invalid_request(error: RequestValidationError | RequestUnsupportedContentType) -> Response:
    refusal = body_refusal(app)
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
    refusal = body_refusal(app)
    if refusal is None:
        raise error
    return error_response(refusal.status, refusal.message)


@app.exception_handler(paging.InvalidCursor)
def invalid_cursor(error: paging.InvalidCursor) -> Response:
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
        "the API serves POST /builds, POST /builds/uploads, GET /builds, GET /builds/{buildId}, POST /deployments, "
        "POST /deployments/plan, GET /deployments, GET /deployments/{deploymentId}, "
        "POST /deployments/{deploymentId}/pause|resume|promote|approve|abort|rollback, POST|GET|DELETE /freeze, "
        "GET /regions, GET /regions/{region}, GET /regions/{region}/hosts, GET /regions/{region}/hosts/{hostId}, "
        "GET /regions/{region}/grid, POST /services, GET /services, GET /services/{name} and DELETE /services/{name}",
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
