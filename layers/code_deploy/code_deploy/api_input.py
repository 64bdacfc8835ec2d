"""What the API takes as input and, for what it refuses, a message that says what is wrong.

A request body is first judged as a whole (`refuse_body`): its size before anything else, then
whether it is declared and written as a JSON object. Its fields are Powertools' to validate against
the schemas (`code_deploy.*.schema`); it reports each problem as pydantic does, `{"loc": ("body", "commit"),
"type": "string_pattern_mismatch", ...}`, which `validation_message` turns into a sentence a person
can act on: "commit: must be 7 to 64 lowercase hex digits".
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from code_deploy.builds.model import BUILD_ID_RULE, COMMIT_RULE, UPLOAD_ID_RULE

# A build request is one commit of at most 64 characters: 16 KiB leaves room for any formatting and
# spares the API from parsing megabytes (API Gateway itself would pass up to 10 MB).
MAX_BODY_BYTES = 16 * 1024
JSON_MEDIA_TYPE = "application/json"
EXAMPLE_BODY = '{"commit": "9fceb02d0ae598e95dc970b74767f19372d61af8"}'

# What an input must be, by where it sits in the request (Powertools' `loc` without the field's details).
_RULES: dict[tuple[str, ...], str] = {
    ("body", "commit"): COMMIT_RULE,
    ("body", "upload"): UPLOAD_ID_RULE,
    ("path", "buildId"): BUILD_ID_RULE,
}
_JSON_TYPES: tuple[tuple[type, str], ...] = (
    (bool, "boolean"),  # before int: a bool is an int in Python
    (int, "number"),
    (float, "number"),
    (str, "string"),
    (list, "array"),
    (dict, "object"),
)
_LONGEST_ECHO = 64


@dataclass(frozen=True)
class Refusal:
    status: HTTPStatus
    message: str


def media_type(content_type: str | None) -> str:
    """`Application/JSON; charset=utf-8` -> `application/json`; no header -> ``."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def parse_json(text: str) -> Any:
    """The API's JSON reader: `json.loads`, except that JSON nested deeper than the parser can follow
    is invalid JSON rather than a RecursionError (which would be a 500)."""
    try:
        return json.loads(text)
    except RecursionError:
        raise json.JSONDecodeError("arrays or objects nested too deeply", text, 0) from None


# POST /deployments/{id}/{action} and POST /builds/uploads take no body (whatever is sent is ignored).
_NO_BODY_PATH = re.compile(r"(/deployments/[^/]+/[^/]+|/builds/uploads)/?$")


def takes_no_body(path: str) -> bool:
    """A POST whose route takes no body (a deployment's action, an upload's grant): its body is not judged."""
    return bool(_NO_BODY_PATH.search(path))


def refuse_body(content_type: str | None, body: str | None) -> Refusal | None:
    """Why a request body is refused as a whole, or None when its fields are what to check next.

    In this order: too large (413) before anything else, so a huge body is never parsed; empty (400);
    not declared JSON (415); not JSON (400); JSON but not an object (422).
    """
    size = len(body.encode("utf-8", "surrogatepass")) if body else 0
    if size > MAX_BODY_BYTES:
        return Refusal(
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"body is {size} bytes; the limit is {MAX_BODY_BYTES} bytes"
        )
    if not body:
        return Refusal(HTTPStatus.BAD_REQUEST, f"body is empty: send a JSON object such as {EXAMPLE_BODY}")
    received = media_type(content_type)
    if not received:
        return Refusal(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, f"Content-Type is missing: it must be {JSON_MEDIA_TYPE}")
    if received != JSON_MEDIA_TYPE:
        return Refusal(
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE, f"Content-Type must be {JSON_MEDIA_TYPE}, not {shortened(received)}"
        )
    try:
        document = parse_json(body)
    except json.JSONDecodeError as error:
        return Refusal(HTTPStatus.BAD_REQUEST, f"body is not valid JSON: {error.msg} at character {error.pos}")
    if not isinstance(document, dict):
        # Checked here, not left to validation: Powertools would read a JSON array as its first element.
        return Refusal(
            HTTPStatus.UNPROCESSABLE_ENTITY,
            f"body must be a JSON object such as {EXAMPLE_BODY}, not {_json_type(document)}",
        )
    return None


def validation_message(errors: Sequence[Mapping[str, Any]]) -> str:
    """Every problem Powertools found in a request's fields, in one line (answered 422):
    `commit: must be 7 to 64 lowercase hex digits; unknown field: branch`."""
    return "; ".join(dict.fromkeys(_describe(error) for error in errors)) or "the request is not valid"


def _describe(error: Mapping[str, Any]) -> str:
    loc = tuple(error.get("loc") or ())
    kind = error.get("type", "")
    field = _field_name(loc)
    rule = _RULES.get(loc[:2])
    if kind == "extra_forbidden":
        return f"unknown field: {field}"
    if kind == "missing":
        return f"{field}: is required"
    if kind == "string_type":
        return f"{field}: must be a string{f' of {rule}' if rule else ''}, not {_json_type(error.get('input'))}"
    if kind == "string_unicode":
        return f"{field}: must be valid Unicode text"
    if kind == "string_pattern_mismatch" and rule:
        return f"{field}: must be {rule}"
    message = str(error.get("msg") or kind or "is not valid")
    return f"{field}: {message[:1].lower()}{message[1:]}"


def _field_name(loc: tuple) -> str:
    """`("body", "commit")` -> `commit`; `("body",)` -> `body`."""
    return shortened(".".join(str(part) for part in loc[1:]) or (str(loc[0]) if loc else "request"))


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    return next((name for kind, name in _JSON_TYPES if isinstance(value, kind)), type(value).__name__)


def shortened(text: str) -> str:
    """Echo what the client sent, but never a page of it."""
    return text if len(text) <= _LONGEST_ECHO else f"{text[:_LONGEST_ECHO]}..."


# Idempotency-Key: any visible ASCII, as in the IETF draft's examples (UUIDs, random tokens).
IDEMPOTENCY_KEY_PATTERN = r"^[\x21-\x7e]{1,128}$"
IDEMPOTENCY_KEY_RULE = "1 to 128 visible ASCII characters, e.g. a UUID"
IDEMPOTENCY_KEY_TTL_SECONDS = 24 * 60 * 60
