"""POST|GET|DELETE /freeze through the API handler (events/api_post_builds.json's request context: the
caller's SigV4 principal), and the GateAlarmsFunction driven by its SNS event (events/sns_alarm_in_alarm.json)."""

from __future__ import annotations

import json

import boto3
import pytest

from code_deploy.deployments import store as deployment_store
from tests.unit.conftest import STACK
from tests.utils import api_event, load_event, load_handler

CALLER = "arn:aws:iam::123456789012:user/ci"  # the sample event's identity.userArn


@pytest.fixture
def api(stack):
    return load_handler("api")


def call(api, context, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
    headers = {"Content-Type": "application/json"} if body is not None else {}
    event = api_event(method, path, json.dumps(body) if body is not None else None, headers)
    if "?" in path:
        event["path"], query = path.split("?", 1)
        event["queryStringParameters"] = dict(part.split("=") for part in query.split("&"))
    response = api.lambda_handler(event, context)
    return response["statusCode"], json.loads(response["body"])


def test_a_freeze_is_kept_with_who_froze_refuses_deployments_quoting_its_reason_and_lifts(api, context):
    status, frozen = call(api, context, "POST", "/freeze", {"reason": "end-of-year freeze"})
    assert status == 200, frozen
    assert (frozen["reason"], frozen["frozenBy"], frozen["service"]) == ("end-of-year freeze", CALLER, None)
    assert call(api, context, "GET", "/freeze")[1]["reason"] == "end-of-year freeze"
    # a deployment is refused 409, quoting it (before the build is even looked up)
    status, refused = call(api, context, "POST", "/deployments", {"buildId": "build-20261123T101500Z-1a2b3c4d"})
    assert status == 409 and 'deployments are frozen: "end-of-year freeze" (by ' + CALLER in refused["message"]
    # lifting it says what it lifted and who lifted it
    status, lifted = call(api, context, "DELETE", "/freeze")
    assert status == 200 and lifted["lifted"]["reason"] == "end-of-year freeze" and lifted["liftedBy"] == CALLER
    assert call(api, context, "GET", "/freeze")[0] == 404
    assert call(api, context, "DELETE", "/freeze")[1]["lifted"] is None


def test_a_freeze_that_would_already_have_ended_is_refused(api, context):
    status, refused = call(api, context, "POST", "/freeze", {"reason": "x", "until": "2020-01-01T00:00:00Z"})
    assert status == 422 and "has passed" in refused["message"]
    assert call(api, context, "POST", "/freeze", {"reason": ""})[0] == 422


def test_a_service_freeze_is_its_own(api, context):
    status, frozen = call(api, context, "POST", "/freeze", {"reason": "checkout launch", "service": "checkout"})
    assert status == 200 and frozen["service"] == "checkout"
    assert call(api, context, "GET", "/freeze")[0] == 404
    assert call(api, context, "GET", "/freeze?service=checkout")[1]["reason"] == "checkout launch"


class Woken:
    def __init__(self):
        self.tokens: list[str] = []

    def send_task_success(self, taskToken: str, output: str) -> dict:  # noqa: N803
        self.tokens.append(taskToken)
        return {}


def test_an_alarm_in_alarm_wakes_the_bakes_waiting_under_it_once(stack, context, monkeypatch):
    # Given a region's bake waiting under the wave-failure-rate alarm
    table = boto3.resource("dynamodb").Table(f"{STACK}-deployments")
    alarm = f"{STACK}-wave-failure-rate"
    deployment_store.watch_alarms(table, (alarm,), "deploy-1", "us-west-2", "token-bake")
    gate_alarms = load_handler("gate_alarms")
    woken = Woken()
    monkeypatch.setattr(gate_alarms.aws, "stepfunctions", lambda: woken)
    # When its SNS action is delivered (twice)
    answer = gate_alarms.lambda_handler(load_event("sns_alarm_in_alarm.json"), context)
    gate_alarms.lambda_handler(load_event("sns_alarm_in_alarm.json"), context)
    # Then the bake was woken once, its watch dropped
    assert answer == {"woken": {alarm: 1}}
    assert woken.tokens == ["token-bake"]
    assert deployment_store.alarm_watches(table, alarm) == []
