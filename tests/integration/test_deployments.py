"""Deployments through the deployed API: the plan of a replicated build, and the refusals."""

from __future__ import annotations

import secrets
import time
import uuid

import boto3
import pytest

from tests.integration.helpers import deploy, deployment, finished, http, published, subscribed_queue, wait_for


def deployed_build(api: str) -> str:
    status, accepted = http("POST", f"{api}/builds", {"commit": secrets.token_hex(20)})
    assert status == 202, accepted
    build_id = accepted["buildId"]
    wait_for(
        lambda: http("GET", f"{api}/builds/{build_id}")[1]["deploymentStatus"] == "DEPLOYED", f"{build_id} deployed"
    )
    return build_id


def test_the_plan_of_a_replicated_build_gives_each_wave_and_its_predicted_time(api, buckets, hosts_per_region):
    # Given two builds; AutoDeploy put the newer on every host
    build_id, newer = deployed_build(api), deployed_build(api)
    regions = list(buckets)
    status, plan = http(
        "POST",
        f"{api}/deployments/plan",
        {"buildId": build_id, "waves": [10, 50, 100], "bakeSeconds": 2, "regionWaves": [regions[:1], regions[1:]]},
    )
    assert status == 200, plan
    assert plan["regionWaves"] == [regions[:1], regions[1:]]
    for region in plan["regions"]:
        assert sum(wave["hosts"] for wave in region["waves"]) == hosts_per_region
        assert region["predictedSeconds"] > 3 * 2  # three bakes and the waves
    assert plan["predictedSeconds"] == pytest.approx(sum(plan["regionWaveSeconds"]), abs=1e-5)
    # and the newer's plan skips every host, already on it: only the bakes are left
    status, plan = http("POST", f"{api}/deployments/plan", {"buildId": newer, "waves": [50, 100], "bakeSeconds": 2})
    assert status == 200, plan
    for region in plan["regions"]:
        assert [wave["hosts"] for wave in region["waves"]] == [0, 0]
        assert region["waves"][0]["hostsHolding"] == hosts_per_region
        assert region["predictedSeconds"] == 2 * 2


def test_planning_refuses_what_cannot_be_deployed(api):
    assert http("POST", f"{api}/deployments/plan", {"buildId": "build-20990101T000000Z-00000000"})[0] == 404
    status, answer = http("POST", f"{api}/deployments/plan", {"buildId": "x", "waves": [60, 40, 100]})
    assert (status, "strictly increasing" in answer["message"]) == (422, True)


# --- deployments carried out --------------------------------------------------------------------------------


def hosts_by_region(api: str) -> dict[str, dict[str, int]]:
    status, answer = http("GET", f"{api}/regions")
    assert status == 200, answer
    return {region["region"]: region["hostsByBuild"] for region in answer["regions"]}


@pytest.fixture(scope="module")
def two_builds(api) -> tuple[str, str]:
    """Two built and replicated builds (AutoDeploy rolled each out as it landed)."""
    return deployed_build(api), deployed_build(api)


def test_a_deployment_in_waves_puts_every_host_on_its_build(api, buckets, hosts_per_region, two_builds):
    older, _ = two_builds
    # When the older build deploys again, in three waves, one region wave after the other
    regions = list(buckets)
    deployment_id = deploy(api, {"buildId": older, "waves": [10, 50, 100], "regionWaves": [regions[:1], regions[1:]]})
    view = finished(api, deployment_id)
    # Then it succeeded, every region through its three waves, and every host runs it
    assert view["status"] == "SUCCEEDED", view
    for region in regions:
        rollout = view["regions"][region]
        assert (rollout["status"], rollout["wave"], rollout["waves"]) == ("SUCCEEDED", 3, 3)
        assert (rollout["hostsUpdated"], rollout["hostsFailed"], rollout["hostsPending"]) == (hosts_per_region, 0, 0)
    assert [change["status"] for change in view["history"]] == ["QUEUED", "IN_PROGRESS", "SUCCEEDED"]
    assert view["predictedSeconds"] > 0 and view["modelSeconds"] > 0
    assert hosts_by_region(api) == {region: {older: hosts_per_region} for region in regions}
    status, region_view = http("GET", f"{api}/regions/{regions[0]}")
    assert status == 200 and region_view["goalBuildId"] == older and region_view["goalDeploymentId"] == deployment_id


@pytest.fixture
def rollback_notifications(stack_outputs):
    """An SQS queue subscribed to the deployment-events topic."""
    with subscribed_queue(stack_outputs["DeploymentEventsTopicArn"], "deployments") as queue_url:
        yield queue_url


