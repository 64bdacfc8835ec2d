"""The agents' role in regional.yaml (AgentRole), read against what the agent does: it may read the region's
builds and its group's goal and update its own host item's attributes, and nothing else. The emulator
enforces no IAM, so this is where the policy is checked (docs/agent.md, IAM)."""

from __future__ import annotations

import fnmatch

import pytest

from code_deploy_agent import host_item
from tests.utils import REPO
from tools.check_asl import load_template

ROLE = load_template(REPO / "regional.yaml")["Resources"]["AgentRole"]["Properties"]
[POLICY] = ROLE["Policies"]
STATEMENTS = {statement["Sid"]: statement for statement in POLICY["PolicyDocument"]["Statement"]}


def actions(statement: dict) -> list[str]:
    return statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]


def allowed(action: str, resource: str = "FleetTable") -> list[dict]:
    """The statements allowing `action`; DynamoDB's on `resource` only."""
    return [
        statement
        for statement in STATEMENTS.values()
        if action in actions(statement)
        and (not action.startswith("dynamodb:") or statement["Resource"] == {"Fn::GetAtt": [resource, "Arn"]})
    ]


def test_only_ec2_instances_take_the_role():
    [trust] = ROLE["AssumeRolePolicyDocument"]["Statement"]
    assert (trust["Principal"], trust["Action"]) == ({"Service": "ec2.amazonaws.com"}, "sts:AssumeRole")


def test_it_allows_what_the_agent_does_and_nothing_more():
    assert all(statement["Effect"] == "Allow" for statement in STATEMENTS.values())
    assert sorted(action for statement in STATEMENTS.values() for action in actions(statement)) == [
        "dynamodb:DeleteItem",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:Query",
        "dynamodb:UpdateItem",
        "s3:GetObject",
        "s3:ListBucket",
    ]


def test_on_the_peers_table_it_announces_claims_and_finds_peers_only():
    [find] = allowed("dynamodb:Query", "PeersTable")
    [announce] = allowed("dynamodb:PutItem", "PeersTable")
    assert actions(find) == ["dynamodb:Query"]
    assert sorted(actions(announce)) == ["dynamodb:DeleteItem", "dynamodb:PutItem"]
    # What AwsPeerDirectory writes (an announcement, an origin slot), nothing else
    written = announce["Condition"]["ForAllValues:StringEquals"]["dynamodb:Attributes"]
    assert set(written) == {"pk", "sk", "hostId", "address", "port", "zone", "seed", "holder", "expiresAt"}
    assert allowed("dynamodb:UpdateItem", "PeersTable") == allowed("dynamodb:GetItem", "PeersTable") == []


@pytest.mark.parametrize(
    "action",
    ["dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:Query", "dynamodb:Scan", "s3:PutObject", "s3:DeleteObject"],
)
def test_it_refuses_writing_goals_reading_other_hosts_and_changing_builds(action):
    assert allowed(action) == []


def test_it_reads_only_the_builds_of_its_regions_bucket():
    [read] = allowed("s3:GetObject")
    assert read["Resource"]["Fn::Sub"].endswith("-builds-${AWS::AccountId}-${AWS::Region}/builds/*")


def test_it_reads_goals_only_not_other_hosts_items():
    [goals] = allowed("dynamodb:GetItem")
    assert goals["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["GOAL#*"]}}
    # The key the agent reads, its shard's copy of its group's goal, is among them; a host item is not
    [pattern] = goals["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
    assert fnmatch.fnmatchcase(host_item.goal_key(host_item.group_shard("web", "i-0abc")), pattern)
    assert not fnmatch.fnmatchcase(host_item.host_key("i-0abc"), pattern)


def test_it_writes_its_own_host_item_only_and_only_the_attributes_the_agent_writes():
    [own] = allowed("dynamodb:UpdateItem")
    condition = own["Condition"]["ForAllValues:StringEquals"]
    assert condition["dynamodb:LeadingKeys"] == ["HOST#${ec2:SourceInstanceARN}"]
    # What the agent writes (its own attribute builders), the key, and nothing the control plane keeps
    # (countedFor: a host must not count its own report) or writes (goals, tallies)
    registration = host_item.registration(
        host_id="h",
        group="g",
        region="r",
        zone="z",
        address="a",
        app_port=1,
        agent_version="v",
        state=host_item.IDLE,
        current_build_id=None,
        previous_build_id=None,
        now=0,
    )
    deployed = host_item.outcome(host_item.Report("d", 1, "b", host_item.DEPLOYED), "b", None)
    failed = host_item.outcome(host_item.Report("d", 1, "b", host_item.FAILED, host_item.CHECKSUM), None, None)
    written = {"pk"} | set(registration) | set(deployed) | set(failed)
    written |= set(host_item.heartbeat(0)) | set(host_item.state_change("X"))
    assert set(condition["dynamodb:Attributes"]) == written
    assert "countedFor" not in condition["dynamodb:Attributes"]
