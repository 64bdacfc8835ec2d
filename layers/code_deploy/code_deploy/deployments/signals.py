"""What a deployment's health gates read beside its hosts' reports, and what it tells the world: the
CloudWatch alarms it names (any in ALARM during a wave or its bake fails the gate), each wave's failure
rate as a metric (an alarm of the stack's watches it), and its events on the deployment-events topic.

The events' schema (docs/deployments.md, "Deployment events"), one JSON message each:
    {"schema": 1, "event": STARTED | WAVE_PASSED | PAUSED | ROLLED_BACK | SUCCEEDED | ABORTED | FAILED |
     SUPERSEDED, "deploymentId", "buildId", "status", "at", "region"?, "wave"?, "reason"?, "by"?}
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from code_deploy.builds.model import utc_now

EVENT_SCHEMA = 1
# The metric a wave's failure rate is published as (namespace: the stack's), which the stack's
# wave-failure-rate alarm watches.
WAVE_FAILURE_METRIC = "WaveFailurePercent"


@dataclass(frozen=True)
class Signals:
    """`alarms_firing(names, regions)`: those of `names` in ALARM in the home region or any of `regions`;
    `publish(event)`: one deployment event on the topic; `wave_failure(region, percent)`: the metric."""

    alarms_firing: Callable[[tuple[str, ...], tuple[str, ...]], list[str]]
    publish: Callable[[dict[str, Any]], None]
    wave_failure: Callable[[str, float], None]


def event(kind: str, deployment: Any, **detail: Any) -> dict[str, Any]:
    """A deployment event (the schema above) of `deployment` (a store.Deployment): region, wave (1-based),
    reason and by in `detail` where they apply."""
    return {
        "schema": EVENT_SCHEMA,
        "event": kind,
        "deploymentId": deployment.deployment_id,
        "buildId": deployment.build_id,
        "status": str(detail.pop("status", deployment.status)),
        "at": utc_now(),
    } | {name: value for name, value in detail.items() if value is not None}


def firing_alarms(cloudwatch_in: Callable[[str], Any], names: tuple[str, ...], regions: tuple[str, ...]) -> list[str]:
    """Of the alarms `names`, those in ALARM in any of `regions` (the home region first), read with
    `cloudwatch_in(region)`: one DescribeAlarms a region (an alarm lives in the region it was made in)."""
    firing: list[str] = []
    for region in dict.fromkeys(regions):
        pages = cloudwatch_in(region).get_paginator("describe_alarms")
        for page in pages.paginate(AlarmNames=list(names), AlarmTypes=["MetricAlarm"]):
            firing += [
                alarm["AlarmName"]
                for alarm in page["MetricAlarms"]
                if alarm["StateValue"] == "ALARM" and alarm["AlarmName"] not in firing
            ]
    return firing


def unknown_alarms(cloudwatch_in: Callable[[str], Any], names: tuple[str, ...], regions: tuple[str, ...]) -> list[str]:
    """Of the alarms `names`, those that exist in none of `regions`."""
    found: set[str] = set()
    for region in dict.fromkeys(regions):
        pages = cloudwatch_in(region).get_paginator("describe_alarms")
        for page in pages.paginate(AlarmNames=list(names), AlarmTypes=["MetricAlarm"]):
            found |= {alarm["AlarmName"] for alarm in page["MetricAlarms"]}
    return [name for name in names if name not in found]


@dataclass(frozen=True)
class Outlets:
    """Where the signals go on AWS: the deployment-events topic, the metrics' namespace, the home region."""

    events_topic_arn: str
    metrics_namespace: str
    home_region: str


def from_aws(client: Callable[[str, str], Any], outlets: Outlets) -> Signals:
    """The signals over AWS, `client(service, region)` making each client: alarms read in the home region
    and the deployment's regions, events published on the topic, the wave's failure rate put as a metric
    (once for every region, which the stack's alarm watches, and once with the region)."""

    def alarms_firing(names: tuple[str, ...], regions: tuple[str, ...]) -> list[str]:
        return firing_alarms(lambda region: client("cloudwatch", region), names, (outlets.home_region, *regions))

    def publish(deployment_event: dict[str, Any]) -> None:
        subject = f"Deployment {deployment_event['deploymentId']}: {deployment_event['event']}"
        client("sns", outlets.home_region).publish(
            TopicArn=outlets.events_topic_arn,
            Subject=subject[:100],
            Message=json.dumps(deployment_event),
            MessageAttributes={"event": {"DataType": "String", "StringValue": deployment_event["event"]}},
        )

    def wave_failure(region: str, percent: float) -> None:
        datum = {"MetricName": WAVE_FAILURE_METRIC, "Value": percent, "Unit": "Percent"}
        client("cloudwatch", outlets.home_region).put_metric_data(
            Namespace=outlets.metrics_namespace,
            MetricData=[datum, datum | {"Dimensions": [{"Name": "Region", "Value": region}]}],
        )

    return Signals(alarms_firing, publish, wave_failure)
