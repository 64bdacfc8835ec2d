"""The capacity and cost model's tables (code_deploy.capacity) for the design problem's scenario and for
the local default, read from this checkout's templates, with the dated price and quota tables in
capacity/. Prints the tables, writes capacity/results.json and a plot of cost per deployment and the
first limit hit against hosts per region.

    python -m tools.capacity [--out capacity] [--param Name=Value ...]

`--param` overrides template parameters for the local scenario as `make deploy` does (LOCAL_PARAMS).
No AWS, no emulator.
"""

from __future__ import annotations

import argparse
import json
import math
import tracemalloc
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console
from rich.table import Table

from code_deploy import capacity, store, swarm
from code_deploy.artifact import build_artifact
from code_deploy.capacity import (
    Assumptions,
    CapacityMode,
    FunctionSettings,
    PriceTable,
    Quota,
    RecordLayout,
    Report,
    Scenario,
    TemplateSettings,
)
from code_deploy.settings import RegionalSyncSettings
from tools import p2p_report

REPO = Path(__file__).resolve().parent.parent
TEMPLATES = ("template.yaml", "regional.yaml")  # the global stack's and a region's
REPLICATION_ASL = "statemachine/replicate_build.asl.json"
PRICES = "capacity/aws-prices-us-east-1.json"
QUOTAS = "capacity/aws-quotas.json"
# The design problem: thousands of deployments a day (we take 2,000) to 100,000 hosts in each of 10
# regions, a 10 GB binary; the P2P figures are the P2P report's (tools/p2p_report.py).
DESIGN_DEPLOYMENTS_PER_DAY = 2_000
LOCAL_DEPLOYMENTS_PER_DAY = 100
HOSTS_AXIS = [1_000, 3_000, 10_000, 30_000, 100_000, 300_000, 1_000_000]
SAMPLE_HOSTS = 2_000  # hosts of the plan whose records are measured
INLINE_MAP_MAX_CONCURRENCY = 40  # an inline Map's most iterations at once, when MaxConcurrency is unset (0)


# --- the templates, as CloudFormation reads them ---------------------------------------------------------


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


@dataclass(frozen=True)
class ReplicationShape:
    """What a successful replication does, read from its ASL."""

    top_level_states: int  # states entered outside the Map
    states_per_destination: int  # states one Map item enters
    map_max_concurrency: int
    every_copy_invokes_a_function: bool  # each item's path calls Lambda, whatever the artifact's size


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
        copy_function_for_every_copy=shape.every_copy_invokes_a_function,
        multipart_copy_threshold_bytes=int(parameters["MultipartCopyThresholdBytes"]),
        multipart_copy_part_bytes=int(parameters["MultipartCopyPartBytes"]),
        replication_top_level_transitions=shape.top_level_states,
        replication_transitions_per_destination=shape.states_per_destination,
        replication_map_max_concurrency=shape.map_max_concurrency,
        api_rate_limit=float(parameters["ApiThrottlingRateLimit"]),
        api_burst_limit=int(parameters["ApiThrottlingBurstLimit"]),
        build_queue_batch_size=int(queue_event.get("BatchSize", 10)),
        hosts_per_region_max=int(
            next(t["Parameters"]["HostsPerRegion"] for t in templates if "HostsPerRegion" in t.get("Parameters", {}))[
                "MaxValue"
            ]
        ),
        hosts_per_partition_key=store.HOSTS_PER_PARTITION_KEY,
        min_host_record_shards=store.MIN_HOST_RECORD_SHARDS,
        host_record_writers=int(sync_defaults),
    )
    return settings, parameters


# --- what the code's own records measure ---------------------------------------------------------------


def _attribute_bytes(value: Any) -> int:
    """An attribute value's size as DynamoDB counts it: UTF-8 bytes of a string, about one byte per two
    digits of a number, plus one."""
    if isinstance(value, str):
        return len(value.encode())
    if isinstance(value, int | float | Decimal):
        digits = len(str(value).replace("-", "").replace(".", "").lstrip("0")) or 1
        return math.ceil(digits / 2) + 1
    raise TypeError(f"no size rule for {type(value).__name__}")


