"""POST /deployments/plan: a deployable build's waves and predicted time; every refusal says why. POST
/deployments: accepted once per Idempotency-Key."""

import json

import boto3
import pytest

from code_deploy.builds import store as build_store
from tests.unit.conftest import REGIONS
from tests.utils import api_event, load_handler

BUILD_ID = "build-20261123T101500Z-1a2b3c4d"
KEY = f"builds/{BUILD_ID}.zip"


@pytest.fixture
def api(stack):
    return load_handler("api")


@pytest.fixture
def built(stack, builds_table):
    """A SUCCEEDED build of 1 MiB."""
    build_store.create_build(builds_table, BUILD_ID, "abcdef1", "2026-11-23T10:15:00.000Z")
    build_store.start_building(builds_table, BUILD_ID, "2026-11-23T10:15:01.000Z")
    build_store.finish_build(
        builds_table,
        BUILD_ID,
        "2026-11-23T10:15:02.000Z",
        build_store.ArtifactLocation(stack.global_bucket, KEY, "s", 1 << 20, 1),
    )
    return builds_table


def replicated(stack, regions=REGIONS, status="SUCCEEDED"):
    """The build's replication as the state machine records it, and its copies where it succeeded."""
    results = [{"bucket": stack.regional_bucket(region), "status": status} for region in regions]
    if status == "SUCCEEDED":
        for region in regions:
            boto3.client("s3", region_name=region).put_object(Bucket=stack.regional_bucket(region), Key=KEY, Body=b"z")
    boto3.resource("dynamodb").Table(stack.copy_tracking_table).put_item(
        Item={"fileKey": KEY, "sourceBucket": stack.global_bucket, "status": status, "results": json.dumps(results)}
    )


def plan(api, context, body: dict) -> tuple[int, dict]:
    event = api_event("POST", "/deployments/plan", json.dumps(body), {"Content-Type": "application/json"})
    response = api.lambda_handler(event, context)
    return response["statusCode"], json.loads(response["body"])


def test_a_replicated_build_gets_its_waves_and_predicted_time(api, stack, built, context):
    replicated(stack)
    status, body = plan(api, context, {"buildId": BUILD_ID, "waves": [10, 50, 100], "bakeSeconds": 5})
    assert status == 200, body
    assert body["regionWaves"] == [list(REGIONS)]
    assert [region["region"] for region in body["regions"]] == list(REGIONS)
    waves = body["regions"][0]["waves"]
    # the test stack's 200 hosts a region: 20, 80 and 100 of them, each wave fed by the ones before
    assert [(w["wave"], w["hosts"], w["hostsHolding"]) for w in waves] == [(1, 20, 0), (2, 80, 20), (3, 100, 100)]
    assert body["regions"][0]["predictedSeconds"] == pytest.approx(sum(w["predictedSeconds"] for w in waves) + 15)
    assert body["predictedSeconds"] == pytest.approx(max(r["predictedSeconds"] for r in body["regions"]))
    assert body["regions"][0]["rollbackSeconds"] < waves[0]["predictedSeconds"]


def test_an_unknown_build_is_404(api, stack, context):
    status, body = plan(api, context, {"buildId": "build-20990101T000000Z-00000000"})
    assert (status, body["message"]) == (404, "no build build-20990101T000000Z-00000000")


def test_a_build_missing_from_a_regions_bucket_is_409_naming_the_region(api, stack, built, context):
    replicated(stack, regions=REGIONS[:1])
    status, body = plan(api, context, {"buildId": BUILD_ID})
    assert status == 409
    assert body["message"] == f"build {BUILD_ID} is not in the builds bucket of eu-west-1, ap-southeast-2"
    # a subset of the regions that has it is fine
    assert plan(api, context, {"buildId": BUILD_ID, "regions": ["us-west-2"]})[0] == 200


def test_a_build_that_is_not_built_is_409(api, stack, context):
    table = boto3.resource("dynamodb").Table(stack.builds_table)
    build_store.create_build(table, BUILD_ID, "abcdef1", "2026-11-23T10:15:00.000Z")
    status, body = plan(api, context, {"buildId": BUILD_ID})
    assert (status, body["message"]) == (409, f"build {BUILD_ID} is QUEUED, not SUCCEEDED")


@pytest.mark.parametrize(
    "body,complaint",
    [
        ({"buildId": BUILD_ID, "waves": [50, 20, 100]}, "strictly increasing"),
        ({"buildId": BUILD_ID, "regions": ["mars-north-1"]}, "unknown mars-north-1"),
        ({"buildId": BUILD_ID, "bakeSeconds": -1}, "bakeSeconds"),
        ({"buildId": BUILD_ID, "colour": "blue"}, "colour"),
        ({"buildId": BUILD_ID, "waves": "all"}, "waves"),
        ({"waves": [100]}, "buildId"),
    ],
)
def test_a_malformed_or_inconsistent_request_is_422_and_says_what(api, stack, built, context, body, complaint):
    replicated(stack)
    status, answer = plan(api, context, body)
    assert status == 422
    assert complaint in answer["message"]


def deploy(api, context, body: dict, key: str) -> tuple[int, dict]:
    headers = {"Content-Type": "application/json", "Idempotency-Key": key}
    response = api.lambda_handler(api_event("POST", "/deployments", json.dumps(body), headers), context)
    return response["statusCode"], json.loads(response["body"])


def rollout_executions(stack) -> list[dict]:
    sfn = boto3.client("stepfunctions")
    machine = next(m for m in sfn.list_state_machines()["stateMachines"] if m["name"].endswith("-roll-out"))
    return sfn.list_executions(stateMachineArn=machine["stateMachineArn"])["executions"]


def test_a_deployment_retried_with_its_idempotency_key_is_accepted_once(api, stack, built, context):
    replicated(stack)
    # Given a POST /deployments whose answer the client did not see
    first = deploy(api, context, {"buildId": BUILD_ID, "waves": [50, 100]}, "deploy-retry-me")
    # When the client sends it again with the same key
    again = deploy(api, context, {"buildId": BUILD_ID, "waves": [50, 100]}, "deploy-retry-me")
    # Then both answers name the same deployment, and one rollout started
    assert first[0] == again[0] == 202, (first, again)
    assert again[1]["deploymentId"] == first[1]["deploymentId"]
    assert [execution["name"] for execution in rollout_executions(stack)] == [first[1]["deploymentId"]]
    # while another key makes another deployment
    assert deploy(api, context, {"buildId": BUILD_ID}, "another-key")[1]["deploymentId"] != first[1]["deploymentId"]


def test_an_idempotency_key_reused_for_another_deployment_is_refused(api, stack, built, context):
    replicated(stack)
    deploy(api, context, {"buildId": BUILD_ID}, "one-key")
    status, answer = deploy(api, context, {"buildId": BUILD_ID, "waves": [50, 100]}, "one-key")
    assert status == 422
    assert "Idempotency-Key was already used with another request" in answer["message"]
    assert len(rollout_executions(stack)) == 1
