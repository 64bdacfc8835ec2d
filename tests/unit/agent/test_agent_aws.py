"""The agent's AWS side (moto): the goal read from the fleet table, ranged GETs from the builds bucket, the host
item written with updates that leave the control plane's own attributes alone."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal

import boto3
import pytest

from code_deploy_agent import host_item
from code_deploy_agent.agent import Agent
from code_deploy_agent.aws_region import AwsRegion
from code_deploy_agent.config import AgentConfig
from code_deploy_agent.pieces import piece_hashes, piece_root
from tests.unit.agent.fixtures.harness import app_artifact

REGION = "us-east-1"
TABLE = "sam-code-deploy-us-east-1-fleet"
BUCKET = "sam-code-deploy-builds-000000000000-us-east-1"
PIECE_BYTES = 1024


@pytest.fixture
def fleet(aws):
    """The regional fleet table and builds bucket, as the regional stack would make them."""
    dynamodb = boto3.resource("dynamodb", region_name=REGION)
    table = dynamodb.create_table(
        TableName=TABLE,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
    )
    boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
    return table


def publish(build_id: str) -> dict:
    """The build worker's part: the artifact and its piece list in the bucket; the goal's fields for it."""
    artifact = app_artifact(build_id, {"deploy.yaml": None})
    hashes = piece_hashes(artifact, PIECE_BYTES)
    s3 = boto3.client("s3", region_name=REGION)
    s3.put_object(Bucket=BUCKET, Key=f"builds/{build_id}/artifact.zip", Body=artifact)
    s3.put_object(
        Bucket=BUCKET,
        Key=f"builds/{build_id}/pieces.json",
        Body=json.dumps({"pieceBytes": PIECE_BYTES, "pieces": hashes}).encode(),
    )
    return {
        "buildId": build_id,
        "artifactKey": f"builds/{build_id}/artifact.zip",
        "artifactBytes": len(artifact),
        "sha256": hashlib.sha256(artifact).hexdigest(),
        "pieceBytes": PIECE_BYTES,
        "pieceRoot": piece_root(hashes),
        "piecesKey": f"builds/{build_id}/pieces.json",
    }


def test_the_agent_deploys_from_dynamodb_and_s3(fleet, tmp_path):
    # Given the goal's copy of the host's shard in the fleet table (GOAL#web#<NN>, the host's groupShard),
    # and a host item the control plane already annotated
    build = publish("b1")
    fleet.put_item(
        Item={
            "pk": f"GOAL#{host_item.group_shard('web', 'host-001')}",
            "group": "web",
            "deploymentId": "d1",
            "wave": 1,
            "cumulativePercent": Decimal(100),
            "updatedAt": "2026-12-06T00:00:00.000Z",
            **build,
        }
    )
    fleet.put_item(Item={"pk": "HOST#host-001", "quarantined": False})
    config = AgentConfig(
        region=REGION, group="web", host_id="host-001", table=TABLE, bucket=BUCKET, agent_dir=tmp_path, app_port=8080
    )
    agent = Agent(config, AwsRegion(REGION, TABLE, BUCKET))

    # When the agent starts and polls
    try:
        agent.start()
        report = agent.poll_once()
        agent.heartbeat()
    finally:
        agent.close()

    # Then the build is installed and the host item holds the registration and the report
    assert report.status == "DEPLOYED"
    assert (tmp_path / "releases" / "b1" / "server.py").is_file()
    item = fleet.get_item(Key={"pk": "HOST#host-001"})["Item"]
    assert item["quarantined"] is False  # the control plane's attribute survives every update
    assert item["state"] == "DEPLOYED"
    assert item["currentBuildId"] == "b1"
    assert "previousBuildId" not in item  # None removes the attribute
    assert item["groupShard"] == host_item.group_shard("web", "host-001")
    assert isinstance(item["heartbeatAt"], Decimal)
    assert item["appPort"] == 8080
    assert item["report"]["deploymentId"] == "d1"
    assert item["report"]["status"] == "DEPLOYED"
    assert item["report"]["downloadBytes"] == build["artifactBytes"]
    assert item["report"]["reason"] is None
    assert isinstance(item["report"]["downloadSeconds"], Decimal)


def test_missing_objects_and_goals_read_as_none(fleet):
    region = AwsRegion(REGION, TABLE, BUCKET)

    assert region.read_goal("web#00") is None
    assert region.object_size("builds/nothing/artifact.zip") is None
    assert region.read_object("builds/nothing/pieces.json") is None


def test_a_ranged_read_returns_exactly_the_bytes_asked_for(fleet):
    build = publish("b1")
    region = AwsRegion(REGION, TABLE, BUCKET)

    data = region.read_range(build["artifactKey"], 1024, 2047)

    whole = boto3.client("s3", region_name=REGION).get_object(Bucket=BUCKET, Key=build["artifactKey"])["Body"].read()
    assert data == whole[1024:2048]
    assert region.object_size(build["artifactKey"]) == len(whole)
