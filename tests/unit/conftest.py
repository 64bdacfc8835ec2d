"""Unit-test fixtures: moto stands in for AWS, with the same resources the template creates."""

from __future__ import annotations

import json
from dataclasses import dataclass

import boto3
import pytest
from moto import mock_aws

from code_deploy import aws as aws_clients
from code_deploy.builds import store as build_store
from code_deploy.deployments import store as deployment_store
from code_deploy.hosts import wave as host_wave
from code_deploy.hosts.schema import WaveRequest
from code_deploy.swarm import SwarmParameters
from tests.utils import LambdaContext

STACK = "sam-code-deploy"
HOME_REGION = "us-east-1"
GLOBAL_BUCKET = f"{STACK}-global-builds-000000000000-{HOME_REGION}"
STAGING_BUCKET = f"{STACK}-staging-000000000000-{HOME_REGION}"
MAX_UPLOAD_BYTES = 64 * 1024
REGIONS = ("us-west-2", "eu-west-1", "ap-southeast-2")
BUCKET_PATTERN = f"{STACK}-builds-000000000000-{{region}}"
HOSTS_PER_REGION = 200
# A region's hosts and network in the swarm model, as the stack's settings give them (below)
FLEET = SwarmParameters(hosts=HOSTS_PER_REGION, artifact_bytes=1, seeds=3, fanout=4, piece_bytes=1024)
HOST_LOST_AFTER_SECONDS = 90
IDEMPOTENCY_TABLE = f"{STACK}-idempotency"
SERVICES_TABLE = f"{STACK}-services"


@dataclass
class Stack:
    """Names of the moto resources, as the stacks' outputs would give them: the global stack's in
    us-east-1, and a bucket and a host table in each region, as each regional stack makes them."""

    builds_table: str
    builds_table_arn: str
    copy_tracking_table: str
    queue_url: str
    state_machine_arn: str
    global_bucket: str = GLOBAL_BUCKET
    staging_bucket: str = STAGING_BUCKET

    def regional_bucket(self, region: str) -> str:
        return BUCKET_PATTERN.format(region=region)

    def host_records_table(self, region: str) -> str:
        return f"{STACK}-{region}-host-deployment-logs"

    def host_state(self, region: str):
        return boto3.resource("dynamodb", region_name=region).Table(f"{STACK}-{region}-host-state")

    def host_records(self, region: str):
        return boto3.resource("dynamodb", region_name=region).Table(self.host_records_table(region))

    def fleet(self, region: str):
        return boto3.resource("dynamodb", region_name=region).Table(f"{STACK}-{region}-fleet")


def _table(dynamodb, name: str, hash_key: str, range_key: str) -> dict:
    return dynamodb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": hash_key, "AttributeType": "S"},
            {"AttributeName": range_key, "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": hash_key, "KeyType": "HASH"}, {"AttributeName": range_key, "KeyType": "RANGE"}],
    )["TableDescription"]


def fleet_table_definition(name: str) -> dict:
    """A region's fleet table as regional.yaml makes it: key pk, the by-group index, a stream."""
    return {
        "TableName": name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": attribute, "AttributeType": "S"} for attribute in ("pk", "groupShard", "hostId")
        ],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": "by-group",
                "KeySchema": [
                    {"AttributeName": "groupShard", "KeyType": "HASH"},
                    {"AttributeName": "hostId", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    }


def _use_fake_aws(monkeypatch) -> None:
    for key, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "POWERTOOLS_METRICS_NAMESPACE": "sam-code-deploy-test",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)


def forget_clients() -> None:
    """Empties code_deploy.aws's caches: the next call makes its session and client anew."""
    for made_once in vars(aws_clients).values():
        if hasattr(made_once, "cache_clear"):
            made_once.cache_clear()


@pytest.fixture(autouse=True)
def fresh_clients():
    """The functions' clients are cached per execution environment (code_deploy.aws); every test
    stands a new moto in front of AWS, so each starts without them."""
    forget_clients()


@pytest.fixture
def aws(monkeypatch):
    _use_fake_aws(monkeypatch)
    with mock_aws():
        yield


@pytest.fixture
def stack(aws, monkeypatch) -> Stack:
    return _create_stack(monkeypatch)


@pytest.fixture
def builds_table(stack):
    """The stack's builds table, as a boto3 Table."""
    return boto3.resource("dynamodb").Table(stack.builds_table)


