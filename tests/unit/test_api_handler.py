import json

import boto3
import pytest

from tests.utils import api_event, load_event, load_handler, logged_lines

VALID_COMMIT = "9fceb02d0ae598e95dc970b74767f19372d61af8"


@pytest.fixture
def api(stack):
    return load_handler("api")


def queued_messages(stack) -> list[dict]:
    sqs = boto3.client("sqs")
    messages = sqs.receive_message(QueueUrl=stack.queue_url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(message["Body"]) for message in messages]


def build_count(stack) -> int:
    return boto3.resource("dynamodb").Table(stack.builds_table).scan(Select="COUNT")["Count"]


def test_a_queued_build_is_logged_with_its_build_id(api, context):
    written = logged_lines(api.logger)
    response = api.lambda_handler(load_event("api_post_builds.json"), context)
    build_id = json.loads(response["body"])["buildId"]
    lines = written()
    assert [(line["message"], line["build_id"]) for line in lines if line.get("build_id")] == [
        ("build queued", build_id)
    ]


def test_post_builds_records_the_build_and_queues_it(api, stack, context):
    # Given the sample POST /builds event
    event = load_event("api_post_builds.json")
    # When the API handles it
    response = api.lambda_handler(event, context)
    # Then it answers 202 with the build id, and the build is recorded and queued
    assert response["statusCode"] == 202
    body = json.loads(response["body"])
    assert body["commit"] == VALID_COMMIT
    assert body["status"] == "QUEUED"
    assert response["multiValueHeaders"]["Location"] == [f"/builds/{body['buildId']}"]
    assert queued_messages(stack) == [{"buildId": body["buildId"], "commit": VALID_COMMIT}]
    record = (
        boto3.resource("dynamodb")
        .Table(stack.builds_table)
        .get_item(Key={"build_id": body["buildId"], "record": "BUILD"})["Item"]
    )
    assert record["status"] == "QUEUED"


def test_json_with_a_charset_is_accepted(api, stack, context):
    # Given a build request whose Content-Type names its charset
    headers = {"Content-Type": "application/json; charset=utf-8"}
    event = api_event("POST", "/builds", json.dumps({"commit": VALID_COMMIT}), headers)
    # When the API handles it, then it is queued
    assert api.lambda_handler(event, context)["statusCode"] == 202
    assert build_count(stack) == 1


def test_get_build_returns_its_status(api, stack, context):
    accepted = json.loads(api.lambda_handler(load_event("api_post_builds.json"), context)["body"])
    event = load_event("api_get_build.json")
    event["path"] = f"/builds/{accepted['buildId']}"
    event["pathParameters"] = {"buildId": accepted["buildId"]}

    response = api.lambda_handler(event, context)

    assert response["statusCode"] == 200
    view = json.loads(response["body"])
    assert view["buildId"] == accepted["buildId"]
    assert view["deploymentStatus"] == "QUEUED"
    assert [region["region"] for region in view["regions"]] == ["us-west-2", "eu-west-1", "ap-southeast-2"]
    assert all(region["hostsTotal"] == 200 and region["hostsDeployed"] == 0 for region in view["regions"])


def test_unknown_build_is_404(api, stack, context):
    # Given the sample GET event, whose build was never submitted here
    response = api.lambda_handler(load_event("api_get_build.json"), context)
    # Then it answers 404, naming the build
    assert response["statusCode"] == 404
    assert json.loads(response["body"])["message"] == "no build build-20261122T101500Z-1a2b3c4d"


def post_with_key(api, context, key: str, commit: str = VALID_COMMIT) -> dict:
    event = load_event("api_post_builds.json")
    event["body"] = json.dumps({"commit": commit})
    event["headers"] = {**event["headers"], "Idempotency-Key": key}
    event["multiValueHeaders"] = {**event["multiValueHeaders"], "Idempotency-Key": [key]}
    return api.lambda_handler(event, context)


def test_a_post_retried_with_its_idempotency_key_makes_one_build(api, stack, context):
    # Given a POST that carried an Idempotency-Key
    first = post_with_key(api, context, "3f6c2b9e-retry-me")
    # When the client retries it (its answer was lost) with the same key
    again = post_with_key(api, context, "3f6c2b9e-retry-me")
    # Then the retry answers the same build, and only one build was recorded and queued
    assert first["statusCode"] == again["statusCode"] == 202
    assert json.loads(again["body"])["buildId"] == json.loads(first["body"])["buildId"]
    assert build_count(stack) == 1
    assert len(queued_messages(stack)) == 1
    # while another key makes another build
    assert (
        json.loads(post_with_key(api, context, "another-key")["body"])["buildId"]
        != json.loads(first["body"])["buildId"]
    )


def test_an_idempotency_key_reused_for_another_commit_is_refused(api, stack, context):
    post_with_key(api, context, "one-key")
    refused = post_with_key(api, context, "one-key", commit="abcdef1")
    assert refused["statusCode"] == 422
    assert "Idempotency-Key was already used with another commit" in json.loads(refused["body"])["message"]
    assert build_count(stack) == 1


@pytest.mark.parametrize("key", ["", "with space", "é", "x" * 129])
def test_a_malformed_idempotency_key_is_refused(api, stack, context, key):
    response = post_with_key(api, context, key)
    assert response["statusCode"] == 422
    assert build_count(stack) == 0
