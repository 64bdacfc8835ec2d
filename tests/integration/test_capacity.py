"""The capacity model's counts for the deployed stack's own settings against what one real build left
behind on it: records, executions, state transitions, copies and bytes (docs/capacity.md)."""

from __future__ import annotations

import secrets
from dataclasses import replace

import boto3
from boto3.dynamodb.conditions import Key

from capacity import model, scenarios, templates
from code_deploy.builds import store as build_store
from code_deploy.replication.model import execution_name
from tests.integration.helpers import copy_tracking, count_host_records, http, wait_for


def test_one_build_leaves_what_the_model_counts(api, stack_outputs, buckets, hosts_per_region):
    # Given the model for the stack as deployed: its regions and hosts over the template's defaults
    template, parameters = templates.template_settings(
        overrides={"HostsPerRegion": str(hosts_per_region), "Regions": ",".join(buckets)}
    )
    # When one build is submitted and deployed
    status, accepted = http("POST", f"{api}/builds", {"commit": secrets.token_hex(20)})
    assert status == 202, accepted
    build_id = accepted["buildId"]

    def deployed():
        code, view = http("GET", f"{api}/builds/{build_id}")
        assert code == 200 and view["deploymentStatus"] != "FAILED", view
        return view if view["deploymentStatus"] == "DEPLOYED" else None

    view = wait_for(deployed, f"build {build_id} to be DEPLOYED")
    artifact = view["artifact"]
    scenario = replace(scenarios.local_scenario(parameters), artifact_bytes=artifact["sizeBytes"])
    expected = model.counts(scenario, template, model.Assumptions())
    assert scenario.regions == len(buckets) and scenario.hosts_per_region == hosts_per_region

    # Then it left exactly what the model counts
    # (the build record keeps the build's own steps; the API adds the deployment's, dated by other records)
    stored_history = [c for c in view["statusHistory"] if c["status"] not in ("REPLICATING", "ROLLING_OUT", "DEPLOYED")]
    assert len(stored_history) == expected.status_history_entries
    builds = boto3.resource("dynamodb").Table(stack_outputs["BuildsTableName"])
    items = builds.query(KeyConditionExpression=Key("build_id").eq(build_id), ConsistentRead=True)["Items"]
    assert sum(item["record"] == build_store.BUILD_RECORD for item in items) == expected.build_records
    assert (
        sum(item["record"].startswith(build_store.ROLLOUT_RECORD_PREFIX) for item in items)
        == expected.rollout_summaries
    )
    assert count_host_records(stack_outputs, build_id, buckets) == expected.host_records == expected.host_record_items

    tracking = copy_tracking(stack_outputs, artifact["key"])
    assert tracking and int(tracking["successfulCopies"]) == expected.artifact_copies

    s3 = boto3.client("s3")
    # the global bucket's object, and each region's copy, asked in its region
    objects = [(None, artifact["bucket"]), *buckets.items()]
    versions = [
        boto3.client("s3", region_name=region).list_object_versions(Bucket=bucket, Prefix=artifact["key"])["Versions"]
        for region, bucket in objects
    ]
    assert sum(len(found) for found in versions) == expected.artifact_objects
    assert sum(found[0]["Size"] for found in versions) == expected.stored_artifact_bytes

    # and one replication execution, which entered the states the model bills as transitions
    sfn = boto3.client("stepfunctions")
    version = s3.head_object(Bucket=artifact["bucket"], Key=artifact["key"])["VersionId"]
    name = execution_name(artifact["bucket"], artifact["key"], version)
    executions = [
        execution
        for page in sfn.get_paginator("list_executions").paginate(
            stateMachineArn=stack_outputs["ReplicationStateMachineArn"]
        )
        for execution in page["executions"]
        if execution["name"] == name
    ]
    assert len(executions) == expected.replication_executions
    events = [
        event
        for page in sfn.get_paginator("get_execution_history").paginate(executionArn=executions[0]["executionArn"])
        for event in page["events"]
    ]
    entered = [event for event in events if event["type"].endswith("StateEntered")]
    # MiniStack (1.5.33) records no events for the states inside an inline Map's iterations, which AWS
    # records and bills as transitions: the states outside the Map are compared here, the Map's items
    # (one a destination) through the copies counted above.
    per_destination = template.replication_transitions_per_destination * expected.artifact_copies
    assert len(entered) == expected.replication_state_transitions - per_destination, [e["type"] for e in events]
