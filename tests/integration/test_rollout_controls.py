"""Freezes, fast rollback, approvals, alarm gates, deployment events and who did what, through the
deployed API (SigV4: the caller's principal is the emulator's root, as API Gateway's context gives it)."""

from __future__ import annotations

import json
import time
import uuid

import boto3
import pytest

from tests.integration.helpers import (
    deploy,
    deployctl,
    deployment,
    finished,
    http,
    published,
    subscribed_queue,
    wait_for,
)
from tests.integration.test_deployments import deployed_build, hosts_by_region

CALLER = "arn:aws:iam::000000000000:root"  # the emulator's principal for the test credentials


@pytest.fixture(scope="module")
def builds(api) -> tuple[str, str]:
    return deployed_build(api), deployed_build(api)


@pytest.fixture
def unfrozen(api):
    """Whatever the test froze is lifted after it."""
    yield
    http("DELETE", f"{api}/freeze")


def status_becomes(api: str, deployment_id: str, status: str) -> dict:
    return wait_for(lambda: (view := deployment(api, deployment_id))["status"] == status and view, status)


def test_a_freeze_refuses_deployments_pauses_running_ones_and_lifting_it_lets_them_go_on(api, builds, unfrozen):
    older, newer = builds
    assert finished(api, deploy(api, {"buildId": older}))["status"] == "SUCCEEDED"
    running = deploy(api, {"buildId": newer, "waves": [50, 100], "bakeSeconds": 3})
    # When deployments are frozen, by whom is recorded
    status, frozen = http("POST", f"{api}/freeze", {"reason": "incident 4242"})
    assert status == 200 and (frozen["reason"], frozen["frozenBy"]) == ("incident 4242", CALLER), frozen
    # Then a new deployment is refused, quoting the reason
    status, refused = http("POST", f"{api}/deployments", {"buildId": older})
    assert status == 409 and 'frozen: "incident 4242"' in refused["message"], refused
    # and the running one pauses at its next step
    paused = status_becomes(api, running, "PAUSED")
    assert paused["pausedByFreeze"] and paused["reason"] == 'frozen: "incident 4242"'
    # When the freeze is lifted, the paused deployment goes on to its end
    status, lifted = http("DELETE", f"{api}/freeze")
    assert status == 200 and lifted["lifted"]["pausedDeployments"] == [running] and lifted["liftedBy"] == CALLER
    assert finished(api, running)["status"] in ("SUCCEEDED", "SUPERSEDED")


def test_a_deployment_passes_a_freeze_only_with_an_override_and_its_reason_recorded(api, builds, unfrozen):
    older, _ = builds
    assert http("POST", f"{api}/freeze", {"reason": "release night"})[0] == 200
    overriding = deploy(api, {"buildId": older, "freezeOverride": {"reason": "security fix"}})
    view = finished(api, overriding)
    assert view["status"] == "SUCCEEDED", view
    assert view["createdBy"] == CALLER
    assert [(a["action"], a["reason"], a["by"]) for a in view["actions"]] == [
        ("freezeOverride", "security fix", CALLER)
    ]


def test_a_rollback_of_a_deployment_that_succeeded_takes_every_region_back_at_once(
    api, buckets, hosts_per_region, builds
):
    older, newer = builds
    assert finished(api, deploy(api, {"buildId": older}))["status"] == "SUCCEEDED"
    deployment_id = deploy(api, {"buildId": newer, "waves": [50, 100]})
    assert finished(api, deployment_id)["status"] == "SUCCEEDED"
    # When it is rolled back, after it ended
    started = time.monotonic()
    status, answer = http("POST", f"{api}/deployments/{deployment_id}/rollback", {})
    # Then the answer says ROLLING_BACK (not final), and it ends ROLLED_BACK with every host on the older build
    assert (status, answer["status"]) == (202, "ROLLING_BACK"), answer
    view = finished(api, deployment_id)
    assert (view["status"], view["reason"]) == ("ROLLED_BACK", "rolled back by request"), view
    assert hosts_by_region(api) == {region: {older: hosts_per_region} for region in buckets}
    assert [(a["action"], a["by"]) for a in view["actions"]] == [("rollback", CALLER)]
    assert time.monotonic() - started < 60


def test_a_rollback_of_a_baking_deployment_skips_its_bake(api, buckets, hosts_per_region, builds):
    older, newer = builds
    assert finished(api, deploy(api, {"buildId": older}))["status"] == "SUCCEEDED"
    deployment_id = deploy(api, {"buildId": newer, "waves": [50, 100], "bakeSeconds": 3600})
    wait_for(lambda: "BAKING" in {r["status"] for r in deployment(api, deployment_id)["regions"].values()}, "a bake")
    status, answer = http("POST", f"{api}/deployments/{deployment_id}/rollback", {})
    assert (status, answer["status"]) == (202, "ROLLING_BACK"), answer
    view = finished(api, deployment_id, timeout=90)
    assert view["status"] == "ROLLED_BACK", view
    assert hosts_by_region(api) == {region: {older: hosts_per_region} for region in buckets}


def test_a_wave_that_requires_approval_waits_for_it_and_records_the_approver(api, builds):
    older, _ = builds
    deployment_id = deploy(api, {"buildId": older, "waves": [50, 100], "approvalRequired": [2]})
    wait_for(lambda: deployment(api, deployment_id)["awaitingApproval"] == 2, "wave 2 awaiting approval")
    status, answer = http("POST", f"{api}/deployments/{deployment_id}/approve", {})
    assert status == 202, answer
    view = finished(api, deployment_id)
    assert view["status"] == "SUCCEEDED", view
    assert [(a["action"], a["wave"], a["by"]) for a in view["actions"]] == [("approve", 2, CALLER)]


