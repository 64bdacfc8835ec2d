"""The global stack's alarms and dashboard, as deployed: each alarm watches its queue or the replication
state machine and notifies the file-copy-failures topic; the dashboard charts the Powertools metrics."""

from __future__ import annotations

import json

import boto3

from tools.stack import stack_name


def test_the_alarms_watch_the_dead_letters_the_failed_events_and_the_replication_and_notify_the_topic(
    stack_outputs,
):
    # Given the deployed global stack
    sqs = boto3.client("sqs")
    queue_names = {
        output: sqs.get_queue_attributes(QueueUrl=stack_outputs[output], AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ].split(":")[-1]
        for output in ("BuildDeadLetterQueueUrl", "FailedEventsQueueUrl")
    }
    # When its alarms are read
    alarms = {
        alarm["AlarmName"]: alarm
        for alarm in boto3.client("cloudwatch").describe_alarms(AlarmNamePrefix=f"{stack_name()}-")["MetricAlarms"]
    }
    # Then each watches what it names and notifies the topic on the first occurrence
    watched = {
        f"{stack_name()}-build-dead-letters": ("AWS/SQS", "QueueName", queue_names["BuildDeadLetterQueueUrl"]),
        f"{stack_name()}-failed-events": ("AWS/SQS", "QueueName", queue_names["FailedEventsQueueUrl"]),
        f"{stack_name()}-replication-failures": (
            "AWS/States",
            "StateMachineArn",
            stack_outputs["ReplicationStateMachineArn"],
        ),
    }
    for name, (namespace, dimension, value) in watched.items():
        alarm = alarms.get(name)
        assert alarm, f"no alarm {name} among {sorted(alarms)}"
        assert (alarm["Namespace"], alarm["Dimensions"]) == (namespace, [{"Name": dimension, "Value": value}])
        assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (0, "GreaterThanThreshold")
        assert alarm["AlarmActions"] == [stack_outputs["FileCopyFailuresTopicArn"]]


def test_the_dashboard_charts_builds_copies_and_each_regions_rollouts(stack_outputs):
    body = json.loads(
        boto3.client("cloudwatch").get_dashboard(DashboardName=stack_outputs["OperationsDashboardName"])[
            "DashboardBody"
        ]
    )
    metrics = [metric for widget in body["widgets"] for metric in widget["properties"]["metrics"]]
    names = {metric[1] for metric in metrics if metric[0] != "."}
    assert {
        "BuildsSubmitted",
        "BuildsSucceeded",
        "BuildsFailed",
        "CopiesFailed",
        "HostsDeployed",
        "RolloutSeconds",
    } <= (names)
    # one line a region for what the regional syncs report in their own regions
    for metric_name in ("HostsDeployed", "RolloutSeconds"):
        widget = next(w for w in body["widgets"] if w["properties"]["metrics"][0][1] == metric_name)
        regions = [metric[-1]["region"] for metric in widget["properties"]["metrics"]]
        assert regions == stack_outputs["RegionNames"].split(",")