def test_a_wave_with_too_many_failures_rolls_back_and_notifies(
    api, buckets, hosts_per_region, two_builds, rollback_notifications
):
    older, newer = two_builds
    regions = list(buckets)
    # Given every host on the older build
    assert finished(api, deploy(api, {"buildId": older}))["status"] == "SUCCEEDED"
    # When the newer one deploys with 60% of its hosts failing and 5% allowed
    deployment_id = deploy(
        api,
        {
            "buildId": newer,
            "waves": [10, 100],
            "regionWaves": [regions[:1], regions[1:]],
            "maxFailurePercent": 5,
            "simulate": {"hostFailurePercent": 60, "seed": 7},
        },
    )
    view = finished(api, deployment_id)
    # Then the first region's first wave stops it: rolled back, the later regions never started
    assert view["status"] == "ROLLED_BACK", view
    assert view["reason"].startswith(f"{regions[0]} wave 1:") and "% > 5% allowed" in view["reason"]
    assert view["regions"][regions[0]]["status"] == "ROLLED_BACK"
    assert all(view["regions"][region]["status"] == "SKIPPED" for region in regions[1:])
    # and every host is back on the older build, which is every region's goal again
    assert hosts_by_region(api) == {region: {older: hosts_per_region} for region in regions}
    assert {region["goalBuildId"] for region in http("GET", f"{api}/regions")[1]["regions"]} == {older}
    # and the rollback was announced (beside the deployment's events: started, rolled back)
    notice = published(rollback_notifications, lambda message: "returnedTo" in message)
    assert (notice["deploymentId"], notice["region"], notice["returnedTo"]) == (deployment_id, regions[0], older)


def test_the_later_of_two_deployments_wins_and_no_host_is_left_mixed(api, buckets, hosts_per_region, two_builds):
    older, newer = two_builds
    first = deploy(api, {"buildId": older, "waves": [50, 100], "bakeSeconds": 2})
    second = deploy(api, {"buildId": newer})
    assert finished(api, second)["status"] == "SUCCEEDED"
    assert finished(api, first)["status"] in ("SUPERSEDED", "SUCCEEDED")
    assert hosts_by_region(api) == {region: {newer: hosts_per_region} for region in buckets}


def test_pause_resume_promote_and_abort(api, buckets, hosts_per_region, two_builds):
    older, newer = two_builds
    assert finished(api, deploy(api, {"buildId": newer}))["status"] == "SUCCEEDED"
    # A deployment that bakes ten minutes after each wave
    deployment_id = deploy(api, {"buildId": older, "waves": [50, 100], "bakeSeconds": 600})
    wait_for(lambda: all(r["status"] == "BAKING" for r in deployment(api, deployment_id)["regions"].values()), "baking")
    # pause, then pause again (409: already paused), resume
    assert http("POST", f"{api}/deployments/{deployment_id}/pause", {})[1]["status"] == "PAUSED"
    status, refusal = http("POST", f"{api}/deployments/{deployment_id}/pause", {})
    assert status == 409 and "PAUSED" in refusal["message"]
    assert http("POST", f"{api}/deployments/{deployment_id}/resume", {})[1]["status"] == "IN_PROGRESS"
    # promote skips the rest of the bakes: done in seconds, not twenty minutes
    assert http("POST", f"{api}/deployments/{deployment_id}/promote", {})[0] == 202
    assert finished(api, deployment_id)["status"] == "SUCCEEDED"
    assert hosts_by_region(api) == {region: {older: hosts_per_region} for region in buckets}
    # nothing applies to a finished deployment
    for action in ("pause", "resume", "promote", "abort"):
        status, refusal = http("POST", f"{api}/deployments/{deployment_id}/{action}", {})
        assert status == 409 and "SUCCEEDED" in refusal["message"], (action, refusal)
    # abort stops a deployment and returns its hosts to the build before
    aborted = deploy(api, {"buildId": newer, "waves": [50, 100], "bakeSeconds": 600})
    wait_for(lambda: all(r["status"] == "BAKING" for r in deployment(api, aborted)["regions"].values()), "baking")
    status, answer = http("POST", f"{api}/deployments/{aborted}/abort", {})
    assert (status, answer["status"]) == (202, "ROLLING_BACK")  # not final: waiting for the end waits for the undo
    view = finished(api, aborted)
    assert view["status"] == "ABORTED" and view["reason"] == "aborted by request"
    assert hosts_by_region(api) == {region: {older: hosts_per_region} for region in buckets}