@pytest.fixture
def alarm(stack_outputs):
    """An alarm of the test's own on a metric it publishes, notifying the gate-alarms topic; deleted after."""
    cloudwatch = boto3.client("cloudwatch")
    name, namespace = f"checkout-errors-{uuid.uuid4().hex[:8]}", "integration-tests"
    cloudwatch.put_metric_alarm(
        AlarmName=name,
        Namespace=namespace,
        MetricName=name,
        Statistic="Maximum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=0,
        ComparisonOperator="GreaterThanThreshold",
        AlarmActions=[stack_outputs["GateAlarmsTopicArn"]],
    )
    yield (
        name,
        lambda value: cloudwatch.put_metric_data(
            Namespace=namespace, MetricData=[{"MetricName": name, "Value": value}]
        ),
    )
    cloudwatch.delete_alarms(AlarmNames=[name])


def test_an_alarm_going_off_during_a_bake_wakes_it_and_fails_the_gate_naming_the_alarm(api, buckets, builds, alarm):
    older, newer = builds
    name, publish = alarm
    assert finished(api, deploy(api, {"buildId": older}))["status"] == "SUCCEEDED"
    publish(0)
    deployment_id = deploy(api, {"buildId": newer, "waves": [50, 100], "bakeSeconds": 3600, "alarms": [name]})
    wait_for(lambda: "BAKING" in {r["status"] for r in deployment(api, deployment_id)["regions"].values()}, "a bake")
    # When the metric crosses the alarm's threshold, its SNS action wakes the bake
    publish(5)
    view = finished(api, deployment_id, timeout=90)
    # Then the gate failed, naming the alarm, and the deployment rolled back
    assert view["status"] == "ROLLED_BACK", view
    assert f"alarm {name} in ALARM" in view["reason"], view["reason"]


def test_a_deployment_naming_an_alarm_in_alarm_is_accepted_and_stopped_at_its_first_gate(api, builds, alarm):
    older, _ = builds
    name, publish = alarm
    publish(5)
    deployment_id = deploy(api, {"buildId": older, "alarms": [name]})
    view = finished(api, deployment_id)
    assert view["status"] == "ROLLED_BACK" and f"wave 1: alarm {name} in ALARM" in view["reason"], view
    # an alarm that exists nowhere is refused
    status, refused = http("POST", f"{api}/deployments", {"buildId": older, "alarms": ["no-such-alarm"]})
    assert status == 422 and "no-such-alarm" in refused["message"], refused


def test_a_waves_failure_rate_is_a_metric_the_stacks_alarm_watches(api, stack_outputs, builds):
    older, _ = builds
    alarm_name = stack_outputs["WaveFailureRateAlarmName"]
    # a wave failing 60% of its hosts, allowed by its own gate, is published and sets the stack's alarm off
    view = finished(
        api, deploy(api, {"buildId": older, "maxFailurePercent": 100, "simulate": {"hostFailurePercent": 60}})
    )
    assert view["status"] == "SUCCEEDED", view
    cloudwatch = boto3.client("cloudwatch")
    wait_for(
        lambda: cloudwatch.describe_alarms(AlarmNames=[alarm_name])["MetricAlarms"][0]["StateValue"] == "ALARM",
        "the wave-failure-rate alarm",
    )
    # and a deployment naming it stops at its first gate
    stopped = finished(api, deploy(api, {"buildId": older, "alarms": [alarm_name]}))
    assert stopped["status"] == "ROLLED_BACK" and alarm_name in stopped["reason"], stopped


def test_a_deployments_events_are_published_with_their_schema(api, stack_outputs, builds):
    older, _ = builds
    with subscribed_queue(stack_outputs["DeploymentEventsTopicArn"], "events") as queue_url:
        deployment_id = deploy(api, {"buildId": older, "waves": [50, 100]})
        assert finished(api, deployment_id)["status"] == "SUCCEEDED"
        started = published(queue_url, lambda m: m.get("deploymentId") == deployment_id and m.get("event") == "STARTED")
        assert (started["schema"], started["buildId"], started["by"]) == (1, older, CALLER)
        passed = published(
            queue_url, lambda m: m.get("deploymentId") == deployment_id and m.get("event") == "WAVE_PASSED"
        )
        assert passed["wave"] in (1, 2) and passed["region"]
        done = published(queue_url, lambda m: m.get("deploymentId") == deployment_id and m.get("event") == "SUCCEEDED")
        assert done["status"] == "SUCCEEDED"


def test_who_built_and_who_deployed_is_recorded(api, builds):
    older, _ = builds
    status, build = http("GET", f"{api}/builds/{older}")
    assert status == 200 and build["statusHistory"][0]["by"] == CALLER, build["statusHistory"][0]


def test_deployctl_freezes_unfreezes_and_shows_who_did_what(api, builds, unfrozen):
    older, _ = builds
    frozen = deployctl("freeze", "deployctl freeze test")
    assert frozen.returncode == 0 and f"frozen: deployctl freeze test (by {CALLER})" in frozen.stdout, frozen
    refused = deployctl("deploy", older)
    assert refused.returncode != 0 and 'frozen: "deployctl freeze test"' in refused.stderr, refused
    deployed = deployctl("deploy", older, "--override-freeze", "hotfix", "--json")
    assert deployed.returncode == 0, deployed
    deployment_id = json.loads(deployed.stdout)["deploymentId"]
    assert deployctl("unfreeze").stdout.strip() == "unfrozen; resumed: none"
    finished(api, deployment_id)
    shown = deployctl("deployments", deployment_id)
    assert shown.returncode == 0 and f"by {CALLER}" in shown.stdout and "freezeOverride" in shown.stdout, shown.stdout
