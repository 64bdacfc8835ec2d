"""The replication workflow's definition: the plan's states, wired to the template, with its
ValidateInput condition evaluated by a JSONata engine on good and bad inputs."""

import json
import re

import jsonata
import pytest
import yaml

from tests.utils import REPO, load_event

DEFINITION = json.loads((REPO / "statemachine" / "replicate_build.asl.json").read_text())
STATES = DEFINITION["States"]


class _CfnLoader(yaml.SafeLoader):
    """Reads template.yaml's short-form intrinsics (!Ref, !Sub, ...) as plain values."""


_CfnLoader.add_multi_constructor(
    "!",
    lambda loader, suffix, node: (
        loader.construct_sequence(node)
        if isinstance(node, yaml.SequenceNode)
        else loader.construct_mapping(node)
        if isinstance(node, yaml.MappingNode)
        else loader.construct_scalar(node)
    ),
)
TEMPLATE = yaml.load((REPO / "template.yaml").read_text(), Loader=_CfnLoader)
REGIONAL_TEMPLATE = yaml.load((REPO / "regional.yaml").read_text(), Loader=_CfnLoader)


def test_the_plans_states_are_all_there():
    for state in [
        "ValidateInput",
        "LogWorkflowStart",
        "CopyToMultipleBuckets",
        "ProcessResults",
        "UpdateDynamoDBFinal",
        "CheckIfAllSuccessful",
        "SendFailureNotification",
    ]:
        assert state in STATES, state
    copy = STATES["CopyToMultipleBuckets"]
    assert copy["Type"] == "Map" and copy["MaxConcurrency"] == 10
    retries = copy["ItemProcessor"]["States"]["CopyToRegionalBucket"]["Retry"]
    assert any(r.get("BackoffRate", 1) > 1 and r["MaxAttempts"] > 0 for r in retries)
    assert copy["ItemProcessor"]["States"]["CopyToRegionalBucket"]["Catch"][0]["ErrorEquals"] == ["States.ALL"]
    assert "Catch" in STATES["SendFailureNotification"]


def test_every_substitution_is_supplied_by_the_template():
    placeholders = set(re.findall(r"\$\{(\w+)\}", json.dumps(DEFINITION)))
    supplied = set(TEMPLATE["Resources"]["ReplicationStateMachine"]["Properties"]["DefinitionSubstitutions"])
    assert placeholders == supplied


def validate(payload) -> bool:
    """Evaluates ValidateInput's condition with the payload as the state input (`$$`, the root)."""
    condition = STATES["ValidateInput"]["Choices"][0]["Condition"]
    expression = condition.removeprefix("{%").removesuffix("%}").replace("$states.input", "$$")
    return bool(jsonata.Jsonata(expression).evaluate(payload))


def test_validate_input_accepts_the_plans_input():
    assert validate(load_event("replication_input.json"))


def test_validate_input_accepts_destinations_with_their_region():
    destinations = [{"bucket": "b-us-west-2", "region": "us-west-2"}, "b-eu-west-1", {"bucket": "b-x"}]
    assert validate({"sourceBucket": "b", "sourceKey": "k", "destinationBuckets": destinations})


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"sourceBucket": "b", "sourceKey": "k"},
        {"sourceBucket": "b", "sourceKey": "k", "destinationBuckets": []},
        {"sourceBucket": "b", "sourceKey": "k", "destinationBuckets": "us-west-2-builds"},
        {"sourceBucket": "b", "sourceKey": "k", "destinationBuckets": ["ok", 7]},
        {"sourceBucket": "b", "sourceKey": "k", "destinationBuckets": ["ok", ""]},
        {"sourceBucket": "", "sourceKey": "k", "destinationBuckets": ["a"]},
        {"sourceBucket": "b", "sourceKey": 12, "destinationBuckets": ["a"]},
        {"sourceBucket": "b", "sourceKey": "k", "destinationBuckets": [{"region": "us-west-2"}]},
        {"sourceBucket": "b", "sourceKey": "k", "destinationBuckets": [{"bucket": "a", "region": 3}]},
    ],
)
def test_validate_input_rejects_incomplete_input(payload):
    assert not validate(payload)


