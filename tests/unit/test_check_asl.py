"""`make lint`'s ASL check (tools/check_asl.py): the definitions as deployed pass, broken ones fail."""

import json

import pytest
import yaml

from tests.utils import REPO
from tools import check_asl

DEFINITION = json.loads((REPO / "statemachine" / "replicate_build.asl.json").read_text())


def template_with(tmp_path, definition: dict, substitutions: dict | None = None):
    """A copy of template.yaml next to a definition file of its own (the one state machine's DefinitionUri)."""
    (tmp_path / "statemachine").mkdir()
    (tmp_path / "statemachine" / "replicate_build.asl.json").write_text(json.dumps(definition))
    rollout = REPO / "statemachine" / "roll_out_deployment.asl.json"  # the other state machine, as it is
    (tmp_path / "statemachine" / rollout.name).write_text(rollout.read_text())
    text = (REPO / "template.yaml").read_text()
    if substitutions is not None:
        template = check_asl.load_template(REPO / "template.yaml")
        template["Resources"]["ReplicationStateMachine"]["Properties"]["DefinitionSubstitutions"] = substitutions
        text = yaml.safe_dump(template)
    (tmp_path / "template.yaml").write_text(text)
    return tmp_path / "template.yaml"


def test_the_projects_definitions_pass(capsys):
    assert check_asl.main([]) == 0
    assert "ok       template.yaml ReplicationStateMachine" in capsys.readouterr().out


def test_substitutions_get_values_of_the_right_shape():
    properties = check_asl.load_template(REPO / "template.yaml")["Resources"]["ReplicationStateMachine"]["Properties"]
    text = check_asl.deployed_definition(REPO / "template.yaml", properties)
    assert "${" not in text
    assert "arn:aws:sns:us-east-1:123456789012:sam-code-deploy-FileCopyFailuresTopic" in text
    assert "arn:aws:lambda:us-east-1:123456789012:function:sam-code-deploy-RegionalCopyFunction" in text
    assert '"TableName": "sam-code-deploy-CopyTrackingTable"' in text


@pytest.mark.parametrize(
    ("break_it", "words"),
    [
        (lambda d: d["States"].update(X={"Type": "Bogus"}), "/States/X/Type is invalid"),
        (lambda d: d["States"]["ValidateInput"].update(Default="NoSuchState"), "NoSuchState"),
        (
            lambda d: d["States"]["CheckIfAllSuccessful"]["Choices"][0].update(Condition="{% $failedCount > %}"),
            "Condition is invalid",
        ),
        (lambda d: d.pop("StartAt"), "StartAt"),
    ],
)
def test_a_broken_definition_fails_with_the_validators_report(tmp_path, capsys, break_it, words):
    # Given the project's template with a broken definition
    definition = json.loads(json.dumps(DEFINITION))
    break_it(definition)
    template = template_with(tmp_path, definition)
    # When it is checked, then the check fails and says where
    assert check_asl.main([str(template)]) == 1
    out = capsys.readouterr().out
    assert "INVALID  template.yaml ReplicationStateMachine" in out
    assert words in out


def test_a_placeholder_without_its_substitution_fails(tmp_path, capsys):
    definition = json.loads(json.dumps(DEFINITION))
    definition["States"]["SendFailureNotification"]["Arguments"]["TopicArn"] = "${NoSuchTopicArn}"
    assert check_asl.main([str(template_with(tmp_path, definition))]) == 1
    assert "no DefinitionSubstitutions entry for ${NoSuchTopicArn}" in capsys.readouterr().out


def test_an_unresolvable_substitution_fails(tmp_path, capsys):
    substitutions = dict(
        check_asl.load_template(REPO / "template.yaml")["Resources"]["ReplicationStateMachine"]["Properties"][
            "DefinitionSubstitutions"
        ],
        FailureTopicArn={"Ref": "NoSuchResource"},
    )
    assert check_asl.main([str(template_with(tmp_path, DEFINITION, substitutions))]) == 1
    assert "!Ref NoSuchResource: no such parameter or resource" in capsys.readouterr().out
