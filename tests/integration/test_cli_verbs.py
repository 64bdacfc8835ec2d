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

from tests.integration.helpers import copy_tracking, count_host_records, execution_finished, http, wait_for
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


def test_the_plans_phase_5_commands_run_as_written_with_awslocal(stack_outputs, regional_stacks, buckets):
    global_bucket = stack_outputs["GlobalBuildsBucketName"]
    # the plan's region-a: the stacks' first region, its bucket and host table asked in that region
    region_a, region_a_bucket = next(iter(buckets.items()))
    key = f"test-file-{uuid.uuid4().hex[:8]}.zip"
    names = {
        "GLOBAL_BUCKET": global_bucket,
        "REGION_A": region_a,
        "REGION_A_BUCKET": region_a_bucket,
        "TRACKING_TABLE": stack_outputs["CopyTrackingTableName"],
        "REGION_A_HOSTS_TABLE": regional_stacks[region_a]["HostDeploymentLogsTableName"],
        "KEY": key,
        "BUILD_ID": key.removesuffix(".zip"),
    }
    # Step 5: upload a file to the global bucket (it replicates and rolls out under its file name)
    succeeded(shell('printf hello > "/tmp/$KEY"\nawslocal s3 cp "/tmp/$KEY" "s3://$GLOBAL_BUCKET/"', **names))
    hosts_per_region = int(stack_outputs["SimulatedHostsPerRegion"])
    hosts = hosts_per_region * len(buckets)
    wait_for(lambda: count_host_records(stack_outputs, names["BUILD_ID"], buckets) == hosts, f"{key} on every host")
    # Step 7: the plan's checks, each as the plan writes it
    assert [
        line
        for line in succeeded(shell('awslocal s3 ls "s3://$GLOBAL_BUCKET/"', **names)).splitlines()
        if line.endswith(f" {key}")
    ]
    listed = succeeded(shell('awslocal s3 ls "s3://$REGION_A_BUCKET/" --region "$REGION_A"', **names))
    assert [line for line in listed.splitlines() if line.endswith(f" {key}")]
    tracking = json.loads(succeeded(shell('awslocal dynamodb scan --table-name "$TRACKING_TABLE"', **names)))
    [row] = [item for item in tracking["Items"] if item["fileKey"]["S"] == key]
    assert row["status"]["S"] == "SUCCEEDED"
    counted = succeeded(
        shell(
            'awslocal dynamodb scan --region "$REGION_A" --table-name "$REGION_A_HOSTS_TABLE" \\\n'
            '  --filter-expression "build_id = :build_id" \\\n'
            '  --expression-attribute-values "{\\":build_id\\":{\\"S\\":\\"$BUILD_ID\\"}}" \\\n'
            '  --select "COUNT"',
            **names,
        )
    )
    # each region keeps its own hosts' records: region-a's table counts its hosts
    assert json.loads(counted)["Count"] == hosts_per_region


def test_the_seeds_direct_invoke_of_the_starter_replicates(stack_outputs, buckets):
    # Given an artifact in the global bucket and the seed's invoker payload naming one destination
    global_bucket = stack_outputs["GlobalBuildsBucketName"]
    region_b = list(buckets.values())[1]
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
    # samlocal (aws-sam-cli-local) deploys what `make deploy` built, to the global stack it deployed: no change
    run = shell(
        'samlocal deploy --template-file .aws-sam/global/template.yaml --config-file "$PWD/samconfig.toml" \\\n'
        '  --stack-name "$STACK_NAME" --parameter-overrides $LOCAL_PARAMS --no-execute-changeset',
        LOCAL_PARAMS=local_params,
    )
    succeeded(run)
    assert "No changes to deploy" in run.stdout + run.stderr, run.stdout + run.stderr