@pytest.fixture(scope="module")
def module_stack() -> Stack:
    """One stack for a whole module of tests that must each leave it as they found it (malformed
    requests): moto's setup, once instead of once a test."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        _use_fake_aws(monkeypatch)
        with mock_aws():
            yield _create_stack(monkeypatch)


def _service_month_index(dynamodb, table: str, sort_key: str, projection: str) -> None:
    """A table's by-service-month index (one service's records newest first), as the template declares it."""
    dynamodb.update_table(
        TableName=table,
        AttributeDefinitions=[
            {"AttributeName": "serviceMonth", "AttributeType": "S"},
            {"AttributeName": sort_key, "AttributeType": "S"},
        ],
        GlobalSecondaryIndexUpdates=[
            {
                "Create": {
                    "IndexName": "by-service-month",
                    "KeySchema": [
                        {"AttributeName": "serviceMonth", "KeyType": "HASH"},
                        {"AttributeName": sort_key, "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": projection},
                }
            }
        ],
    )


def _create_stack(monkeypatch) -> Stack:
    dynamodb = boto3.client("dynamodb")
    builds_table = _table(dynamodb, f"{STACK}-builds", "build_id", "record")
    # GET /builds's index, as the template declares it
    dynamodb.update_table(
        TableName=f"{STACK}-builds",
        AttributeDefinitions=[
            {"AttributeName": build_store.MONTH_ATTRIBUTE, "AttributeType": "S"},
            {"AttributeName": "queuedAt", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexUpdates=[
            {
                "Create": {
                    "IndexName": build_store.BUILD_LIST_INDEX,
                    "KeySchema": [
                        {"AttributeName": build_store.MONTH_ATTRIBUTE, "KeyType": "HASH"},
                        {"AttributeName": "queuedAt", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "KEYS_ONLY"},
                }
            }
        ],
    )
    # GET /builds?service='s index, as the template declares it
    _service_month_index(dynamodb, f"{STACK}-builds", "queuedAt", "KEYS_ONLY")
    _table(dynamodb, f"{STACK}-FileCopyTracking", "fileKey", "sourceBucket")
    dynamodb.create_table(
        TableName=IDEMPOTENCY_TABLE,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    )
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=GLOBAL_BUCKET)
    s3.put_bucket_versioning(Bucket=GLOBAL_BUCKET, VersioningConfiguration={"Status": "Enabled"})
    s3.create_bucket(Bucket=STAGING_BUCKET)
    for region in REGIONS:
        boto3.client("s3", region_name=region).create_bucket(
            Bucket=BUCKET_PATTERN.format(region=region), CreateBucketConfiguration={"LocationConstraint": region}
        )
        regional_dynamodb = boto3.client("dynamodb", region_name=region)
        _table(regional_dynamodb, f"{STACK}-{region}-host-deployment-logs", "pk", "host_id")
        regional_dynamodb.create_table(**fleet_table_definition(f"{STACK}-{region}-fleet"))
        regional_dynamodb.create_table(
            TableName=f"{STACK}-{region}-host-state",
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "block", "AttributeType": "N"}],
            KeySchema=[{"AttributeName": "block", "KeyType": "HASH"}],
        )
    _table(dynamodb, f"{STACK}-deployments", "deployment_id", "record")
    dynamodb.update_table(
        TableName=f"{STACK}-deployments",
        AttributeDefinitions=[
            {"AttributeName": "createdMonth", "AttributeType": "S"},
            {"AttributeName": "createdAt", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexUpdates=[
            {
                "Create": {
                    "IndexName": deployment_store.DEPLOYMENTS.name,
                    "KeySchema": [
                        {"AttributeName": "createdMonth", "KeyType": "HASH"},
                        {"AttributeName": "createdAt", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            }
        ],
    )
    _service_month_index(dynamodb, f"{STACK}-deployments", "createdAt", "ALL")
    dynamodb.create_table(
        TableName=SERVICES_TABLE,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "name", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "name", "KeyType": "HASH"}],
    )
    dynamodb.create_table(
        TableName=f"{STACK}-regions",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "region", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "region", "KeyType": "HASH"}],
    )
    queue_url = boto3.client("sqs").create_queue(QueueName=f"{STACK}-BuildQueue")["QueueUrl"]
    role = boto3.client("iam").create_role(RoleName="sfn", AssumeRolePolicyDocument=json.dumps({}))["Role"]["Arn"]
    state_machine_arn = boto3.client("stepfunctions").create_state_machine(
        name=f"{STACK}-replicate-build",
        roleArn=role,
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
    )["stateMachineArn"]
    rollout_state_machine_arn = boto3.client("stepfunctions").create_state_machine(
        name=f"{STACK}-roll-out",
        roleArn=role,
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
    )["stateMachineArn"]
    events_topic_arn = boto3.client("sns").create_topic(Name=f"{STACK}-deployment-events")["TopicArn"]
    names = Stack(
        f"{STACK}-builds", builds_table["TableArn"], f"{STACK}-FileCopyTracking", queue_url, state_machine_arn
    )
    for key, value in {
        "BUILDS_TABLE_NAME": names.builds_table,
        "COPY_TRACKING_TABLE_NAME": names.copy_tracking_table,
        "IDEMPOTENCY_TABLE_NAME": IDEMPOTENCY_TABLE,
        "BUILDS_TABLE_ARN": names.builds_table_arn,
        "MULTIPART_COPY_THRESHOLD_BYTES": str(8 * 1024 * 1024),
        "COPY_PART_BYTES": str(5 * 1024 * 1024),
        "BUILD_QUEUE_URL": queue_url,
        "GLOBAL_BUCKET_NAME": GLOBAL_BUCKET,
        "STAGING_BUCKET_NAME": STAGING_BUCKET,
        "MAX_UPLOAD_BYTES": str(MAX_UPLOAD_BYTES),
        "STATE_MACHINE_ARN": state_machine_arn,
        "ROLLOUT_STATE_MACHINE_ARN": rollout_state_machine_arn,
        "DEPLOYMENTS_TABLE_NAME": f"{STACK}-deployments",
        "REGIONS_TABLE_NAME": f"{STACK}-regions",
        "SERVICES_TABLE_NAME": SERVICES_TABLE,
        "REGIONAL_SYNC_FUNCTION_PATTERN": f"{STACK}-{{region}}-sync",
        "DEPLOYMENT_EVENTS_TOPIC_ARN": events_topic_arn,
        "METRICS_NAMESPACE": STACK,
        "REGIONS": ",".join(REGIONS),
        "REGIONAL_BUCKET_PATTERN": BUCKET_PATTERN,
        "HOSTS_PER_REGION": str(HOSTS_PER_REGION),
        "FLEET_TABLE_PATTERN": f"{STACK}-{{region}}-fleet",
        "HOST_STATE_TABLE_PATTERN": f"{STACK}-{{region}}-host-state",
        "HOST_LOST_AFTER_SECONDS": str(HOST_LOST_AFTER_SECONDS),
        "SEED_HOSTS": "3",
        "P2P_FANOUT": "4",
        "P2P_PIECE_BYTES": "1024",
        "HOST_RECORD_WRITERS": "4",
        "ARTIFACT_PAYLOAD_BYTES": "2048",
        "BUILD_MAX_RECEIVE_COUNT": "3",
        "SIMULATED_FAILING_COMMIT_PREFIX": "deadbeef",
    }.items():
        monkeypatch.setenv(key, value)
    return names


@pytest.fixture
def in_region(monkeypatch):
    """Runs what follows as a function of that region's stack would run: Lambda sets both variables."""

    def enter(region: str) -> None:
        monkeypatch.setenv("AWS_REGION", region)
        monkeypatch.setenv("AWS_DEFAULT_REGION", region)
        forget_clients()  # the next client is made for that region

    return enter


@pytest.fixture
def regional_syncs(stack):
    """Each region's sync, as the deployment step invokes it: (region, request) -> its answer, run
    in-process against that region's bucket and tables."""

    def call(region: str, request: dict) -> dict:
        wave = WaveRequest.model_validate(request)
        s3 = boto3.client("s3", region_name=region)
        hosts = host_wave.RegionHosts(region, stack.regional_bucket(region), s3, stack.host_state(region), FLEET)
        if wave.action == "rollback":
            return host_wave.roll_back_region(hosts, wave).to_dict()
        log = host_wave.HostRecordsLog(
            boto3.client("dynamodb", region_name=region), stack.host_records_table(region), writers=2
        )
        return host_wave.roll_out_wave(hosts, wave, log).to_dict()

    return call


@pytest.fixture
def context() -> LambdaContext:
    return LambdaContext()
