"""The capacity model's results: the tables `make capacity` prints, the sweep of the design scenario
over hosts per region and its plot, and each scenario's figures as capacity/results.json holds them."""

from __future__ import annotations

import math
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from capacity import agents, model
from capacity.model import Assumptions, PriceTable, Quota, RecordLayout, Report, Scenario, TemplateSettings

HOSTS_AXIS = [1_000, 3_000, 10_000, 30_000, 100_000, 300_000, 1_000_000]


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


def _where(point: model.BreakingPoint) -> str:
    if point.value is None:
        return "never"
    return "any" if point.at_any_scale else f"{point.value:,.0f}"


def _scenario_line(scenario: Scenario) -> str:
    return (
        f"{scenario.deployments_per_day:,g} deployments/day, {scenario.regions} regions x "
        f"{scenario.hosts_per_region:,} hosts, artifact {scenario.artifact_bytes:,} bytes, "
        f"pieces of {scenario.piece_bytes:,} bytes, {scenario.waves} wave(s), "
        f"{scenario.records_per_host} record(s) per host, {scenario.record_layout.value}, "
        f"{scenario.capacity_mode.value}, {scenario.services:,} service(s)"
    )


def _work_table(result: Report) -> Table:
    work = Table(title="Work, one deployment", title_justify="left")
    for column in ("service", "what", "count", "billed as"):
        work.add_column(column, justify="right" if column == "count" else "left")
    for item in result.work:
        work.add_row(item.service, item.what, _number(item.count), item.usage)
    return work


def _cost_table(result: Report, deployments_per_day: float) -> Table:
    costs = Table(title="Cost (us-east-1 list prices)", title_justify="left")
    for column in ("service", "per deployment", "per month"):
        costs.add_column(column, justify="left" if column == "service" else "right")
    monthly = result.cost.per_month(deployments_per_day)
    for service in sorted(monthly, key=monthly.get, reverse=True):
        costs.add_row(service, _usd(result.cost.per_deployment.get(service, 0.0)), _usd(monthly[service]))
    costs.add_row(
        "[bold]total[/]", _usd(result.cost.deployment_total), _usd(result.cost.month_total(deployments_per_day))
    )
    return costs


def _limits_table(result: Report, points_by_limit: dict[str, model.BreakingPoint]) -> Table:
    limits = Table(title="Limits at the peak, least headroom first", title_justify="left")
    for column in ("limit", "kind", "demand", "limit ", "unit", "headroom", "breaks at hosts/region"):
        limits.add_column(column, justify="left" if column in ("limit", "kind", "unit") else "right")
    for limit in sorted(result.limits, key=lambda limit: limit.headroom):
        limits.add_row(
            limit.name,
            limit.kind.value,
            _number(limit.demand),
            _number(limit.limit),
            limit.unit,
            _headroom(limit.headroom),
            _where(points_by_limit[limit.name]),
        )
    return limits


def print_report(
    console: Console, result: Report, deployments_per_day: float, points: list, build_seconds: float
) -> None:
    """One scenario: its work, cost and limits tables, its time against the budget and its first limits."""
    console.rule(f"[bold]{result.scenario.name}[/]")
    console.print(_scenario_line(result.scenario))
    console.print(_work_table(result))
    console.print(_cost_table(result, deployments_per_day))
    points_by_limit = {point.limit: point for point in points}
    console.print(_limits_table(result, points_by_limit))
    times = result.durations
    console.print(
        f"Time: build {build_seconds / 60:.0f} min (assumed) + upload "
        f"{times.build_worker:,.1f} s + replication {times.replication:,.1f} s + rollout {times.rollout:,.1f} s "
        f"(P2P) = {times.total / 60:,.1f} min"
    )
    for label, limit in (("First limit", result.first), ("First AWS quota", result.first_quota)):
        console.print(
            f"[bold]{label}: {limit.name}[/] (headroom {_headroom(limit.headroom)}: {limit.what_breaks}; "
            f"by hosts per region: {_where(points_by_limit[limit.name])})"
        )