def test_the_readmes_curl_commands_submit_and_read_a_build(api):
    # The README's "By hand with curl", as written (curl 7.75+ signs with --aws-sigv4)
    commit = uuid.uuid4().hex + "0" * 8
    out = succeeded(
        shell(
            "API=$(.venv/test/bin/python -m tools.stack ApiBaseUrl)\n"
            'SIGN=(--aws-sigv4 "aws:amz:us-east-1:execute-api" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY")\n'
            'curl -s "${SIGN[@]}" -X POST "$API/builds" -H \'Content-Type: application/json\' \\\n'
            '  -H "Idempotency-Key: $(uuidgen || cat /proc/sys/kernel/random/uuid)" \\\n'
            '  -d "{\\"commit\\": \\"$COMMIT\\"}" > /tmp/cli-verbs-post.json\n'
            "BUILD_ID=$(.venv/test/bin/python -c \"import json, sys; print(json.load(sys.stdin)['buildId'])\" \\\n"
            "  < /tmp/cli-verbs-post.json)\n"
            'curl -s "${SIGN[@]}" "$API/builds/$BUILD_ID"',
            COMMIT=commit,
        )
    )
    view = json.loads(out)
    assert view["commit"] == commit
    # It leaves nothing in flight for the tests after it: with AutoDeploy, a build landing late would
    # overtake theirs (the later deployment wins).
    wait_for(
        lambda: (
            http("GET", f"{api}/builds/{view['buildId']}")[1]["deploymentStatus"]
            in ("DEPLOYED", "SUPERSEDED", "FAILED")
        ),
        f"{view['buildId']} to finish",
    )


def test_the_plans_start_execution_from_the_cli(stack_outputs, buckets):
    # docs/using.md: start the state machine directly with the plan's input
    global_bucket = stack_outputs["GlobalBuildsBucketName"]
    key = f"cli-start/{uuid.uuid4().hex[:8]}.zip"
    boto3.client("s3").put_object(Bucket=global_bucket, Key=key, Body=b"start-execution")
    destination = next(iter(buckets.values()))
    out = succeeded(
        shell(
            "aws stepfunctions start-execution \\\n"
            '  --state-machine-arn "$(.venv/test/bin/python -m tools.stack ReplicationStateMachineArn)" \\\n'
            '  --input "$INPUT"',
            INPUT=json.dumps({"sourceBucket": global_bucket, "sourceKey": key, "destinationBuckets": [destination]}),
        )
    )
    finished = wait_for(lambda: execution_finished(json.loads(out)["executionArn"]), "the execution")
    assert finished["status"] == "SUCCEEDED", finished


def test_make_invoke_sends_the_samples_filled_in_with_the_newest_build(api, stack_outputs):
    # Given a build that deployed (the newest artifact in the global bucket)
    build_id = http("POST", f"{api}/builds", {"commit": uuid.uuid4().hex[:12]})[1]["buildId"]
    wait_for(lambda: http("GET", f"{api}/builds/{build_id}")[1]["deploymentStatus"] == "DEPLOYED", f"{build_id}")
    pages = boto3.client("stepfunctions").get_paginator("list_executions")

    def executions_of_the_build() -> list[str]:
        return [
            execution["name"]
            for page in pages.paginate(stateMachineArn=stack_outputs["ReplicationStateMachineArn"])
            for execution in page["executions"]
            if execution["name"].startswith(build_id)
        ]

    executions_before = executions_of_the_build()
    port = os.environ["AWS_ENDPOINT_URL"].rsplit(":", 1)[1].rstrip("/")

    def make_invoke(function: str, event: str) -> str:
        run = subprocess.run(
            ["make", "-s", "invoke", f"EMULATOR_PORT={port}", f"FN={function}", f"EVENT={event}"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
        )
        return succeeded(run)

    # When the starter gets the sample S3 event, then it names the execution the real event started
    # and starts none
    out = make_invoke("replication-starter", "events/s3_put.json")
    assert "Traceback" not in out
    assert json.loads(out[out.index("{") : out.index("== logs")])["executions"] == executions_before
    assert executions_of_the_build() == executions_before
    # and the API's GET sample reads that build
    out = make_invoke("api", "events/api_get_build.json")
    assert '"statusCode": 200' in out and build_id in out and "Traceback" not in out