def item_bytes(item: dict[str, Any]) -> int:
    return sum(len(name.encode()) + _attribute_bytes(value) for name, value in item.items())


def measured_assumptions(parameters: dict[str, Any]) -> Assumptions:
    """The host record's size and the regional sync's memory per host, measured on the code that writes
    them: a plan of SAMPLE_HOSTS hosts, its records and their BatchWriteItem requests."""
    sample = swarm.SwarmParameters(
        hosts=SAMPLE_HOSTS,
        artifact_bytes=max(1, int(parameters["ArtifactPayloadBytes"])),
        seeds=int(parameters["SeedHosts"]),
        fanout=int(parameters["P2PFanout"]),
        piece_bytes=int(parameters["P2PPieceBytes"]),
    )
    build_id = "build-20261123T000000Z-0123abcd"
    bucket = "sam-code-deploy-us-west-2-builds-123456789012-us-west-2"
    plan = swarm.plan_region(sample, seed=1)
    tracemalloc.start()
    records = store.host_records(build_id, "us-west-2", bucket, plan, "2026-11-23T00:00:00.000Z")
    batches = store.host_record_batches(records)
    held, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del batches
    return Assumptions(
        host_record_bytes=max(item_bytes(record) for record in records),
        sync_bytes_per_host=math.ceil(held / SAMPLE_HOSTS),
    )


def artifact_bytes_for(payload_bytes: int) -> int:
    """The artifact the build worker really makes for a payload: the zip with its manifest."""
    return len(
        build_artifact("0" * 40, "build-20261123T000000Z-0123abcd", "2026-11-23T00:00:00Z", payload_bytes).content
    )


# --- the scenarios -------------------------------------------------------------------------------------------


def local_scenario(parameters: dict[str, Any]) -> Scenario:
    """What `make deploy` runs on the emulator: the template's defaults."""
    regions = parameters["Regions"]
    region_count = len(regions if isinstance(regions, list) else str(regions).split(","))
    return Scenario(
        name="local default",
        deployments_per_day=LOCAL_DEPLOYMENTS_PER_DAY,
        regions=region_count,
        hosts_per_region=int(parameters["HostsPerRegion"]),
        artifact_bytes=artifact_bytes_for(int(parameters["ArtifactPayloadBytes"])),
        piece_bytes=int(parameters["P2PPieceBytes"]),
        host_bandwidth=float(parameters["P2PHostBandwidthBytesPerSecond"]),
        bucket_egress=float(parameters["P2PBucketEgressBytesPerSecond"]),
        seeds=int(parameters["SeedHosts"]),
        fanout=int(parameters["P2PFanout"]),
    )


def design_scenario() -> Scenario:
    design = p2p_report.DESIGN
    return Scenario(
        name="design problem",
        deployments_per_day=DESIGN_DEPLOYMENTS_PER_DAY,
        regions=p2p_report.DESIGN_REGIONS,
        hosts_per_region=design.hosts,
        artifact_bytes=design.artifact_bytes,
        piece_bytes=design.piece_bytes,
        host_bandwidth=design.host_bandwidth,
        bucket_egress=design.bucket_egress,
        seeds=design.seeds,
        fanout=design.fanout,
    )


def design_assumptions(measured: Assumptions) -> Assumptions:
    """At the design scale the model's rates are p2p_report's (replication at its assumed copy rate)."""
    return replace(
        measured,
        build_seconds=p2p_report.BUILD_SECONDS,
        budget_seconds=p2p_report.BUDGET_SECONDS,
        copy_bytes_per_second=p2p_report.REPLICATION_BYTES_PER_SECOND,
    )


