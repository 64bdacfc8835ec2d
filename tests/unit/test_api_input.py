"""Bad input: the malformed-request table through the API handler, and the rules behind the answers."""

import json

import boto3
import pytest

from code_deploy.api_input import (
    MAX_BODY_BYTES,
    media_type,
    parse_json,
    refuse_body,
    validation_message,
)
from tests.malformed_requests import MALFORMED_REQUESTS
from tests.utils import api_event, load_handler

VALID_BODY = json.dumps({"commit": "9fceb02"})


@pytest.fixture(scope="module")
def api(module_stack):
    return load_handler("api")


def build_records(stack) -> int:
    return boto3.resource("dynamodb").Table(stack.builds_table).scan(Select="COUNT", ConsistentRead=True)["Count"]


def queued_messages(stack) -> int:
    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=stack.queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(count) for count in attributes.values())


# Powertools warns that it parses an unencoded multipart body; the API refuses it anyway.
@pytest.mark.filterwarnings("ignore:Received multipart/form-data without base64 encoding")
@pytest.mark.parametrize("malformed", MALFORMED_REQUESTS, ids=lambda malformed: malformed.name)
def test_malformed_requests_are_refused_and_change_nothing(api, module_stack, context, malformed):
    # Given a malformed request, as API Gateway hands it to the function
    event = api_event(malformed.method, malformed.path, malformed.body, malformed.headers)
    recorded_and_queued_before = (build_records(module_stack), queued_messages(module_stack))
    # When the API handles it
    response = api.lambda_handler(event, context)
    # Then it is refused with a JSON message that says what is wrong
    assert response["statusCode"] == malformed.status, response["body"]
    assert response["multiValueHeaders"]["Content-Type"] == ["application/json"]
    answer = json.loads(response["body"])
    assert answer["statusCode"] == malformed.status
    assert malformed.message in answer["message"]
    # and nothing is recorded or queued (compared with before, so a case that does write fails alone)
    assert (build_records(module_stack), queued_messages(module_stack)) == recorded_and_queued_before


def test_validation_errors_keep_powertools_detail(api, context):
    # Given a body with a bad commit and an unknown field
    body = json.dumps({"commit": "xyz", "branch": "main"})
    event = api_event("POST", "/builds", body, {"Content-Type": "application/json"})
    # When the API handles it
    answer = json.loads(api.lambda_handler(event, context)["body"])
    # Then the message names both problems, and Powertools' detail lists them, where and what
    assert answer["message"] == "commit: must be 7 to 64 lowercase hex digits; unknown field: branch"
    assert answer["detail"] == [
        {"loc": ["body", "commit"], "type": "string_pattern_mismatch"},
        {"loc": ["body", "branch"], "type": "extra_forbidden"},
    ]


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [("application/json", "application/json"), (" Application/JSON ; charset=utf-8", "application/json"), (None, "")],
)
def test_media_type_ignores_case_and_parameters(content_type, expected):
    assert media_type(content_type) == expected


def test_a_json_object_declared_as_json_is_read_on():
    assert refuse_body("application/json; charset=utf-8", VALID_BODY) is None


@pytest.mark.parametrize(
    ("content_type", "body", "status"),
    [
        # Size first: a huge body is refused before its type or content is looked at
        ("text/plain", "[" * MAX_BODY_BYTES + "]", 413),
        # Then emptiness, then the declared type, then the JSON itself
        ("text/plain", "", 400),
        ("text/plain", VALID_BODY, 415),
        ("application/json", "{", 400),
        ("application/json", "[]", 422),
    ],
)
def test_a_body_is_judged_as_a_whole_in_order(content_type, body, status):
    assert refuse_body(content_type, body).status == status


def test_a_body_exactly_at_the_limit_is_read_on():
    # Given a valid request padded with whitespace to exactly the limit
    body = VALID_BODY[:-1] + " " * (MAX_BODY_BYTES - len(VALID_BODY)) + "}"
    assert len(body) == MAX_BODY_BYTES
    # Then it is not refused for its size, and one byte more is
    assert refuse_body("application/json", body) is None
    assert refuse_body("application/json", body + " ").status == 413


def test_the_size_counts_bytes_not_characters():
    body = json.dumps({"commit": "é" * (MAX_BODY_BYTES // 2)}, ensure_ascii=False)
    assert len(body) < MAX_BODY_BYTES
    assert refuse_body("application/json", body).status == 413


def test_json_too_deep_to_parse_is_invalid_json_not_a_crash():
    with pytest.raises(json.JSONDecodeError, match="nested too deeply"):
        parse_json("[" * 1_000_000 + "]" * 1_000_000)


def test_validation_problems_become_one_sentence():
    # Given what Powertools reports for {"commit": 7, "branch": "main", "tag": "v1"}
    errors = [
        {"loc": ("body", "commit"), "type": "string_type", "input": 7},
        {"loc": ("body", "branch"), "type": "extra_forbidden", "input": "main"},
        {"loc": ("body", "tag"), "type": "extra_forbidden", "input": "v1"},
    ]
    # Then the message says every problem
    assert validation_message(errors) == (
        "commit: must be a string of 7 to 64 lowercase hex digits, not number; "
        "unknown field: branch; unknown field: tag"
    )


def test_a_path_parameter_is_named_with_its_rule():
    errors = [{"loc": ("path", "buildId"), "type": "string_pattern_mismatch", "input": "../etc"}]
    assert validation_message(errors).startswith("buildId: must be build-<UTC time as YYYYMMDDTHHMMSSZ>")


def test_an_unknown_field_with_a_huge_name_is_not_echoed_whole():
    errors = [{"loc": ("body", "x" * 1000), "type": "extra_forbidden"}]
    assert len(validation_message(errors)) < 100


def test_an_unexpected_problem_still_gets_a_sentence():
    errors = [{"loc": ("body", "commit"), "type": "string_too_long", "msg": "String should have at most 64 characters"}]
    assert validation_message(errors) == "commit: string should have at most 64 characters"
