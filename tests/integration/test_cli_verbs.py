"""The command-line verbs a user types, run as typed in a shell after `eval "$(make -s local-env)"`:
the README's `aws` commands (SQS included), the plan's Phase 5 checks with `awslocal` (its names replaced
by the stack's), and the seed repo's direct `lambda invoke` of the replication starter."""

from __future__ import annotations

import json
import os
import re
import subprocess
import uuid

import boto3
import pytest

from tests.integration.conftest import copy_tracking, count_host_records, execution_finished, wait_for
from tests.utils import REPO


def shell(script: str, **variables: str) -> subprocess.CompletedProcess:
    """Runs `script` in bash in the shell `make local-env` prepares, with the stack's names as variables."""
    port = os.environ["AWS_ENDPOINT_URL"].rsplit(":", 1)[1].rstrip("/")
    prelude = f'set -euo pipefail\neval "$(make -s -C {REPO} local-env EMULATOR_PORT={port})"\n'
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | variables
    return subprocess.run(
        ["bash", "-c", prelude + script], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )


def succeeded(run: subprocess.CompletedProcess) -> str:
    assert run.returncode == 0, f"exit {run.returncode}\nstdout:\n{run.stdout}\nstderr:\n{run.stderr}"
    return run.stdout


def test_aws_in_the_local_env_reaches_the_emulator_for_sqs_too(stack_outputs):
    # Given a message in the failed-events queue (where the README sends you to inspect failed events)
    queue_url = stack_outputs["FailedEventsQueueUrl"]
    sqs = boto3.client("sqs")
    marker = f"cli-verbs-{uuid.uuid4().hex[:8]}"
    sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps({"marker": marker}))
    try:
        # When it is read with the plain `aws sqs` command of the local env
        out = succeeded(
            shell(
                'aws sqs get-queue-attributes --queue-url "$QUEUE" --attribute-names ApproximateNumberOfMessages\n'
                'aws sqs receive-message --queue-url "$QUEUE" --max-number-of-messages 10 --visibility-timeout 0',
                QUEUE=queue_url,
            )
        )
        # Then the emulator answered (the bare AWS CLI v1 would go to queue.amazonaws.com)
        assert "ApproximateNumberOfMessages" in out
        assert marker in out
    finally:
        # the other tests read this queue: leave it as it was
        for _ in range(10):
            messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
            mine = [m for m in messages if marker in m["Body"]]
            for message in messages:
                if message not in mine:
                    sqs.change_message_visibility(
                        QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                    )
            for message in mine:
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            if mine:
                break


def test_the_plans_phase_5_commands_run_as_written_with_awslocal(stack_outputs):
    global_bucket = stack_outputs["GlobalBuildsBucketName"]
    region_a = stack_outputs["RegionalBucketNamePattern"].format(region=stack_outputs["SimulatedRegions"].split(",")[0])
    key = f"test-file-{uuid.uuid4().hex[:8]}.zip"
    names = {
        "GLOBAL_BUCKET": global_bucket,
        "REGION_A_BUCKET": region_a,
        "TRACKING_TABLE": stack_outputs["CopyTrackingTableName"],
        "HOSTS_TABLE": stack_outputs["HostDeploymentLogsTableName"],
        "KEY": key,
        "BUILD_ID": key.removesuffix(".zip"),
    }
    # Step 5: upload a file to the global bucket (it replicates and rolls out under its file name)
    succeeded(shell('printf hello > "/tmp/$KEY"\nawslocal s3 cp "/tmp/$KEY" "s3://$GLOBAL_BUCKET/"', **names))
    regions = stack_outputs["SimulatedRegions"].split(",")
    hosts = int(stack_outputs["SimulatedHostsPerRegion"]) * len(regions)
    wait_for(lambda: count_host_records(stack_outputs, names["BUILD_ID"], regions) == hosts, f"{key} on every host")
    # Step 7: the plan's checks, each as the plan writes it
    assert [
        line
        for line in succeeded(shell('awslocal s3 ls "s3://$GLOBAL_BUCKET/"', **names)).splitlines()
        if line.endswith(f" {key}")
    ]
    assert [
        line
        for line in succeeded(shell('awslocal s3 ls "s3://$REGION_A_BUCKET/"', **names)).splitlines()
        if line.endswith(f" {key}")
    ]
    tracking = json.loads(succeeded(shell('awslocal dynamodb scan --table-name "$TRACKING_TABLE"', **names)))
    [row] = [item for item in tracking["Items"] if item["fileKey"]["S"] == key]
    assert row["status"]["S"] == "SUCCEEDED"
    counted = succeeded(
        shell(
            'awslocal dynamodb scan --table-name "$HOSTS_TABLE" \\\n'
            '  --filter-expression "build_id = :build_id" \\\n'
            '  --expression-attribute-values "{\\":build_id\\":{\\"S\\":\\"$BUILD_ID\\"}}" \\\n'
            '  --select "COUNT"',
            **names,
        )
    )
    assert json.loads(counted)["Count"] == hosts