def design_choices(scenario: Scenario, assumptions: Assumptions) -> list[tuple[str, Scenario, Assumptions]]:
    """The design's choices, one changed at a time from `scenario` and `assumptions`."""
    kept_a_week = replace(assumptions, artifact_retention_days=7, host_record_retention_days=7)
    choices: list[tuple[str, Scenario | None]] = [
        ("as built: a record per host, on-demand", scenario),
        ("host records packed per shard key", replace(scenario, record_layout=RecordLayout.PER_SHARD)),
        ("provisioned capacity for the peak", replace(scenario, capacity_mode=CapacityMode.PROVISIONED)),
        ("3 records per host (a status per step)", replace(scenario, records_per_host=3)),
        ("4 waves per region", replace(scenario, waves=4)),
        ("1 GB artifact", replace(scenario, artifact_bytes=10**9)),
        ("artifacts and host records kept 7 days, not 30", None),
        ("P2P peers across AZs (2 of 3 bytes)", replace(scenario, cross_az_peer_fraction=2 / 3)),
        ("no P2P: every host from the bucket", replace(scenario, p2p=False)),
    ]
    return [(label, variant or scenario, assumptions if variant else kept_a_week) for label, variant in choices]


def load_prices(repo: Path = REPO) -> PriceTable:
    return PriceTable.from_dict(json.loads((repo / PRICES).read_text()))


def load_quotas(repo: Path = REPO) -> dict[str, Quota]:
    data = json.loads((repo / QUOTAS).read_text())
    return {key: Quota(float(entry["value"]), entry["unit"], entry["source"]) for key, entry in data["quotas"].items()}


# --- printing --------------------------------------------------------------------------------------------


