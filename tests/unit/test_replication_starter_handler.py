import json

import boto3
import pytest

from code_deploy.replication.model import InvalidReplicationRequest
from tests.utils import load_event, load_handler


@pytest.fixture
def starter(stack):
    return load_handler("replication_starter")


def executions(stack):
    sfn = boto3.client("stepfunctions")
    return sfn.list_executions(stateMachineArn=stack.state_machine_arn)["executions"]


def test_starts_replication_to_every_regional_bucket(starter, stack, context):
    # Given the sample S3 put on the global bucket
    event = load_event("s3_put.json")
    # When the starter handles it
    result = starter.lambda_handler(event, context)
    # Then one execution runs with the plan's input shape
    [execution] = executions(stack)
    assert result == {"executions": [execution["name"]]}
    started = boto3.client("stepfunctions").describe_execution(executionArn=execution["executionArn"])
    assert json.loads(started["input"]) == {
        "sourceBucket": stack.global_bucket,
        "sourceKey": "builds/build-20261122T101500Z-1a2b3c4d.zip",
        "destinationBuckets": [stack.regional_bucket(r) for r in ("us-west-2", "eu-west-1", "ap-southeast-2")],
    }


def test_the_same_event_delivered_three_times_starts_one_execution(starter, stack, context):
    event = load_event("s3_put.json")
    names = {starter.lambda_handler(event, context)["executions"][0] for _ in range(3)}
    assert len(names) == 1
    assert len(executions(stack)) == 1


def test_url_encoded_keys_are_decoded(starter, stack, context):
    event = load_event("s3_put.json")
    event["Records"][0]["s3"]["object"]["key"] = "builds/my+build+%C3%BC%2B1.zip"
    starter.lambda_handler(event, context)
    [execution] = executions(stack)
    started = boto3.client("stepfunctions").describe_execution(executionArn=execution["executionArn"])
    assert json.loads(started["input"])["sourceKey"] == "builds/my build ü+1.zip"


def test_the_plans_direct_input_starts_one_execution_to_its_destinations(starter, stack, context):
    # Given the plan's input, as the seed's invoker is called (lambda invoke --payload)
    event = load_event("replication_input.json")
    event["destinationBuckets"] = [stack.regional_bucket("eu-west-1")]
    # When the starter is invoked with it twice
    results = [starter.lambda_handler(event, context) for _ in range(2)]
    # Then one execution copies to exactly the buckets it names
    [execution] = executions(stack)
    assert results == [{"executions": [execution["name"]]}] * 2
    started = boto3.client("stepfunctions").describe_execution(executionArn=execution["executionArn"])
    assert json.loads(started["input"]) == event


def test_an_event_it_cannot_read_is_refused_naming_what_it_expected(starter, stack, context):
    with pytest.raises(InvalidReplicationRequest, match=r"expected an S3 event notification .*sourceBucket"):
        starter.lambda_handler({"bucket": "x"}, context)
    assert executions(stack) == []


@pytest.mark.parametrize("companion", [".pieces.json", ".torrent"])
def test_a_piece_list_or_torrent_landing_starts_no_replication_of_its_own(starter, stack, context, companion):
    # Given the S3 event of an artifact's piece list or torrent (the build worker puts them beside the artifact)
    event = load_event("s3_put.json")
    event["Records"][0]["s3"]["object"]["key"] += companion
    # When the starter handles it, then nothing starts: the artifact's copy takes its list with it
    assert starter.lambda_handler(event, context) == {"executions": []}
    assert executions(stack) == []
