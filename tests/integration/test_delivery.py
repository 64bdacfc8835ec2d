"""Events arrive at least once, and some never succeed: every effect happens once, and every
failure ends somewhere a person can see it."""

from __future__ import annotations

import json
import secrets
import time
import uuid
from urllib.parse import quote_plus

import boto3
import pytest

from code_deploy.replication.model import execution_name
from tests.integration.helpers import copy_tracking, count_host_records, http, wait_for
from tests.utils import load_event


def s3_event(bucket: str, key: str, version_id: str | None, etag: str) -> dict:
    """An S3 ObjectCreated notification for an existing object, as S3 sends it (key URL-encoded)."""
    event = load_event("s3_put.json")
    record = event["Records"][0]
    record["s3"]["bucket"].update(name=bucket, arn=f"arn:aws:s3:::{bucket}")
    record["s3"]["object"] = {"key": quote_plus(key, safe="/"), "eTag": etag, "size": 1, "sequencer": "0A"}
    if version_id:
        record["s3"]["object"]["versionId"] = version_id
    return event


def invoke(
    function_name: str, event: dict, invocation_type: str = "RequestResponse", region: str | None = None
) -> dict:
    response = boto3.client("lambda", region_name=region).invoke(
        FunctionName=function_name, Payload=json.dumps(event).encode(), InvocationType=invocation_type
    )
    assert not response.get("FunctionError"), response["Payload"].read()
    return response


def drain(queue_url: str, region: str | None = None) -> list[dict]:
    """Every message now in the queue, deleted as read."""
    sqs, messages = boto3.client("sqs", region_name=region), []
    while batch := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages"):
        for message in batch:
            messages.append(message)
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return messages


def queue_is_idle(queue_url: str) -> bool:
    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return (
        attributes["ApproximateNumberOfMessages"] == "0" and attributes["ApproximateNumberOfMessagesNotVisible"] == "0"
    )


def test_the_same_s3_event_delivered_three_times_replicates_and_rolls_out_once(
    api, stack_outputs, buckets, hosts_per_region
):
    # Given an artifact in the global bucket, replicated and rolled out once by its own notification
    global_bucket = stack_outputs["GlobalBuildsBucketName"]
    key = f"redelivered/{uuid.uuid4().hex[:10]}.zip"
    put = boto3.client("s3").put_object(Bucket=global_bucket, Key=key, Body=b"once")
    stem = key.rsplit("/", 1)[1].removesuffix(".zip")
    expected_hosts = hosts_per_region * len(buckets)
    wait_for(lambda: copy_tracking(stack_outputs, key).get("status") == "SUCCEEDED", f"replication of {key}")
    wait_for(
        lambda: count_host_records(stack_outputs, stem, buckets) == expected_hosts,
        "the first rollout",
    )

    # When S3 delivers the same notification three more times to the starter
    event = s3_event(global_bucket, key, put.get("VersionId"), put["ETag"].strip('"'))
    for _ in range(3):
        invoke(stack_outputs["ReplicationStarterFunctionName"], event)

    # Then there is one execution for the object, one tracking row, one deployment (AutoDeploy's,
    # named after the execution) and one record per host
    sfn = boto3.client("stepfunctions")
    name = execution_name(global_bucket, key, put.get("VersionId") or put["ETag"].strip('"'))
    executions = sfn.list_executions(stateMachineArn=stack_outputs["ReplicationStateMachineArn"])["executions"]
    assert [execution["name"] for execution in executions if execution["name"].startswith(stem)] == [name]
    assert copy_tracking(stack_outputs, key)["executionId"].endswith(f":{name}")
    status, page = http("GET", f"{api}/deployments?limit=50")
    assert status == 200
    assert len([deployment for deployment in page["deployments"] if deployment["buildId"] == stem]) == 1
    assert count_host_records(stack_outputs, stem, buckets) == expected_hosts


def test_a_build_message_delivered_twice_builds_once(api, stack_outputs):
    # Given a build that went all the way
    status, accepted = http("POST", f"{api}/builds", {"commit": secrets.token_hex(20)})
    assert status == 202
    build_id = accepted["buildId"]
    view = wait_for(
        lambda: (v := http("GET", f"{api}/builds/{build_id}")[1])["deploymentStatus"] == "DEPLOYED" and v,
        f"{build_id} deployed",
    )

    # When its queue message is delivered again
    boto3.client("sqs").send_message(
        QueueUrl=stack_outputs["BuildQueueUrl"], MessageBody=json.dumps({"buildId": build_id, "commit": view["commit"]})
    )
    wait_for(lambda: queue_is_idle(stack_outputs["BuildQueueUrl"]), "the build queue to drain")

    # Then there is still one artifact version, one replication, and a clean status history
    artifact = view["artifact"]
    versions = boto3.client("s3").list_object_versions(Bucket=artifact["bucket"], Prefix=artifact["key"])["Versions"]
    versions = [version for version in versions if version["Key"] == artifact["key"]]  # not its piece list
    assert len(versions) == 1
    again = http("GET", f"{api}/builds/{build_id}")[1]
    assert [change["status"] for change in again["statusHistory"]] == [
        "QUEUED",
        "BUILDING",
        "SUCCEEDED",
        "REPLICATING",
        "ROLLING_OUT",
        "DEPLOYED",
    ]
    assert again["replication"]["executionId"] == view["replication"]["executionId"]


