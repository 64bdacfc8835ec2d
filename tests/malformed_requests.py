"""Malformed API requests and the answers they must get. One table, sent to the handler by the unit
tests (tests/unit/test_api_input.py) and to the deployed stack by the integration tests
(tests/integration/test_api_input.py): each is refused with a 4xx and a JSON `message` that says what
is wrong, and nothing is recorded or queued."""

from __future__ import annotations

import json
from dataclasses import dataclass

from code_deploy.api_input import EXAMPLE_BODY, MAX_BODY_BYTES

JSON = "application/json"
VALID_COMMIT = "9fceb02d0ae598e95dc970b74767f19372d61af8"
UNKNOWN_BUILD_ID = "build-20200101T000000Z-00000000"

COMMIT_MESSAGE = "commit: must be 7 to 64 lowercase hex digits"
BUILD_ID_MESSAGE = "buildId: must be build-<UTC time as YYYYMMDDTHHMMSSZ>-<8 lowercase hex digits>"
NO_ROUTE = "no route for"
NOT_AN_OBJECT = f"body must be a JSON object such as {EXAMPLE_BODY}, not"


@dataclass(frozen=True)
class MalformedRequest:
    name: str
    method: str
    path: str  # after the API's base URL, as sent on the wire (percent-encoded)
    status: int
    message: str  # what the answer's message must contain
    body: str | None = None
    content_type: str | None = JSON  # None: no Content-Type header at all

    @property
    def headers(self) -> dict[str, str]:
        return {"Content-Type": self.content_type} if self.content_type else {}


def post(name: str, body: str | None, status: int, message: str, content_type: str | None = JSON) -> MalformedRequest:
    return MalformedRequest(name, "POST", "/builds", status, message, body, content_type)


def get(name: str, path: str, status: int, message: str) -> MalformedRequest:
    return MalformedRequest(name, "GET", path, status, message, content_type=None)


def commit_body(commit) -> str:
    return json.dumps({"commit": commit})


def too_large(body: str) -> str:
    return f"body is {len(body.encode())} bytes; the limit is {MAX_BODY_BYTES} bytes"


LARGE_JSON = json.dumps({"commit": VALID_COMMIT, "padding": "x" * MAX_BODY_BYTES})
LARGE_WHITESPACE = '{"commit": "9fceb02"' + " " * MAX_BODY_BYTES + "}"
DEEPLY_NESTED = "[" * 100_000 + "]" * 100_000
LARGE_TEXT = "x" * 64 * 1024


