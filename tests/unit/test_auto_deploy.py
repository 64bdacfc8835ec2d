"""AutoDeploy, as the replication workflow's last step calls it (statemachine/replicate_build.asl.json,
StartDeployment): a build just replicated becomes a deployment to every region it reached."""

import boto3

from code_deploy.deployments import store as deployment_store
from tests.unit.conftest import REGIONS
from tests.utils import load_handler

BUILD_ID = "build-20261122T101500Z-1a2b3c4d"


def test_a_replicated_build_deploys_to_every_region_it_reached(stack, context):
    # Given a replication whose copies reached two regions of three
    step = load_handler("deployment_step")
    copies = [{"bucket": stack.regional_bucket(region), "status": "SUCCEEDED", "size": 4096} for region in REGIONS[:2]]
    copies.append({"bucket": stack.regional_bucket(REGIONS[2]), "status": "FAILED"})
    event = {
        "action": "auto_deploy",
        "sourceKey": f"builds/{BUILD_ID}.zip",
        "copies": copies,
        "replication": BUILD_ID,
        "replicationStartedAt": "2026-11-22T10:15:02.000Z",
    }
    # When the workflow's step runs
    answer = step.lambda_handler(event, context)
    # Then a deployment of the build to those two regions was accepted, triggered by AutoDeploy
    deployments = boto3.resource("dynamodb").Table(f"{stack.builds_table.removesuffix('-builds')}-deployments")
    deployment = deployment_store.get(deployments, answer["deploymentId"])
    assert (deployment.build_id, deployment.trigger) == (BUILD_ID, "auto")
    assert set(deployment.regions) == set(REGIONS[:2])
