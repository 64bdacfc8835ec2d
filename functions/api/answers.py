"""What every route of the API shares: its settings, the shape of an answer (202 with where to follow
it, a refusal as JSON with a message) and the refusal of a body unreadable as a whole."""

from __future__ import annotations

from http import HTTPStatus

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import BaseRouter
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware

from code_deploy import api_input, environment
from code_deploy.schema import ApiError, ErrorDetail

settings = environment.lazy_settings("ApiSettings")


def json_response(model: type, description: str) -> dict:
    """An OpenAPI response of `model` as JSON."""
    return {"description": description, "content": {content_types.APPLICATION_JSON: {"model": model}}}


# What refuse_unreadable_body answers for a body unreadable as a whole, on every route that takes one.
BODY_REFUSALS = {
    400: json_response(ApiError, "The body is empty or not JSON"),
    413: json_response(ApiError, f"The body is larger than {api_input.MAX_BODY_BYTES} bytes"),
    415: json_response(ApiError, f"Content-Type is not {api_input.JSON_MEDIA_TYPE}"),
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


def body_refusal(resolver: BaseRouter) -> api_input.Refusal | None:
    """Why the current request's body is refused as a whole (too large, empty, not JSON, not an object);
    only the POSTs that take a body are refused."""
    event = resolver.current_event
    if event.http_method != "POST" or api_input.takes_no_body(event.path):
        return None
    return api_input.refuse_body(event.headers.get("content-type"), event.decoded_body)


def refuse_unreadable_body(resolver: BaseRouter, next_middleware: NextMiddleware) -> Response:
    """Refuses a body that is unreadable as a whole before the handler writes anything. Powertools
    validates a request before any middleware runs, so when validation fails too, the app's
    `invalid_request` gives the same answer: the body as a whole first, then its fields."""
    refusal = body_refusal(resolver)
    if refusal:
        return error_response(refusal.status, refusal.message)
    return next_middleware(resolver)
