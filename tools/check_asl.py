"""Checks every state machine definition of the templates as Step Functions will receive it: its
`${...}` DefinitionSubstitutions applied (with values of the right shape: ARNs for ARNs, names for
names, parameters' defaults), then validated by asl-validator, which knows the ASL schema, JSONata
expressions and the states' transitions. `make lint` runs it; a broken definition fails lint, not a
deploy.

    .venv/test/bin/python -m tools.check_asl                    # template.yaml (and regional.yaml if any)
    .venv/test/bin/python -m tools.check_asl other.yaml         # the state machines of other templates

Why not `aws stepfunctions validate-state-machine-definition`: on AWS it is real, but MiniStack
answers OK for any input, even `{"States": {"X": {"Type": "Bogus"}}}`, so locally it checks nothing.
asl-validator reads a JSONata expression as one line (its pattern's `.` stops at a newline), so
the definitions write a newline inside a JSONata string as the escape `\\n`, which JSONata reads the
same way. asl-validator comes from npm, pinned by requirements/asl/package-lock.json and installed in .venv/asl
(scripts/bootstrap.sh asl).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
DEFAULT_TEMPLATES = ("template.yaml", "regional.yaml")
VALIDATOR = REPO / ".venv" / "asl" / "node_modules" / "asl-validator" / "dist" / "bin" / "asl-validator.js"
STATE_MACHINE_TYPES = ("AWS::Serverless::StateMachine", "AWS::StepFunctions::StateMachine")

# Stand-ins for what CloudFormation knows only at deploy time. Any well-formed values do: the validator
# checks the shape of ARNs and expressions, not that the resources exist.
PSEUDO_PARAMETERS = {
    "AWS::AccountId": "123456789012",
    "AWS::Region": "us-east-1",
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "sam-code-deploy",
}
_ARN_BY_TYPE = {
    "AWS::Serverless::Function": "arn:aws:lambda:{region}:{account}:function:{name}",
    "AWS::Lambda::Function": "arn:aws:lambda:{region}:{account}:function:{name}",
    "AWS::DynamoDB::Table": "arn:aws:dynamodb:{region}:{account}:table/{name}",
    "AWS::Serverless::SimpleTable": "arn:aws:dynamodb:{region}:{account}:table/{name}",
    "AWS::SNS::Topic": "arn:aws:sns:{region}:{account}:{name}",
    "AWS::SQS::Queue": "arn:aws:sqs:{region}:{account}:{name}",
    "AWS::S3::Bucket": "arn:aws:s3:::{name}",
    "AWS::Serverless::StateMachine": "arn:aws:states:{region}:{account}:stateMachine:{name}",
    "AWS::StepFunctions::StateMachine": "arn:aws:states:{region}:{account}:stateMachine:{name}",
    "AWS::Events::EventBus": "arn:aws:events:{region}:{account}:event-bus/{name}",
}
# What !Ref answers for the types whose Ref is an ARN or a URL rather than a name.
_REF_BY_TYPE = {
    "AWS::SNS::Topic": _ARN_BY_TYPE["AWS::SNS::Topic"],
    "AWS::Serverless::StateMachine": _ARN_BY_TYPE["AWS::Serverless::StateMachine"],
    "AWS::StepFunctions::StateMachine": _ARN_BY_TYPE["AWS::StepFunctions::StateMachine"],
    "AWS::SQS::Queue": "https://sqs.{region}.amazonaws.com/{account}/{name}",
}
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_:.]+)\}")


class DefinitionError(Exception):
    """A definition that cannot be checked as deployed (a substitution missing or unresolvable)."""


class _CfnLoader(yaml.SafeLoader):
    """Reads a template's short-form intrinsics (!Ref X, !GetAtt X.Arn, !Sub ...) as their long forms."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict:
    if isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    elif isinstance(node, yaml.MappingNode):
        value = loader.construct_mapping(node, deep=True)
    else:
        value = loader.construct_scalar(node)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


_CfnLoader.add_multi_constructor("!", _intrinsic)


def load_template(path: Path) -> dict:
    return yaml.load(path.read_text(), Loader=_CfnLoader)  # a SafeLoader subclass: no arbitrary objects