def test_the_seeds_direct_invoke_of_the_starter_replicates(stack_outputs):
    # Given an artifact in the global bucket and the seed's invoker payload naming one destination
    global_bucket = stack_outputs["GlobalBuildsBucketName"]
    region_b = stack_outputs["RegionalBucketNamePattern"].format(region=stack_outputs["SimulatedRegions"].split(",")[1])
    key = f"direct/{uuid.uuid4().hex[:8]}.zip"
    boto3.client("s3").put_object(Bucket=global_bucket, Key=key, Body=b"direct")
    wait_for(lambda: copy_tracking(stack_outputs, key).get("status") == "SUCCEEDED", f"{key}'s S3-event replication")
    payload = {"sourceBucket": global_bucket, "sourceKey": key, "destinationBuckets": [region_b]}
    # When the starter is invoked directly, as the seed repo does
    out = succeeded(
        shell(
            'aws lambda invoke --function-name "$STARTER" \\\n'
            '  --payload "$PAYLOAD" /tmp/invoker_out.json >/dev/null\ncat /tmp/invoker_out.json',
            STARTER=stack_outputs["ReplicationStarterFunctionName"],
            PAYLOAD=json.dumps(payload),
        )
    )
    # Then it answers the execution it started, which copies to exactly that bucket
    [name] = json.loads(out)["executions"]
    arn = stack_outputs["ReplicationStateMachineArn"].replace(":stateMachine:", ":execution:") + f":{name}"
    finished = wait_for(lambda: execution_finished(arn), f"execution {name}")
    assert finished["status"] == "SUCCEEDED"
    assert json.loads(finished["input"]) == payload


@pytest.mark.parametrize(
    ("payload", "words"),
    [
        ({"bucket": "x"}, "expected an S3 event notification"),
        ({"sourceBucket": "x", "sourceKey": "k"}, "destinationBuckets: must be a non-empty list"),
    ],
)
def test_a_direct_invoke_it_cannot_read_fails_saying_what_it_expected(stack_outputs, payload, words):
    answer = boto3.client("lambda").invoke(
        FunctionName=stack_outputs["ReplicationStarterFunctionName"], Payload=json.dumps(payload).encode()
    )
    error = json.loads(answer["Payload"].read())
    assert answer.get("FunctionError"), error
    assert words in error["errorMessage"]


def test_samlocal_deploy_with_make_deploys_parameters_is_make_deploy():
    # make deploy's local parameter overrides, as the Makefile passes them
    local_params = re.search(r"^LOCAL_PARAMS := (.+)$", (REPO / "Makefile").read_text(), re.M).group(1)
    # samlocal (aws-sam-cli-local) deploys what `make deploy` built, to the stack it deployed: no change
    run = shell(
        'samlocal deploy --stack-name "$STACK_NAME" --parameter-overrides $LOCAL_PARAMS --no-execute-changeset',
        LOCAL_PARAMS=local_params,
    )
    succeeded(run)
    assert "No changes to deploy" in run.stdout + run.stderr, run.stdout + run.stderr