MALFORMED_REQUESTS = [
    # Not JSON at all: 400
    post("invalid JSON", "{not json", 400, "body is not valid JSON: Expecting property name"),
    post("truncated JSON", '{"commit": "9fceb02"', 400, "body is not valid JSON"),
    post("empty body", "", 400, "body is empty"),
    post("no body", None, 400, "body is empty"),
    # JSON, but not a build request: 422
    post("JSON null", "null", 422, f"{NOT_AN_OBJECT} null"),
    post("JSON string", json.dumps(VALID_COMMIT), 422, f"{NOT_AN_OBJECT} string"),
    post("JSON array", json.dumps([VALID_COMMIT]), 422, f"{NOT_AN_OBJECT} array"),
    # Powertools alone would read a list as its first element, and accept this one
    post("JSON array of a request", json.dumps([{"commit": VALID_COMMIT}]), 422, f"{NOT_AN_OBJECT} array"),
    post("missing commit", "{}", 422, "commit: is required"),
    post("empty commit", commit_body(""), 422, COMMIT_MESSAGE),
    post("too short commit", commit_body("9fceb0"), 422, COMMIT_MESSAGE),
    post("non-hex commit", commit_body("not-hex!"), 422, COMMIT_MESSAGE),
    post("uppercase commit", commit_body(VALID_COMMIT.upper()), 422, COMMIT_MESSAGE),
    post("over-long commit", commit_body("a" * 65), 422, COMMIT_MESSAGE),
    post("commit with a newline", commit_body("9fceb02\n"), 422, COMMIT_MESSAGE),
    post("path in commit", commit_body("../../etc/passwd"), 422, COMMIT_MESSAGE),
    post(
        "commit is a number",
        '{"commit": 9000000}',
        422,
        "commit: must be a string of 7 to 64 lowercase hex digits, not number",
    ),
    post("commit is null", commit_body(None), 422, "not null"),
    post("commit is a boolean", commit_body(True), 422, "not boolean"),
    post("commit is an array", commit_body([VALID_COMMIT]), 422, "not array"),
    post("commit is an object", commit_body({"sha": VALID_COMMIT}), 422, "not object"),
    post("commit is not Unicode", '{"commit": "\\ud800"}', 422, "commit: must be valid Unicode text"),
    post("unknown field", json.dumps({"commit": VALID_COMMIT, "branch": "main"}), 422, "unknown field: branch"),
    post("two problems", json.dumps({"commit": 7, "branch": "main"}), 422, "not number; unknown field: branch"),
    # Not JSON by its Content-Type: 415
    post(
        "text/plain",
        commit_body(VALID_COMMIT),
        415,
        "Content-Type must be application/json, not text/plain",
        "text/plain",
    ),
    post(
        "form",
        f"commit={VALID_COMMIT}",
        415,
        "not application/x-www-form-urlencoded",
        "application/x-www-form-urlencoded",
    ),
    post(
        "multipart",
        f'--b\r\nContent-Disposition: form-data; name="commit"\r\n\r\n{VALID_COMMIT}\r\n--b--\r\n',
        415,
        "not multipart/form-data",
        "multipart/form-data; boundary=b",
    ),
    # Found by schemathesis: Powertools' multipart parser fails without a boundary (a 500 before)
    post("multipart, no boundary", commit_body(VALID_COMMIT), 415, "not multipart/form-data", "multipart/form-data"),
    post(
        "JSON patch", commit_body(VALID_COMMIT), 415, "not application/json-patch+json", "application/json-patch+json"
    ),
    post("no Content-Type", commit_body(VALID_COMMIT), 415, "Content-Type is missing", None),
    # Too large: 413, whatever else is wrong with it
    post("large JSON", LARGE_JSON, 413, too_large(LARGE_JSON)),
    post("large whitespace", LARGE_WHITESPACE, 413, too_large(LARGE_WHITESPACE)),
    post("deeply nested JSON", DEEPLY_NESTED, 413, too_large(DEEPLY_NESTED)),
    post("large text", LARGE_TEXT, 413, too_large(LARGE_TEXT), "text/plain"),
    # Build ids and path tricks
    get("unknown build", f"/builds/{UNKNOWN_BUILD_ID}", 404, f"no build {UNKNOWN_BUILD_ID}"),
    get("malformed build id", "/builds/not-a-build", 422, BUILD_ID_MESSAGE),
    get("uppercase build id", f"/builds/{UNKNOWN_BUILD_ID.upper()}", 422, BUILD_ID_MESSAGE),
    get("200-character build id", "/builds/" + "b" * 200, 422, BUILD_ID_MESSAGE),
    get("build id and a space", f"/builds/{UNKNOWN_BUILD_ID}%20", 422, BUILD_ID_MESSAGE),
    get("dot-dot as build id", "/builds/%2e%2e", 422, BUILD_ID_MESSAGE),
    get("encoded traversal", "/builds/..%2F..%2Fetc", 404, NO_ROUTE),
    get("NUL byte", "/builds/%00", 404, NO_ROUTE),
    # (GET /builds/ with no build id is GET /builds, the list: Powertools routes it without the slash)
    get("nested path", "/builds/a/b", 404, NO_ROUTE),
    # A region's hosts: of one of the stack's regions only; one by its id, when there is one
    get("unknown region's hosts", "/regions/mars-north-1/hosts", 404, "no region mars-north-1: the regions are"),
    get("unknown host", "/regions/us-west-2/hosts/us-west-2-agent-001", 404, "no real host us-west-2-agent-001"),
    get("malformed host id", "/regions/us-west-2/hosts/a%20b", 422, "hostId"),
    get("under a host", "/regions/us-west-2/hosts/us-west-2-agent-001/logs", 404, NO_ROUTE),
    get("unknown region's grid", "/regions/mars-north-1/grid", 404, "no region mars-north-1: the regions are"),
    # (a name no AWS client would take for a region: refused before any client is made for it)
    get("grid of a region no client takes", f"/regions/{'0' * 63}/grid", 404, "the regions are"),
    get("unknown path", "/etc/passwd", 404, NO_ROUTE),
    MalformedRequest("unknown method", "DELETE", f"/builds/{UNKNOWN_BUILD_ID}", 404, NO_ROUTE, content_type=None),
    MalformedRequest(
        "POST to a build", "POST", f"/builds/{UNKNOWN_BUILD_ID}", 404, NO_ROUTE, commit_body(VALID_COMMIT)
    ),
]
