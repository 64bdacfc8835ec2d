"""The templates as the capacity model sees them: template.yaml's and regional.yaml's functions and
parameters, and the replication and rollout workflows' ASL, read as CloudFormation reads them into the
model's `TemplateSettings`, so the model follows the code instead of a copy of its numbers."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from capacity.model import FunctionSettings, RolloutShape, TemplateSettings
from code_deploy.settings import RegionalSyncSettings

REPO = Path(__file__).resolve().parent.parent
TEMPLATES = ("template.yaml", "regional.yaml")  # the global stack's and a region's
REPLICATION_ASL = "statemachine/replicate_build.asl.json"
ROLLOUT_ASL = "statemachine/roll_out_deployment.asl.json"
INLINE_MAP_MAX_CONCURRENCY = 40  # an inline Map's most iterations at once, when MaxConcurrency is unset (0)


class _TemplateLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short tags (!Ref, !Sub, ...), each read as {"Fn::<tag>": value}."""


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {suffix: value}


_TemplateLoader.add_multi_constructor("!", _tag)


def load_template(path: Path) -> dict[str, Any]:
    return yaml.load(path.read_text(), Loader=_TemplateLoader)


def _resources(templates: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for template in templates:
        found.update(template.get("Resources", {}))
    return found


def _parameter_defaults(templates: list[dict[str, Any]], overrides: dict[str, str]) -> dict[str, Any]:
    defaults: dict[str, Any] = {}
    for template in templates:
        for name, parameter in template.get("Parameters", {}).items():
            defaults.setdefault(name, parameter.get("Default"))
    return {**defaults, **overrides}


def _function(templates: list[dict[str, Any]], resources: dict[str, dict[str, Any]], name: str) -> FunctionSettings:
    properties = resources[name]["Properties"]
    defaults: dict[str, Any] = {}
    for template in templates:
        if name in template.get("Resources", {}):
            defaults = template.get("Globals", {}).get("Function", {})
    return FunctionSettings(
        memory_mb=int(properties.get("MemorySize", defaults.get("MemorySize", 128))),
        timeout_seconds=int(properties.get("Timeout", defaults.get("Timeout", 3))),
    )


def _happy_path(states: dict[str, Any], start: str) -> list[str]:
    """The states a successful run enters: each Choice's first rule (the ASL's success case comes first)."""
    path, name = [], start
    while name:
        state = states[name]
        path.append(name)
        if state["Type"] == "Choice":
            name = state["Choices"][0]["Next"]
        elif state.get("End") or state["Type"] in ("Succeed", "Fail"):
            name = ""
        else:
            name = state["Next"]
    return path


def _invokes_lambda(state: dict[str, Any]) -> bool:
    return state["Type"] == "Task" and "lambda:invoke" in state.get("Resource", "")


# A Choice rule on the last step's answer: JSONata's "$states.input.next = 'WAVE'", or JSONPath's
# {"Variable": "$.next", "StringEquals": "WAVE"}.
_ANSWER_RULE = re.compile(r"\.next\s*=\s*'([A-Z_]+)'")


def _rule_answer(rule: dict[str, Any]) -> str | None:
    if "StringEquals" in rule and rule.get("Variable", "").endswith(".next"):
        return rule["StringEquals"]
    found = _ANSWER_RULE.search(str(rule.get("Condition", "")))
    return found.group(1) if found else None


def _answered_path(states: dict[str, Any], start: str, answers: Iterator[str]) -> list[str]:
    """The states a run enters when its Lambda tasks answer, in turn, `answers` (their `next`): each
    Choice takes the rule on the last answer, or its Default. Waits are passed through."""
    path, name, answer = [], start, None
    while name:
        state = states[name]
        path.append(name)
        if state["Type"] == "Choice":
            # A rule on no answer (the rollout's Begin: an undo's own execution) is not a successful run's path.
            name = next(
                (rule["Next"] for rule in state["Choices"] if answer is not None and _rule_answer(rule) == answer),
                state["Default"],
            )
            continue
        if _invokes_lambda(state):
            answer = next(answers, None)
        name = "" if state.get("End") or state["Type"] in ("Succeed", "Fail") else state["Next"]
    return path


def _processor(state: dict[str, Any]) -> dict[str, Any]:
    return state.get("ItemProcessor") or state["Iterator"]


def rollout_shape(definition: dict[str, Any]) -> RolloutShape:
    """What a rollout that succeeds does, read from its ASL: the states it enters and the deployment
    step's invocations, outside its Maps, per region wave (the outer Map's item) and per region (the inner
    Map's item), whose Wave task answers WAVE until the last wave and then END (no bake, no pause)."""

    def walk(states: dict[str, Any], start: str, answers: list[str]) -> tuple[list[dict], list[dict]]:
        path = [states[name] for name in _answered_path(states, start, iter(answers))]
        return path, [state for state in path if state["Type"] == "Map"]

    top, outer = walk(definition["States"], definition["StartAt"], [])
    if len(outer) != 1:
        raise ValueError("the rollout workflow should map its region waves in one Map state")
    region_wave, inner = walk(_processor(outer[0])["States"], _processor(outer[0])["StartAt"], [])
    if len(inner) != 1:
        raise ValueError("a region wave should map its regions in one Map state")
    regions = _processor(inner[0])

    def region(waves: int) -> list[dict]:
        return walk(regions["States"], regions["StartAt"], ["WAVE"] * (waves - 1) + ["END"])[0]

    one, two = region(1), region(2)
    per_wave_states = len(two) - len(one)
    per_wave_calls = sum(map(_invokes_lambda, two)) - sum(map(_invokes_lambda, one))
    return RolloutShape(
        fixed_states=len(top),
        fixed_invocations=sum(map(_invokes_lambda, top)),
        states_per_region_wave=len(region_wave),
        states_per_region=len(one) - per_wave_states,
        states_per_wave=per_wave_states,
        invocations_per_region=sum(map(_invokes_lambda, one)) - per_wave_calls,
        invocations_per_wave=per_wave_calls,
    )


@dataclass(frozen=True)
class ReplicationShape:
    """What a successful replication does, read from its ASL."""

    top_level_states: int  # states entered outside the Map
    states_per_destination: int  # states one Map item enters
    map_max_concurrency: int
    every_copy_invokes_a_function: bool  # each item's path calls Lambda, whatever the artifact's size
    step_invocations: int = 0  # Lambda tasks outside the Map: AutoDeploy's call of the deployment step


def replication_shape(definition: dict[str, Any]) -> ReplicationShape:
    path = _happy_path(definition["States"], definition["StartAt"])
    maps = [definition["States"][name] for name in path if definition["States"][name]["Type"] == "Map"]
    if len(maps) != 1:
        raise ValueError("the replication workflow should copy in exactly one Map state")
    processor = maps[0].get("ItemProcessor") or maps[0]["Iterator"]
    per_item = [processor["States"][name] for name in _happy_path(processor["States"], processor["StartAt"])]
    # Without a Choice on the way, the first (successful) path is every item's path.
    every_copy_invokes = all(state["Type"] != "Choice" for state in per_item) and any(
        "lambda:invoke" in state.get("Resource", "") for state in per_item
    )
    return ReplicationShape(
        top_level_states=len(path),
        states_per_destination=len(per_item),
        map_max_concurrency=int(maps[0].get("MaxConcurrency", 0)) or INLINE_MAP_MAX_CONCURRENCY,
        every_copy_invokes_a_function=every_copy_invokes,
        step_invocations=sum(_invokes_lambda(definition["States"][name]) for name in path),
    )


def _copy_function(resources: dict[str, dict[str, Any]]) -> str:
    """The function the replication workflow invokes to copy: the one its DefinitionSubstitutions name."""
    state_machine = next(
        resource for resource in resources.values() if resource["Type"] == "AWS::Serverless::StateMachine"
    )
    for value in state_machine["Properties"].get("DefinitionSubstitutions", {}).values():
        if isinstance(value, dict) and "GetAtt" in value:
            target = value["GetAtt"]
            name = (target if isinstance(target, str) else target[0]).split(".")[0]
            if resources.get(name, {}).get("Type") == "AWS::Serverless::Function":
                return name
    raise ValueError("the replication state machine invokes no function of the template")


def template_settings(repo: Path = REPO, overrides: dict[str, str] | None = None) -> tuple[TemplateSettings, dict]:
    """The model's TemplateSettings and the parameters' values (defaults, then overrides)."""
    templates = [load_template(repo / name) for name in TEMPLATES if (repo / name).exists()]
    resources = _resources(templates)
    parameters = _parameter_defaults(templates, overrides or {})
    shape = replication_shape(json.loads((repo / REPLICATION_ASL).read_text()))
    rollout = rollout_shape(json.loads((repo / ROLLOUT_ASL).read_text()))
    queue_event = next(
        event["Properties"]
        for event in resources["BuildWorkerFunction"]["Properties"]["Events"].values()
        if event["Type"] == "SQS"
    )
    sync_defaults = RegionalSyncSettings.model_fields["write_workers"].default
    settings = TemplateSettings(
        api=_function(templates, resources, "ApiFunction"),
        build_worker=_function(templates, resources, "BuildWorkerFunction"),
        replication_starter=_function(templates, resources, "ReplicationStarterFunction"),
        copy=_function(templates, resources, _copy_function(resources)),
        regional_sync=_function(templates, resources, "RegionalSyncFunction"),
        deployment_step=_function(templates, resources, "DeploymentStepFunction"),
        copy_function_for_every_copy=shape.every_copy_invokes_a_function,
        multipart_copy_threshold_bytes=int(parameters["MultipartCopyThresholdBytes"]),
        multipart_copy_part_bytes=int(parameters["MultipartCopyPartBytes"]),
        replication_top_level_transitions=shape.top_level_states,
        replication_transitions_per_destination=shape.states_per_destination,
        replication_map_max_concurrency=shape.map_max_concurrency,
        auto_deploy_invocations=shape.step_invocations,
        rollout=rollout,
        api_rate_limit=float(parameters["ApiThrottlingRateLimit"]),
        api_burst_limit=int(parameters["ApiThrottlingBurstLimit"]),
        build_queue_batch_size=int(queue_event.get("BatchSize", 10)),
        hosts_per_region_max=int(
            next(t["Parameters"]["HostsPerRegion"] for t in templates if "HostsPerRegion" in t.get("Parameters", {}))[
                "MaxValue"
            ]
        ),
        host_record_writers=int(sync_defaults),
    )
    return settings, parameters


def fleet_stack_settings(repo: Path = REPO) -> tuple[FunctionSettings, int, int]:
    """What regional.yaml gives the agents' side: HostReportsFunction's settings, the batch size of its
    event source mapping on the fleet table's stream, and ArtifactPieceBytes (one ranged GET a piece)."""
    templates = [load_template(repo / name) for name in TEMPLATES if (repo / name).exists()]
    resources = _resources(templates)
    stream = next(
        event["Properties"]
        for event in resources["HostReportsFunction"]["Properties"]["Events"].values()
        if event["Type"] == "DynamoDB"
    )
    parameters = _parameter_defaults(templates, {})
    return (
        _function(templates, resources, "HostReportsFunction"),
        int(stream.get("BatchSize", 100)),
        int(parameters["ArtifactPieceBytes"]),
    )