class _Resolver:
    """Resolves a substitution's value as CloudFormation would, with stand-ins for deploy-time values."""

    def __init__(self, template: dict) -> None:
        self.parameters = template.get("Parameters", {})
        self.resources = {k: v for k, v in template.get("Resources", {}).items() if isinstance(v, dict)}

    def value(self, spec: object) -> str:
        if isinstance(spec, str | int | float | bool):
            return str(spec).lower() if isinstance(spec, bool) else str(spec)
        if isinstance(spec, dict) and len(spec) == 1:
            [(function, argument)] = spec.items()
            if function == "Ref":
                return self.ref(argument)
            if function == "Fn::GetAtt":
                return self.get_att(*argument)
            if function == "Fn::Sub":
                return self.sub(argument)
        raise DefinitionError(f"cannot resolve {json.dumps(spec)}: only !Ref, !GetAtt X.Arn, !Sub and literals")

    def ref(self, name: str) -> str:
        if name in PSEUDO_PARAMETERS:
            return PSEUDO_PARAMETERS[name]
        if name in self.parameters:
            if "Default" not in self.parameters[name]:
                raise DefinitionError(f"parameter {name} has no Default to check the definition with")
            return self.value(self.parameters[name]["Default"])
        if name in self.resources:
            return self._format(_REF_BY_TYPE.get(self.resources[name].get("Type"), "{name}"), name)
        raise DefinitionError(f"!Ref {name}: no such parameter or resource")

    def get_att(self, name: str, attribute: str) -> str:
        resource_type = self.resources.get(name, {}).get("Type")
        if attribute == "Arn" and resource_type in _ARN_BY_TYPE:
            return self._format(_ARN_BY_TYPE[resource_type], name)
        if attribute == "Name" and resource_type is not None:
            return self._format("{name}", name)
        raise DefinitionError(f"!GetAtt {name}.{attribute}: not a known attribute of {resource_type or 'nothing'}")

    def sub(self, argument: str | list) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        resolved = {key: self.value(value) for key, value in variables.items()}

        def replace(match: re.Match) -> str:
            name = match.group(1)
            if name in resolved:
                return resolved[name]
            if "." in name:
                return self.get_att(*name.split(".", 1))
            return self.ref(name)

        return _PLACEHOLDER.sub(replace, text)

    def _format(self, pattern: str, logical_id: str) -> str:
        name = f"{PSEUDO_PARAMETERS['AWS::StackName']}-{logical_id}"
        region, account = PSEUDO_PARAMETERS["AWS::Region"], PSEUDO_PARAMETERS["AWS::AccountId"]
        return pattern.format(region=region, account=account, name=name)


def deployed_definition(template_path: Path, properties: dict) -> str:
    """The definition's text with its substitutions applied, as Step Functions receives it."""
    if "DefinitionUri" in properties:
        text = (template_path.parent / properties["DefinitionUri"]).read_text()
    else:
        text = json.dumps(properties["Definition"])
    substitutions = properties.get("DefinitionSubstitutions", {})
    missing = sorted(set(_PLACEHOLDER.findall(text)) - set(substitutions))
    if missing:
        raise DefinitionError(f"no DefinitionSubstitutions entry for {', '.join('${' + m + '}' for m in missing)}")
    resolver = _Resolver(load_template(template_path))
    values = {name: resolver.value(spec) for name, spec in substitutions.items()}
    return _PLACEHOLDER.sub(lambda match: values[match.group(1)], text)


def validate(definition: str) -> tuple[bool, str]:
    """asl-validator's verdict and report on one definition."""
    if not VALIDATOR.exists():
        raise SystemExit(f"asl-validator is not installed at {VALIDATOR}: run scripts/bootstrap.sh asl")
    with tempfile.NamedTemporaryFile("w", suffix=".asl.json") as file:
        file.write(definition)
        file.flush()
        run = subprocess.run(["node", str(VALIDATOR), "--json-path", file.name], capture_output=True, text=True)
    report = (run.stdout + run.stderr).replace(file.name, "definition").strip()
    return run.returncode == 0, report


def check_template(template_path: Path) -> list[str]:
    """One line per state machine of the template, each starting with 'ok' or 'INVALID'."""
    lines = []
    for logical_id, resource in load_template(template_path).get("Resources", {}).items():
        if not isinstance(resource, dict) or resource.get("Type") not in STATE_MACHINE_TYPES:
            continue
        properties = resource.get("Properties", {})
        source = properties.get("DefinitionUri", "inline Definition")
        where = f"{template_path.name} {logical_id} ({source}, {len(properties.get('DefinitionSubstitutions', {}))}"
        where += " substitutions)"
        try:
            valid, report = validate(deployed_definition(template_path, properties))
        except DefinitionError as error:
            valid, report = False, str(error)
        lines.append(f"ok       {where}" if valid else f"INVALID  {where}\n{report}")
    return lines


def main(argv: list[str]) -> int:
    templates = [Path(p) for p in argv] or [REPO / name for name in DEFAULT_TEMPLATES if (REPO / name).exists()]
    lines = [line for template in templates for line in check_template(template.resolve())]
    if not lines:
        print(f"no state machine in {', '.join(map(str, templates))}", file=sys.stderr)
        return 1
    print("\n".join(lines))
    return 0 if all(line.startswith("ok") for line in lines) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
