"""What every route of the API shares: its settings and tables, the shape of an answer (202 with where to
follow it, a refusal as JSON with a message), the answers a lookup or a page documents, the refusal of a
body unreadable as a whole, and a POST answered once per Idempotency-Key."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache
from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import BaseRouter, Router
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.params import Header, Query

from code_deploy import api_input, aws, environment, errors, paging
from code_deploy.builds.model import utc_now
from code_deploy.schema import ApiError, ErrorDetail

settings = environment.lazy_settings("ApiSettings")


def table(name: str):
    """The DynamoDB table `name` (one of the settings' table names), through the functions' one resource."""
    return aws.dynamodb().Table(name)


def fleet_table(region: str):
    """A region's fleet table (the real hosts' items), in that region: the API reads every region's from
    its home region."""
    return aws.dynamodb(region).Table(settings().fleet_table_name(region))


def host_state_table(region: str):
    """A region's host-state table (its simulated hosts, in blocks), in that region."""
    return aws.dynamodb(region).Table(settings().host_state_table_name(region))


def caller(resolver: BaseRouter) -> str | None:
    """Who is asking: the caller's SigV4 principal (its IAM ARN) as API Gateway's IAM authorization found
    it in the request context (`identity.userArn`, else `identity.caller`)."""
    identity = resolver.current_event.request_context.identity
    return identity.user_arn or identity.caller or None


def json_response(model: type, description: str) -> dict:
    """An OpenAPI response of `model` as JSON."""
    return {"description": description, "content": {content_types.APPLICATION_JSON: {"model": model}}}


PAGE_REFUSAL = "The limit is out of range or the cursor is not one this API gave out"

# What refuse_unreadable_body answers for a body unreadable as a whole, on every route that takes one.
BODY_REFUSALS = {
    400: json_response(ApiError, "The body is empty or not JSON"),
    413: json_response(ApiError, f"The body is larger than {api_input.MAX_BODY_BYTES} bytes"),
    415: json_response(ApiError, f"Content-Type is not {api_input.JSON_MEDIA_TYPE}"),
}


def responses(
    status: int, model: type, description: str, refusals: Mapping[int, str] | None = None, *, takes_body: bool = False
) -> dict:
    """A route's OpenAPI answers: `model` with `status`; where the route takes a body, BODY_REFUSALS; then
    each of `refusals`, an ApiError with what it means."""
    refused = {code: json_response(ApiError, meaning) for code, meaning in (refusals or {}).items()}
    return {status: json_response(model, description), **(BODY_REFUSALS if takes_body else {}), **refused}


def lookup_responses(model: type, found: str, missing: str, malformed: str) -> dict:
    """The answers of a GET of one thing by its id: it, no such thing, or an id that is not one."""
    return responses(200, model, found, {404: missing, 422: malformed})


def page_responses(model: type, description: str) -> dict:
    """The answers of a GET of a list, a page at a time (code_deploy.paging)."""
    return responses(200, model, description, {422: PAGE_REFUSAL})


def page_limit(records: str):
    """The type of a list's `limit` query parameter: how many `records` on the page."""
    return Annotated[int, Query(ge=1, le=paging.MAX_PAGE_SIZE, description=f"{records} on the page")]


PageCursor = Annotated[
    str | None, Query(max_length=paging.MAX_CURSOR_CHARS, description="The previous page's nextCursor")
]


def page_request(
    limit: int, cursor: str | None, index: paging.RecentIndex, partition_prefix: str = ""
) -> paging.PageRequest:
    """The page a client asks for, as of now; InvalidCursor when the cursor is not one this API gave out.
    With `partition_prefix` (paging.service_partition), of one service's records, through `index`."""
    decoded = paging.Cursor.decode(cursor, index, partition_prefix) if cursor is not None else None
    return paging.PageRequest(utc_now(), limit, decoded, partition_prefix)


def error_response(status: HTTPStatus, message: str, detail: list[ErrorDetail] | None = None) -> Response:
    error = ApiError(statusCode=status, message=message, detail=detail)
    return Response(
        status_code=status, content_type=content_types.APPLICATION_JSON, body=error.model_dump(exclude_none=True)
    )


def accepted_at(body, status_url: str | None) -> Response:
    """202 Accepted, with where to follow what was accepted (when there is a place to follow it)."""
    return Response(
        status_code=HTTPStatus.ACCEPTED,
        content_type=content_types.APPLICATION_JSON,
        body=body,
        headers={"Location": status_url} if status_url else None,
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


def idempotency_key(replays: str):
    """The type of a POST's optional Idempotency-Key header; `replays` says what a retry with the same key
    answers instead of doing it again."""
    return Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            pattern=api_input.IDEMPOTENCY_KEY_PATTERN,
            description=f"Makes retries safe: a POST repeated with the same key {replays} "
            f"({api_input.IDEMPOTENCY_KEY_RULE}; kept 24 hours).",
        ),
    ]


class IdempotencyKeyReused(errors.Unworkable):
    """The Idempotency-Key came before with another request (422)."""


class IdempotentRequestInProgress(errors.NotAllowedNow):
    """A request with the same Idempotency-Key is still being handled (409)."""


def once_per_key(what: str) -> Callable[[Callable[[Any], dict]], Callable[[Router, str | None, Any], dict]]:
    """Makes `handle(request)` answer once per Idempotency-Key where the request has one (Powertools
    idempotency, records in IdempotencyTable, kept a day): the same key with the same request (`what`, as
    JSON) answers the first answer and does nothing again; the same key with another one is refused
    (IdempotencyKeyReused), and while the first is still being handled, so is a second
    (IdempotentRequestInProgress). Each handler keeps its keys apart from the others' (its own key prefix).
    The utility is made at the first request with a key: it imports boto3, which a cold start that answers
    a GET or a refusal never needs."""

    def wrap(handle: Callable[[Any], dict]) -> Callable[[Router, str | None, Any], dict]:
        @cache
        def utility():
            from aws_lambda_powertools.utilities.idempotency import (
                DynamoDBPersistenceLayer,
                IdempotencyConfig,
                idempotent_function,
            )

            config = IdempotencyConfig(
                event_key_jmespath="key",
                payload_validation_jmespath="request",
                expires_after_seconds=api_input.IDEMPOTENCY_KEY_TTL_SECONDS,
            )

            @idempotent_function(
                data_keyword_argument="submission",
                # the functions' one DynamoDB client: a session of its own would load botocore's models again
                persistence_store=DynamoDBPersistenceLayer(
                    table_name=settings().idempotency_table, boto3_client=aws.dynamodb_client()
                ),
                config=config,
                key_prefix=f"{handle.__module__}.{handle.__qualname__}",
            )
            def answer(submission: dict) -> dict:
                return handle(submission["request"])

            return config, answer

        def answer_once(router: Router, key: str | None, request: Any) -> dict:
            if not key:  # no key, no promise: the request is handled as it comes
                return handle(request)
            from aws_lambda_powertools.utilities.idempotency.exceptions import (
                IdempotencyAlreadyInProgressError,
                IdempotencyValidationError,
            )

            config, answer = utility()
            config.register_lambda_context(router.lambda_context)
            try:
                return answer(submission={"key": key, "request": request})
            except IdempotencyValidationError:
                raise IdempotencyKeyReused(
                    f"Idempotency-Key was already used with another {what}: use a new key for a new request"
                ) from None
            except IdempotencyAlreadyInProgressError:
                raise IdempotentRequestInProgress(
                    "a request with this Idempotency-Key is still being handled: retry in a moment"
                ) from None

        return answer_once

    return wrap