def test_the_templates_keep_the_plans_names():
    resources = TEMPLATE["Resources"]
    assert resources["CopyTrackingTable"]["Properties"]["TableName"].endswith("-FileCopyTracking")
    assert [k["AttributeName"] for k in resources["CopyTrackingTable"]["Properties"]["KeySchema"]] == [
        "fileKey",
        "sourceBucket",
    ]
    regional = REGIONAL_TEMPLATE["Resources"]
    assert regional["HostDeploymentLogsTable"]["Properties"]["TableName"].endswith("-host-deployment-logs")
    assert resources["FileCopyFailuresTopic"]["Properties"]["TopicName"].endswith("-file-copy-failures")
    assert TEMPLATE["Parameters"]["Regions"]["Default"].split(",") == ["us-west-2", "eu-west-1", "ap-southeast-2"]


def test_the_regional_bucket_names_agree_between_the_templates():
    # The global stack's functions name each regional bucket by this pattern; each regional stack makes it.
    pattern = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]["REGIONAL_BUCKET_PATTERN"]
    made = REGIONAL_TEMPLATE["Resources"]["RegionalBuildsBucket"]["Properties"]["BucketName"]
    assert pattern.replace("${AWS::StackName}", "${AppName}").replace("{region}", "${AWS::Region}") == made


def test_no_task_touches_s3_directly():
    # Step Functions' SDK integrations reach only the state machine's region (and on MiniStack a copy
    # into another region's bucket "succeeds" without writing anything): every S3 call is a function's.
    resources = [state.get("Resource", "") for _, state in _all_states(STATES)]
    assert not [resource for resource in resources if ":s3:" in resource]


def _all_states(states: dict):
    for name, state in states.items():
        yield name, state
        if "ItemProcessor" in state:
            yield from _all_states(state["ItemProcessor"]["States"])


def test_every_task_retries_transient_errors_with_backoff_and_jitter():
    tasks = {name: state for name, state in _all_states(STATES) if state["Type"] == "Task"}
    assert len(tasks) >= 6
    for name, task in tasks.items():
        catch_all = [r for r in task.get("Retry", []) if r["ErrorEquals"] == ["States.ALL"]]
        assert catch_all, f"{name} has no retry for transient errors"
        assert catch_all[0]["MaxAttempts"] >= 2 and catch_all[0]["BackoffRate"] >= 2, name
        assert catch_all[0]["JitterStrategy"] == "FULL", name


def test_the_swarm_parameters_the_api_plans_with_are_the_regions_own():
    # The global stack's API predicts deployments with the same P2P settings each regional stack runs.
    shared = ["HostsPerRegion", "SeedHosts", "P2PFanout", "P2PPieceBytes", "P2PHostBandwidthBytesPerSecond"]
    for name in [*shared, "P2PBucketEgressBytesPerSecond"]:
        assert TEMPLATE["Parameters"][name]["Default"] == REGIONAL_TEMPLATE["Parameters"][name]["Default"], name


def test_the_xray_sdk_layer_is_attached_exactly_where_tracing_is_on():
    # The X-Ray SDK is TracingLayer's, which every function gets where TraceDisabled is "false" (AWS)
    # and none gets where it is "true" (the emulator: the functions then never import the SDK).
    for template in (TEMPLATE, REGIONAL_TEMPLATE):
        assert template["Conditions"]["TracingOn"] == ["TraceDisabled", "false"]
        assert template["Resources"]["TracingLayer"]["Condition"] == "TracingOn"
        assert template["Globals"]["Function"]["Layers"] == [
            "CodeDeployLayer",
            ["TracingOn", "TracingLayer", "AWS::NoValue"],
        ]


ROLLOUT = json.loads((REPO / "statemachine" / "roll_out_deployment.asl.json").read_text())


def test_the_rollouts_long_waits_are_one_callback_each_and_no_polling_loop():
    # A bake or a pause is one waitForTaskToken task that times out at its deadline; a Wait state in a loop
    # would grow the execution's history with the wait's length (docs/deployments.md, Long waits).
    states = dict(_all_states(ROLLOUT["States"]))
    assert [name for name, state in states.items() if state["Type"] == "Wait"] == []
    waiting = states["Waiting"]
    assert waiting["Resource"] == "arn:aws:states:::lambda:invoke.waitForTaskToken"
    assert waiting["TimeoutSeconds"] == "{% $states.input.waitSeconds %}"
    assert waiting["Arguments"]["Payload"]["token"] == "{% $states.context.Task.Token %}"
    # its deadline is caught (the region looks again), and only other errors are retried
    assert [catch["ErrorEquals"] for catch in waiting["Catch"]] == [["States.Timeout"]]
    assert [retry["ErrorEquals"] for retry in waiting["Retry"]] == [["States.TaskFailed"]]