def test_a_build_that_always_fails_goes_to_the_dead_letter_queue_and_its_neighbours_succeed(api, stack_outputs):
    # Given a commit the simulated compiler always rejects, submitted with good ones
    bad_commit = "deadbeef" + secrets.token_hex(16)
    submitted = {
        commit: http("POST", f"{api}/builds", {"commit": commit})[1]["buildId"]
        for commit in [bad_commit, *(secrets.token_hex(20) for _ in range(3))]
    }
    bad_build = submitted.pop(bad_commit)

    # Then the good builds deploy (each to every host, or until a later one of them took over: AutoDeploy's
    # deployments of builds landing together, the later wins)
    for build_id in submitted.values():
        wait_for(
            lambda build_id=build_id: (
                http("GET", f"{api}/builds/{build_id}")[1]["deploymentStatus"] in ("DEPLOYED", "SUPERSEDED")
            ),
            f"{build_id} deployed",
        )
    # and the bad one is FAILED with the reason, after every attempt
    failed = wait_for(
        lambda: (v := http("GET", f"{api}/builds/{bad_build}")[1])["status"] == "FAILED" and v, f"{bad_build} to fail"
    )
    assert failed["deploymentStatus"] == "FAILED"
    assert failed["failureReason"].startswith("build failed after 3 attempts: SimulatedBuildFailure")
    assert [change["status"] for change in failed["statusHistory"]] == ["QUEUED", "BUILDING", "FAILED"]
    # with as many failed attempts as the reason says, the last one's error, and no region waiting for it
    assert (failed["attempts"], failed["lastError"].startswith("SimulatedBuildFailure")) == (3, True)
    assert {region["replication"] for region in failed["regions"]} == {"BUILD_FAILED"}
    # and its message waits in the dead-letter queue
    dead_letters = wait_for(
        lambda: [
            m for m in drain(stack_outputs["BuildDeadLetterQueueUrl"]) if json.loads(m["Body"])["buildId"] == bad_build
        ],
        "the dead letter",
    )
    assert json.loads(dead_letters[0]["Body"]) == {"buildId": bad_build, "commit": bad_commit}


def test_a_wave_a_regions_sync_cannot_do_fails_with_its_error_and_changes_no_host(regional_stacks):
    # Given a wave of a build whose artifact never reached the region
    region, stack = next(iter(regional_stacks.items()))
    missing = f"build-20990101T000000Z-{uuid.uuid4().hex[:8]}"
    hosts_before = boto3.resource("dynamodb", region_name=region).Table(stack["HostStateTableName"]).scan()["Items"]
    request = {
        "action": "wave",
        "deploymentId": "deploy-20990101T000000Z-00000000",
        "buildId": missing,
        "artifactKey": f"builds/{missing}.zip",
        "seq": 1,
        "hostRange": [0, 10],
    }
    # When the rollout's step invokes the region's sync with it
    response = boto3.client("lambda", region_name=region).invoke(
        FunctionName=stack["RegionalSyncFunctionName"], Payload=json.dumps(request).encode()
    )
    # Then it fails with the error (the workflow retries it, then fails the deployment with it)
    assert response.get("FunctionError"), response
    assert "404" in response["Payload"].read().decode()
    # and no host changed
    after = boto3.resource("dynamodb", region_name=region).Table(stack["HostStateTableName"]).scan()["Items"]
    assert after == hosts_before


@pytest.fixture
def failure_topic_gone(stack_outputs):
    """SNS failing: the file-copy-failures topic is deleted for the test and made again after it
    (topic ARNs are names, so the stack's references hold)."""
    sns = boto3.client("sns")
    topic_arn = stack_outputs["FileCopyFailuresTopicArn"]
    sns.delete_topic(TopicArn=topic_arn)
    yield
    assert sns.create_topic(Name=topic_arn.rsplit(":", 1)[1])["TopicArn"] == topic_arn


def test_when_sns_fails_the_workflow_still_records_its_result(stack_outputs, buckets, failure_topic_gone):
    # Given an artifact, and a copy that will fail while SNS cannot publish
    key = f"sns-down/{uuid.uuid4().hex}.zip"
    global_bucket = stack_outputs["GlobalBuildsBucketName"]
    s3 = boto3.client("s3")
    s3.put_object(Bucket=global_bucket, Key=key, Body=b"x")
    wait_for(
        lambda: copy_tracking(stack_outputs, key).get("status") not in (None, "IN_PROGRESS"),
        "the upload's own replication",
    )
    sfn = boto3.client("stepfunctions")
    execution = sfn.start_execution(
        stateMachineArn=stack_outputs["ReplicationStateMachineArn"],
        name=f"sns-down-{uuid.uuid4().hex}",
        input=json.dumps(
            {
                "sourceBucket": global_bucket,
                "sourceKey": key,
                "destinationBuckets": [next(iter(buckets.values())), f"missing-{uuid.uuid4().hex[:8]}"],
            }
        ),
    )
    # When the execution ends
    finished = wait_for(
        lambda: (d := sfn.describe_execution(executionArn=execution["executionArn"]))["status"] != "RUNNING" and d,
        "the execution",
    )
    # Then it failed with a clear status, and the tracking row says the notification could not be sent
    assert (finished["status"], finished["error"]) == ("FAILED", "PartialReplicationFailure")
    time.sleep(0.2)
    tracking = copy_tracking(stack_outputs, key)
    assert tracking["status"] == "PARTIAL_FAILURE"
    assert tracking["notificationStatus"] == "FAILED"
    assert tracking["notificationError"]
