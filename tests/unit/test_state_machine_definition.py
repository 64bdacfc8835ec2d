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
    retries = copy["ItemProcessor"]["States"]["CopyObject"]["Retry"]
    assert any(r.get("BackoffRate", 1) > 1 and r["MaxAttempts"] > 0 for r in retries)
    assert copy["ItemProcessor"]["States"]["CopyObject"]["Catch"][0]["ErrorEquals"] == ["States.ALL"]
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


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"sourceBucket": "b", "sourceKey": "k"},
        {"sourceBucket": "b", "sourceKey": "k", "destinationBuckets": []},
        {"sourceBucket": "b", "sourceKey": "k", "destinationBuckets": "region-a-builds"},
        {"sourceBucket": "b", "sourceKey": "k", "destinationBuckets": ["ok", 7]},
        {"sourceBucket": "b", "sourceKey": "k", "destinationBuckets": ["ok", ""]},
        {"sourceBucket": "", "sourceKey": "k", "destinationBuckets": ["a"]},
        {"sourceBucket": "b", "sourceKey": 12, "destinationBuckets": ["a"]},
    ],
)
def test_validate_input_rejects_incomplete_input(payload):
    assert not validate(payload)


def test_the_template_keeps_the_plans_names():
    resources = TEMPLATE["Resources"]
    assert resources["CopyTrackingTable"]["Properties"]["TableName"].endswith("-FileCopyTracking")
    assert [k["AttributeName"] for k in resources["CopyTrackingTable"]["Properties"]["KeySchema"]] == [
        "fileKey",
        "sourceBucket",
    ]
    assert resources["HostDeploymentLogsTable"]["Properties"]["TableName"].endswith("-host-deployment-logs")
    assert resources["FileCopyFailuresTopic"]["Properties"]["TopicName"].endswith("-file-copy-failures")
    assert TEMPLATE["Parameters"]["Regions"]["Default"].split(",")[:2] == ["region-a", "region-b"]


@pytest.mark.parametrize("size,method", [(0, "CopyObject"), (100, "CopyObject"), (101, "MultipartCopy")])
def test_artifacts_above_the_threshold_take_the_multipart_copy(size, method):
    choose = STATES["CopyToMultipleBuckets"]["ItemProcessor"]["States"]["ChooseCopyMethod"]
    condition = choose["Choices"][0]["Condition"].removeprefix("{%").removesuffix("%}")
    expression = condition.replace("${MultipartCopyThresholdBytes}", "100").replace("$states.input", "$$")
    chosen = (
        choose["Choices"][0]["Next"]
        if jsonata.Jsonata(expression).evaluate({"sourceSize": size})
        else choose["Default"]
    )
    assert chosen == method


def _all_states(states: dict):
    for name, state in states.items():
        yield name, state
        if "ItemProcessor" in state:
            yield from _all_states(state["ItemProcessor"]["States"])


def test_every_task_retries_transient_errors_with_backoff_and_jitter():
    tasks = {name: state for name, state in _all_states(STATES) if state["Type"] == "Task"}
    assert len(tasks) >= 7
    for name, task in tasks.items():
        catch_all = [r for r in task.get("Retry", []) if r["ErrorEquals"] == ["States.ALL"]]
        assert catch_all, f"{name} has no retry for transient errors"
        assert catch_all[0]["MaxAttempts"] >= 2 and catch_all[0]["BackoffRate"] >= 2, name
        assert catch_all[0]["JitterStrategy"] == "FULL", name
