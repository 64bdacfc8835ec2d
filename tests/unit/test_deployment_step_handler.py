"""The deployment step's handler (functions/deployment_step), driven by the events the workflows send it
(events/deployment_step_*.json): a wave, invoking the region's sync by its name; AutoDeploy at the end
of a replication; and the refusal of a step it does not know."""

from __future__ import annotations

import boto3
import pytest

from code_deploy import aws
from code_deploy.builds import store as build_store
from code_deploy.deployments import accept
from code_deploy.deployments import model as deployment_model
from code_deploy.deployments import store as deployment_store
from tests.unit.conftest import FLEET, HOSTS_PER_REGION, REGIONS, STACK
from tests.utils import load_event, load_handler

BUILD_ID = "build-20261122T101500Z-1a2b3c4d"


@pytest.fixture
def step(stack):
    return load_handler("deployment_step")


@pytest.fixture
def tables(stack) -> deployment_store.Tables:
    return deployment_store.Tables.of(
        boto3.resource("dynamodb"), f"{STACK}-deployments", f"{STACK}-regions", stack.builds_table
    )


@pytest.fixture
def invoked(stack, regional_syncs, monkeypatch) -> list[tuple[str, str, dict]]:
    """Each region's sync runs in-process where the step invokes it across regions; the calls, in order."""
    calls: list[tuple[str, str, dict]] = []

    def invoke_in_region(region: str, function_name: str, payload: dict) -> dict:
        calls.append((region, function_name, payload))
        return regional_syncs(region, payload)

    monkeypatch.setattr(aws, "invoke_in_region", invoke_in_region)
    return calls


def rollout_state_machine_arn() -> str:
    machines = boto3.client("stepfunctions").list_state_machines()["stateMachines"]
    return next(machine["stateMachineArn"] for machine in machines if machine["name"].endswith("-roll-out"))


def rollout_executions() -> list[dict]:
    return boto3.client("stepfunctions").list_executions(stateMachineArn=rollout_state_machine_arn())["executions"]


def test_a_wave_step_invokes_the_regions_sync_and_answers_what_comes_next(step, stack, tables, invoked, context):
    # Given the deployment the sample event names, accepted in every region, its artifact in each region
    event = load_event("deployment_step_wave.json")
    for region in REGIONS:
        boto3.client("s3", region_name=region).put_object(
            Bucket=stack.regional_bucket(region), Key=f"builds/{BUILD_ID}.zip", Body=b"x" * 4096
        )
    accept.create_deployment(
        accept.Rollouts(tables, boto3.client("stepfunctions"), rollout_state_machine_arn(), FLEET),
        deployment_model.spec_from_request(BUILD_ID, REGIONS),
        build_store.ArtifactLocation("global", f"builds/{BUILD_ID}.zip", "", 4096, 0),
        deployment_id=event["deploymentId"],
    )
    assert step.lambda_handler(event | {"action": "start"}, context)["regionWaves"] == [list(REGIONS)]
    # When the workflow asks for the region's only wave
    answer = step.lambda_handler(event, context)
    # Then the step invoked that region's sync by the regional stacks' name for it, with the wave's hosts
    [(region, function_name, request)] = invoked
    assert (region, function_name) == ("us-west-2", f"{STACK}-us-west-2-sync")
    assert (request["action"], request["buildId"], request["hostRange"]) == ("wave", BUILD_ID, [0, HOSTS_PER_REGION])
    # and, every host updated, the region is done
    assert answer["next"] == "END"
    rollout = deployment_store.get(tables.deployments, event["deploymentId"]).regions["us-west-2"]
    assert (rollout.status, rollout.hosts_updated) == ("SUCCEEDED", HOSTS_PER_REGION)
    goals = deployment_store.get_region_goals(tables.regions, ("us-west-2",))
    assert goals["us-west-2"].hosts_by_build == {BUILD_ID: HOSTS_PER_REGION}


def test_auto_deploy_deploys_the_replicated_build_where_it_was_copied_once(step, stack, tables, context):
    # Given a replication that copied the build to two regions' buckets and failed the third
    event = load_event("deployment_step_auto_deploy.json")
    for copy in event["copies"]:
        if copy["status"] == "SUCCEEDED":
            region = copy["bucket"].rsplit("-", 3)[-3:]
            boto3.client("s3", region_name="-".join(region)).put_object(
                Bucket=copy["bucket"], Key=event["sourceKey"], Body=b"z" * 10240
            )
    # When its last step asks for AutoDeploy, and the workflow retries that step
    answers = [step.lambda_handler(event, context) for _ in range(2)]
    # Then one deployment of the build to those two regions, its rollout started once
    assert answers[0] == answers[1]
    deployment = deployment_store.get(tables.deployments, answers[0]["deploymentId"])
    assert (deployment.build_id, deployment.trigger, deployment.spec.regions) == (
        BUILD_ID,
        "auto",
        ("us-west-2", "eu-west-1"),
    )
    assert (deployment.artifact_key, deployment.artifact_bytes) == (event["sourceKey"], 10240)
    assert [execution["name"] for execution in rollout_executions()] == [deployment.deployment_id]


def test_auto_deploy_of_a_replication_that_reached_no_region_deploys_nothing(step, stack, context):
    event = load_event("deployment_step_auto_deploy.json")
    event["copies"] = [copy | {"status": "FAILED"} for copy in event["copies"]]
    assert step.lambda_handler(event, context) == {"deploymentId": None}
    assert rollout_executions() == []


@pytest.mark.parametrize("event", [{"action": "launch", "deploymentId": "d"}, {"deploymentId": "d"}])
def test_a_step_it_does_not_know_is_refused_naming_the_steps(step, stack, context, event):
    with pytest.raises(ValueError, match=r"unknown action .*: the steps are auto_deploy, start, wave, bake"):
        step.lambda_handler(event, context)