def print_design_choices(
    console: Console,
    design: Scenario,
    choices: list[tuple[str, Scenario, Assumptions]],
    template: TemplateSettings,
    prices: PriceTable,
    quotas: dict[str, Quota],
) -> list[dict[str, Any]]:
    """The design's choices side by side, printed; returns each one's figures for results.json."""
    table = Table(
        title=f"Design choices at the design scale ({design.deployments_per_day:,g} deployments/day)",
        title_justify="left",
    )
    for column in ("choice", "per deployment", "per month", "minutes", "first AWS quota", "headroom"):
        table.add_column(column, justify="left" if column in ("choice", "first AWS quota") else "right")
    figures = []
    for label, variant, variant_assumptions in choices:
        result = model.report(variant, template, variant_assumptions, prices, quotas)
        month = result.cost.month_total(variant.deployments_per_day)
        table.add_row(
            label,
            _usd(result.cost.deployment_total),
            _usd(month),
            f"{result.durations.total / 60:,.1f}",
            result.first_quota.name,
            _headroom(result.first_quota.headroom),
        )
        figures.append(
            {
                "choice": label,
                "costPerDeployment": result.cost.deployment_total,
                "costPerMonth": month,
                "minutes": result.durations.total / 60,
                "firstLimit": result.first.name,
            }
        )
    console.print(table)
    return figures


def print_deployments_breaking_points(console: Console, points: list[model.BreakingPoint]) -> None:
    console.print(
        "Deployments a day at which each of the first limits breaks (design fleet): "
        + "; ".join(f"{p.limit}: {_where(p)}" for p in points[:4])
    )


def print_services_breaking_points(console: Console, points: list[model.BreakingPoint]) -> None:
    """The services at which a limit breaks, the design's deployments a day spread over them (the limits
    services do not move are left out)."""
    console.print(
        "Services at which a limit breaks (design fleet and deployments a day): "
        + ("; ".join(f"{p.limit}: {_where(p)}" for p in points[:4]) or "none")
    )


# --- the sweep and its plot ------------------------------------------------------------------------------------


def sweep(scenario, template, assumptions, prices, quotas) -> list[dict[str, Any]]:
    """Cost, time and the first limit at each of HOSTS_AXIS hosts per region, for either record layout."""
    rows = []
    for hosts in HOSTS_AXIS:
        row: dict[str, Any] = {"hostsPerRegion": hosts}
        for layout in RecordLayout:
            grown = replace(scenario, hosts_per_region=hosts, record_layout=layout)
            result = model.report(grown, template, assumptions, prices, quotas)
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


def serializable(result: Report, deployments_per_day: float, points: list) -> dict[str, Any]:
    """One scenario's figures as results.json holds them (enums by value, an infinite headroom as null)."""
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


# --- the host agents ------------------------------------------------------------------------------------------


def _limit_figures(limit: model.Limit) -> dict[str, Any]:
    return {**asdict(limit), "headroom": limit.headroom if math.isfinite(limit.headroom) else None}


def _agent_figures(label: str, load: agents.AgentLoad, cost: agents.AgentCost, limits: list[model.Limit]) -> dict:
    return {
        "design": label,
        "mechanism": load.design.mechanism.value,
        "pollSeconds": load.design.poll_seconds,
        "heartbeatSeconds": load.design.heartbeat_seconds,
        "perRegion": {
            "heartbeatsPerSecond": load.heartbeats_per_second,
            "goalReadsPerSecond": load.goal.reads_per_second,
            "goalReadUnitsPerSecond": load.goal.read_units_per_second,
            "hottestGoalItemReadUnitsPerSecond": load.goal.hot_item_read_units_per_second,
            "tallyItemReadUnitsPerSecond": load.tally_read_units_per_second,
            "fleetTableWriteUnitsPerSecond": load.table_write_units_per_second,
            "streamRecordsPerSecond": load.stream_records_per_second,
            "s3GetsPerSecondWhileDownloading": load.s3_gets_per_second,
        },
        "steadyPerMonth": [asdict(item) for item in load.steady],
        "perDeployment": [asdict(item) for item in load.per_deployment],
        "costSteadyPerMonth": cost.steady_per_month,
        "costPerDeployment": cost.per_deployment,
        "costPerMonth": cost.per_month,
        "costPerDeploymentAllIn": cost.per_deployment_all_in,
        "convergeMeanSeconds": load.converge_mean_seconds,
        "convergeLongestSeconds": load.converge_longest_seconds,
        "limits": [_limit_figures(limit) for limit in limits],
    }