def test_abort_undoes_the_regions_that_already_finished(api, buckets, hosts_per_region, two_builds):
    older, newer = two_builds
    regions = list(buckets)
    assert finished(api, deploy(api, {"buildId": older}))["status"] == "SUCCEEDED"
    # Given a deployment whose first region wave finished while the second bakes
    deployment_id = deploy(api, {"buildId": newer, "bakeSeconds": 10, "regionWaves": [regions[:1], regions[1:]]})
    wait_for(
        lambda: (
            [deployment(api, deployment_id)["regions"][region]["status"] for region in regions]
            == ["SUCCEEDED", "BAKING", "BAKING"]
        ),
        "the first region wave done, the second baking",
    )
    # When it is aborted
    status, answer = http("POST", f"{api}/deployments/{deployment_id}/abort", {})
    assert (status, answer["status"]) == (202, "ROLLING_BACK")
    # Then every region it changed goes back, the one that had finished too
    view = finished(api, deployment_id)
    assert view["status"] == "ABORTED", view
    assert {region: view["regions"][region]["status"] for region in regions} == dict.fromkeys(regions, "ABORTED")
    assert hosts_by_region(api) == {region: {older: hosts_per_region} for region in regions}
    assert {region["goalBuildId"] for region in http("GET", f"{api}/regions")[1]["regions"]} == {older}


def test_a_deployment_whose_workflow_fails_puts_every_region_it_touched_back(
    api, buckets, hosts_per_region, two_builds
):
    older, newer = two_builds
    regions = list(buckets)[:2]
    assert finished(api, deploy(api, {"buildId": older}))["status"] == "SUCCEEDED"
    # Given the newer build deploying region wave by region wave, its artifact gone from the second region's
    # bucket once it is accepted (acceptance pins each region's copy: it refuses a build whose copy is gone):
    # the second wave fails however often it is retried, after the first put every host of the first region
    # on the newer build
    s3, key = boto3.client("s3", region_name=regions[1]), f"builds/{newer}.zip"
    artifact = s3.get_object(Bucket=buckets[regions[1]], Key=key)["Body"].read()
    try:
        deployment_id = deploy(api, {"buildId": newer, "regions": regions, "regionWaves": [[regions[0]], [regions[1]]]})
        s3.delete_object(Bucket=buckets[regions[1]], Key=key)
        view = finished(api, deployment_id)
    finally:
        s3.put_object(Bucket=buckets[regions[1]], Key=key, Body=artifact)
    # Then it FAILED, and every region it touched is back on the older build (hosts and goal), and says so
    assert view["status"] == "FAILED", view
    assert view["reason"].startswith("the rollout workflow failed: "), view["reason"]
    assert view["reason"].endswith(f"; back on the previous goal: {', '.join(regions)}"), view["reason"]
    assert [view["regions"][region]["status"] for region in regions] == ["ROLLED_BACK", "ROLLED_BACK"]
    assert [change["status"] for change in view["history"]] == ["QUEUED", "IN_PROGRESS", "ROLLING_BACK", "FAILED"]
    assert hosts_by_region(api) == {region: {older: hosts_per_region} for region in buckets}
    assert {region["goalBuildId"] for region in http("GET", f"{api}/regions")[1]["regions"]} == {older}


def rollout_executions(stack_outputs) -> set[str]:
    sfn, names, kwargs = (
        boto3.client("stepfunctions"),
        set(),
        {"stateMachineArn": stack_outputs["RolloutStateMachineArn"]},
    )
    while True:
        page = sfn.list_executions(**kwargs)
        names.update(execution["name"] for execution in page["executions"])
        if not page.get("nextToken"):
            return names
        kwargs["nextToken"] = page["nextToken"]


def test_a_deployment_retried_with_its_idempotency_key_starts_one_rollout(api, buckets, stack_outputs, two_builds):
    older, _ = two_builds
    # Given a POST /deployments whose answer the client did not see
    headers = {"Content-Type": "application/json", "Idempotency-Key": str(uuid.uuid4())}
    body = {"buildId": older, "regions": list(buckets)[:1]}
    before = rollout_executions(stack_outputs)
    answers = [http("POST", f"{api}/deployments", body, headers) for _ in range(2)]
    # Then the retry answers the same deployment, and one rollout started
    assert [status for status, _ in answers] == [202, 202], answers
    assert answers[1][1]["deploymentId"] == answers[0][1]["deploymentId"]
    assert rollout_executions(stack_outputs) - before == {answers[0][1]["deploymentId"]}
    assert finished(api, answers[0][1]["deploymentId"])["status"] == "SUCCEEDED"
    # and the same key with another body is refused
    status, refused = http("POST", f"{api}/deployments", body | {"waves": [50, 100]}, headers)
    assert status == 422 and "Idempotency-Key was already used with another request" in refused["message"]