def _number(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 1:
        return f"{value:,.2f}"
    return f"{value:.3g}"


def _usd(value: float) -> str:
    return f"${value:,.2f}" if value >= 0.01 else f"${value:.2g}"


def _headroom(value: float) -> str:
    return "∞" if math.isinf(value) else f"{value:,.1f}x" if value < 1000 else f"{value:,.0f}x"


def _where(point: capacity.BreakingPoint) -> str:
    if point.value is None:
        return "never"
    return "any" if point.at_any_scale else f"{point.value:,.0f}"


def print_report(
    console: Console, result: Report, deployments_per_day: float, points: list, build_seconds: float
) -> None:
    scenario = result.scenario
    console.rule(f"[bold]{scenario.name}[/]")
    console.print(
        f"{scenario.deployments_per_day:,g} deployments/day, {scenario.regions} regions x "
        f"{scenario.hosts_per_region:,} hosts, artifact {scenario.artifact_bytes:,} bytes, "
        f"pieces of {scenario.piece_bytes:,} bytes, {scenario.waves} wave(s), "
        f"{scenario.records_per_host} record(s) per host, {scenario.record_layout.value}, "
        f"{scenario.capacity_mode.value}"
    )
    work = Table(title="Work, one deployment", title_justify="left")
    for column in ("service", "what", "count", "billed as"):
        work.add_column(column, justify="right" if column == "count" else "left")
    for item in result.work:
        work.add_row(item.service, item.what, _number(item.count), item.usage)
    console.print(work)

    costs = Table(title="Cost (us-east-1 list prices)", title_justify="left")
    for column in ("service", "per deployment", "per month"):
        costs.add_column(column, justify="left" if column == "service" else "right")
    monthly = result.cost.per_month(deployments_per_day)
    for service in sorted(monthly, key=monthly.get, reverse=True):
        costs.add_row(service, _usd(result.cost.per_deployment.get(service, 0.0)), _usd(monthly[service]))
    costs.add_row(
        "[bold]total[/]", _usd(result.cost.deployment_total), _usd(result.cost.month_total(deployments_per_day))
    )
    console.print(costs)

    limits = Table(title="Limits at the peak, least headroom first", title_justify="left")
    for column in ("limit", "kind", "demand", "limit ", "unit", "headroom", "breaks at hosts/region"):
        limits.add_column(column, justify="left" if column in ("limit", "kind", "unit") else "right")
    at = {point.limit: point for point in points}
    for limit in sorted(result.limits, key=lambda limit: limit.headroom):
        limits.add_row(
            limit.name,
            limit.kind.value,
            _number(limit.demand),
            _number(limit.limit),
            limit.unit,
            _headroom(limit.headroom),
            _where(at[limit.name]),
        )
    console.print(limits)
    times = result.durations
    console.print(
        f"Time: build {build_seconds / 60:.0f} min (assumed) + upload "
        f"{times.build_worker:,.1f} s + replication {times.replication:,.1f} s + rollout {times.rollout:,.1f} s "
        f"(P2P) = {times.total / 60:,.1f} min"
    )
    for label, limit in (("First limit", result.first), ("First AWS quota", result.first_quota)):
        console.print(
            f"[bold]{label}: {limit.name}[/] (headroom {_headroom(limit.headroom)}: {limit.what_breaks}; "
            f"by hosts per region: {_where(at[limit.name])})"
        )


# --- the sweep and its plot ------------------------------------------------------------------------------------


def sweep(scenario, template, assumptions, prices, quotas) -> list[dict[str, Any]]:
    rows = []
    for hosts in HOSTS_AXIS:
        row: dict[str, Any] = {"hostsPerRegion": hosts}
        for layout in RecordLayout:
            grown = replace(scenario, hosts_per_region=hosts, record_layout=layout)
            result = capacity.report(grown, template, assumptions, prices, quotas)
            row[layout.value] = {
                "costPerDeployment": result.cost.deployment_total,
                "costPerMonth": result.cost.month_total(grown.deployments_per_day),
                "firstLimit": result.first.name,
                "firstLimitHeadroom": result.first.headroom,
                "minutes": result.durations.total / 60,
            }
        rows.append(row)
    return rows


def plot(rows: list[dict[str, Any]], points: list, scenario: Scenario, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(9, 5.5))
    hosts = [row["hostsPerRegion"] for row in rows]
    for layout, style in ((RecordLayout.PER_HOST, "o-"), (RecordLayout.PER_SHARD, "s--")):
        axes.plot(
            hosts, [row[layout.value]["costPerDeployment"] for row in rows], style, label=f"records {layout.value}"
        )
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("hosts per region")
    axes.set_ylabel("USD per deployment (us-east-1 list prices)")
    axes.set_title(
        f"{scenario.regions} regions, {scenario.artifact_bytes / 1e9:g} GB artifact, "
        f"{scenario.deployments_per_day:,g} deployments/day: cost and the limits hit"
    )
    low, high = hosts[0], hosts[-1]
    shown = [point for point in points if point.value is not None and low <= point.value <= high][:4]
    # limits broken at any scale (the build worker's, by the artifact) do not move with hosts: not drawn
    for index, point in enumerate(shown):
        color = f"C{index + 2}"
        axes.axvline(point.value, color=color, linestyle=":", linewidth=1.5, label=f"{point.limit}: {point.value:,.0f}")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(loc="upper left", fontsize=8)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _serializable(result: Report, deployments_per_day: float, points: list) -> dict[str, Any]:
    return {
        "scenario": {
            key: (value.value if hasattr(value, "value") else value) for key, value in asdict(result.scenario).items()
        },
        "counts": asdict(result.counts),
        "work": [asdict(item) for item in result.work],
        "costPerDeployment": result.cost.per_deployment,
        "costPerMonth": result.cost.per_month(deployments_per_day),
        "costPerDeploymentTotal": result.cost.deployment_total,
        "costPerMonthTotal": result.cost.month_total(deployments_per_day),
        "limits": [
            {**asdict(limit), "headroom": limit.headroom if math.isfinite(limit.headroom) else None}
            for limit in result.limits
        ],
        "firstLimit": result.first.name,
        "firstQuota": result.first_quota.name,
        "breakingPointsHostsPerRegion": [asdict(point) for point in points],
        "seconds": asdict(result.durations),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="capacity", help="where results.json and plots/ go")
    parser.add_argument("--param", action="append", default=[], help="Name=Value template parameter (local scenario)")
    args = parser.parse_args(argv)
    overrides = dict(item.split("=", 1) for item in args.param)
    # LOCAL_PARAMS (make deploy's overrides) are the emulator's; the design scenario takes the defaults.
    local_template, parameters = template_settings(REPO, overrides)
    template, _ = template_settings(REPO)
    prices, quotas = load_prices(), load_quotas()
    measured = measured_assumptions(parameters)
    console = Console(width=160)
    console.print(
        f"Prices: {PRICES} ({prices.region}, read {prices.retrieved}); quotas: {QUOTAS}; template: "
        f"{', '.join(name for name in TEMPLATES if (REPO / name).exists())}; host record "
        f"{measured.host_record_bytes} bytes, regional sync {measured.sync_bytes_per_host:,} bytes a host (measured)"
    )
    out = Path(args.out)
    results: dict[str, Any] = {
        "generatedAt": datetime.now(UTC).isoformat(timespec="seconds"),
        "pricesRetrieved": prices.retrieved,
    }
    # Locally the build is the worker's simulated one, timed in the work above: no 15 minutes on top.
    scenarios = [
        (local_scenario(parameters), replace(measured, build_seconds=0)),
        (design_scenario(), design_assumptions(measured)),
    ]
    for (scenario, assumptions), settings in zip(scenarios, (local_template, template), strict=True):
        result = capacity.report(scenario, settings, assumptions, prices, quotas)
        points = capacity.breaking_points(scenario, settings, assumptions, quotas, "hosts_per_region")
        print_report(console, result, scenario.deployments_per_day, points, assumptions.build_seconds)
        results[scenario.name] = _serializable(result, scenario.deployments_per_day, points)

    design, assumptions = scenarios[1]
    choices = Table(
        title=f"Design choices at the design scale ({design.deployments_per_day:,g} deployments/day)",
        title_justify="left",
    )
    for column in ("choice", "per deployment", "per month", "minutes", "first AWS quota", "headroom"):
        choices.add_column(column, justify="left" if column in ("choice", "first AWS quota") else "right")
    results["designChoices"] = []
    for label, variant, variant_assumptions in design_choices(design, assumptions):
        result = capacity.report(variant, template, variant_assumptions, prices, quotas)
        month = result.cost.month_total(variant.deployments_per_day)
        choices.add_row(
            label,
            _usd(result.cost.deployment_total),
            _usd(month),
            f"{result.durations.total / 60:,.1f}",
            result.first_quota.name,
            _headroom(result.first_quota.headroom),
        )
        results["designChoices"].append(
            {
                "choice": label,
                "costPerDeployment": result.cost.deployment_total,
                "costPerMonth": month,
                "minutes": result.durations.total / 60,
                "firstLimit": result.first.name,
            }
        )
    console.print(choices)
    deployments = capacity.breaking_points(design, template, assumptions, quotas, "deployments_per_day")
    console.print(
        "Deployments a day at which each of the first limits breaks (design fleet): "
        + "; ".join(f"{p.limit}: {_where(p)}" for p in deployments[:4])
    )
    results["breakingPointsDeploymentsPerDay"] = [asdict(point) for point in deployments]

    rows = sweep(design, template, assumptions, prices, quotas)
    results["hostsSweep"] = rows
    points = capacity.breaking_points(design, template, assumptions, quotas, "hosts_per_region")
    plot(rows, points, design, out / "plots" / "cost-and-limits-vs-hosts.png")
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    console.print(f"Wrote {out / 'results.json'} and {out / 'plots' / 'cost-and-limits-vs-hosts.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