def _agent_limits_table(title: str, limits: list[model.Limit]) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("limit", "demand", "limit ", "unit", "headroom"):
        table.add_column(column, justify="left" if column in ("limit", "unit") else "right")
    for limit in sorted(limits, key=lambda limit: limit.headroom):
        broken = "[bold red]" if limit.headroom < 1 else ""
        table.add_row(
            f"{broken}{limit.name}", _number(limit.demand), _number(limit.limit), limit.unit, _headroom(limit.headroom)
        )
    return table


def print_agents(
    console: Console,
    scenario: Scenario,
    settings: agents.AgentSettings,
    assumptions: agents.AgentAssumptions,
    prices: PriceTable,
    quotas: dict[str, Quota],
) -> dict[str, Any]:
    """The agents at the scenario's scale: the goal mechanisms compared, then the design as first built, as
    built now and the chosen one, each with its requests, cost and limits; returns their figures for
    results.json."""
    console.rule(f"[bold]host agents, {scenario.name}[/]")
    console.print(
        f"{scenario.regions} regions x {scenario.hosts_per_region:,} agents: poll every {settings.poll_seconds:g} s "
        f"(+-{settings.poll_jitter:.0%}), heartbeat every {settings.heartbeat_seconds:g} s, pieces of "
        f"{settings.piece_bytes:,} bytes; items measured: goal {settings.goal_item_bytes} bytes, host "
        f"{settings.host_item_bytes}, tally {settings.tally_item_bytes}"
    )
    compared = agents.compare_mechanisms(scenario, settings, assumptions, prices, quotas)
    table = Table(title="How agents learn their goal (per region; cost every region)", title_justify="left")
    columns = ("mechanism", "goal reads/s", "hottest item RCU/s", "per month", "per deployment", "converge mean s")
    for column in (*columns, "least headroom"):
        table.add_column(column, justify="left" if column in ("mechanism", "least headroom") else "right")
    for candidate in compared:
        least = candidate.least_headroom
        table.add_row(
            candidate.label,
            _number(candidate.load.goal.reads_per_second),
            _number(candidate.load.goal.hot_item_read_units_per_second),
            _usd(candidate.cost.per_month),
            _usd(candidate.cost.per_deployment_all_in),
            _number(candidate.load.converge_mean_seconds),
            f"{least.name} ({_headroom(least.headroom)})",
        )
    console.print(table)
    designs = []
    for label, design in (
        ("first built", agents.first_built(settings)),
        ("as built", agents.as_built(settings)),
        ("chosen", agents.chosen(settings)),
    ):
        load = agents.agent_load(scenario, design, settings, assumptions)
        cost = agents.agent_cost(load, prices)
        limits = agents.agent_limits(load, quotas)
        console.print(_agent_limits_table(f"Agents' limits, {label}, one region", limits))
        console.print(
            f"[bold]{label}[/]: {_usd(cost.steady_per_month)} a month steady (heartbeats, goal reads) + "
            f"{_usd(cost.per_deployment)} a deployment = {_usd(cost.per_month)} a month, "
            f"{_usd(cost.per_deployment_all_in)} a deployment all in; converges in {load.converge_mean_seconds:g} s "
            f"on average ({load.converge_longest_seconds:g} s at most)"
        )
        designs.append(_agent_figures(label, load, cost, limits))
    return {
        "settings": asdict(settings),
        "compared": [
            {
                "mechanism": candidate.label,
                "goalReadsPerSecondPerRegion": candidate.load.goal.reads_per_second,
                "hottestGoalItemReadUnitsPerSecond": candidate.load.goal.hot_item_read_units_per_second,
                "costPerMonth": candidate.cost.per_month,
                "costPerDeploymentAllIn": candidate.cost.per_deployment_all_in,
                "convergeMeanSeconds": candidate.load.converge_mean_seconds,
                "leastHeadroom": _limit_figures(candidate.least_headroom),
            }
            for candidate in compared
        ],
        "firstBuilt": designs[0],
        "asBuilt": designs[1],
        "chosen": designs[2],
    }