def history_events(stack_outputs, deployment_id: str) -> int:
    """The number of events in the history of the deployment's rollout execution (named by its id)."""
    execution_arn = (
        stack_outputs["RolloutStateMachineArn"].replace(":stateMachine:", ":execution:") + f":{deployment_id}"
    )
    sfn, events, kwargs = boto3.client("stepfunctions"), 0, {"executionArn": execution_arn, "maxResults": 1000}
    while True:
        page = sfn.get_execution_history(**kwargs)
        events += len(page["events"])
        if not page.get("nextToken"):
            return events
        kwargs["nextToken"] = page["nextToken"]


def paused_for(api: str, stack_outputs, deployment_id: str, region: str, seconds: float) -> None:
    """Pauses the deployment during its region's first bake, then resumes it `seconds` after the region
    began to wait in the pause (its item holds the pause's task token once its bake is over)."""
    wait_for(lambda: deployment(api, deployment_id)["regions"][region]["status"] == "BAKING", "the first bake")
    assert http("POST", f"{api}/deployments/{deployment_id}/pause", {})[1]["status"] == "PAUSED"
    table = boto3.resource("dynamodb").Table(stack_outputs["DeploymentsTableName"])

    def waiting_in_the_pause() -> bool:
        item = table.get_item(Key={"deployment_id": deployment_id, "record": f"REGION#{region}"}, ConsistentRead=True)
        return item["Item"]["status"] == "IN_PROGRESS" and "waitToken" in item["Item"]

    wait_for(waiting_in_the_pause, f"{region} waiting in the pause")
    time.sleep(seconds)
    assert http("POST", f"{api}/deployments/{deployment_id}/resume", {})[1]["status"] == "IN_PROGRESS"


def test_a_long_bake_or_pause_adds_nothing_to_the_workflows_history(api, buckets, stack_outputs, two_builds):
    _, newer = two_builds
    regions = list(buckets)
    # Given a bake of 5 s and one of 60 s (each a deployment of its own region, at once), and a pause of 5 s
    short_bake = deploy(api, {"buildId": newer, "regions": [regions[0]], "bakeSeconds": 5})
    long_bake = deploy(api, {"buildId": newer, "regions": [regions[1]], "bakeSeconds": 60})
    pause = {"buildId": newer, "waves": [50, 100], "bakeSeconds": 5}
    short_pause = deploy(api, pause | {"regions": [regions[2]]})
    paused_for(api, stack_outputs, short_pause, regions[2], 5)
    # and a pause of 60 s where the short bake finished
    assert finished(api, short_bake)["status"] == "SUCCEEDED"
    long_pause = deploy(api, pause | {"regions": [regions[0]]})
    paused_for(api, stack_outputs, long_pause, regions[0], 60)
    for deployment_id in (short_bake, long_bake, short_pause, long_pause):
        assert finished(api, deployment_id, timeout=120)["status"] == "SUCCEEDED"
    # Then each wait is one wait, however long: as many events in the history for 60 s as for 5 s
    bakes = {seconds: history_events(stack_outputs, d) for seconds, d in ((5, short_bake), (60, long_bake))}
    pauses = {seconds: history_events(stack_outputs, d) for seconds, d in ((5, short_pause), (60, long_pause))}
    print(f"history events: bakes {bakes}, pauses {pauses}")
    assert bakes[5] == bakes[60] and pauses[5] == pauses[60], (bakes, pauses)


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"buildId": "build-20990101T000000Z-00000000"}, 404, "no build"),
        ({"buildId": "x", "waves": [60, 40, 100]}, 422, "strictly increasing"),
        ({"buildId": "x", "waves": [50, 120]}, 422, "waves"),
        ({"buildId": "x", "bakeSeconds": -1}, 422, "bakeSeconds"),
        ({"buildId": "x", "regions": ["mars-north-1"]}, 422, "unknown mars-north-1"),
        ({"buildId": "x", "colour": "blue"}, 422, "colour"),
        ({"buildId": 5}, 422, "buildId"),
    ],
)
def test_a_deployment_that_cannot_be_done_is_refused_and_changes_nothing(api, body, status, words):
    before = http("GET", f"{api}/deployments?limit=1")[1]["deployments"]
    answer_status, answer = http("POST", f"{api}/deployments", body)
    assert answer_status == status and words in answer["message"], answer
    assert http("GET", f"{api}/deployments?limit=1")[1]["deployments"] == before


def test_unknown_deployments_and_actions_are_404s(api):
    assert http("GET", f"{api}/deployments/deploy-20990101T000000Z-00000000")[0] == 404
    assert http("POST", f"{api}/deployments/deploy-20990101T000000Z-00000000/pause", {})[0] == 404
    assert http("GET", f"{api}/regions/mars-north-1")[0] == 404
    status, answer = http("POST", f"{api}/deployments/deploy-20990101T000000Z-00000000/explode", {})
    assert status == 422 and "pause|resume|promote|approve|abort|rollback" in answer["message"]
