"""The capacity and cost model's tables (capacity.model) for the design problem's scenario and for the
local default, read from this checkout's templates, with the dated price and quota tables in capacity/.
Prints the tables, writes capacity/results.json and a plot of cost per deployment and the first limit hit
against hosts per region.

    python -m capacity [--out capacity] [--param Name=Value ...]

`--param` overrides template parameters for the local scenario as `make deploy` does (LOCAL_PARAMS).
No AWS, no emulator.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from capacity import agents, model, report
from capacity.model import Assumptions, PriceTable, Quota, Scenario, TemplateSettings
from capacity.scenarios import (
    PRICES,
    QUOTAS,
    agent_settings,
    design_assumptions,
    design_choices,
    design_scenario,
    load_prices,
    load_quotas,
    local_scenario,
    measured_assumptions,
)
from capacity.templates import REPO, TEMPLATES, template_settings

PLOT = Path("plots") / "cost-and-limits-vs-hosts.png"  # under --out


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m capacity", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", default="capacity", help="where results.json and plots/ go")
    parser.add_argument("--param", action="append", default=[], help="Name=Value template parameter (local scenario)")
    return parser.parse_args(argv)


def scenario_results(
    console: Console,
    scenarios: list[tuple[Scenario, Assumptions, TemplateSettings]],
    prices: PriceTable,
    quotas: dict[str, Quota],
) -> dict[str, Any]:
    """Each scenario's tables, printed, and its figures under its name."""
    results = {}
    for scenario, assumptions, settings in scenarios:
        result = model.report(scenario, settings, assumptions, prices, quotas)
        points = model.breaking_points(scenario, settings, assumptions, quotas, "hosts_per_region")
        report.print_report(console, result, scenario.deployments_per_day, points, assumptions.build_seconds)
        results[scenario.name] = report.serializable(result, scenario.deployments_per_day, points)
    return results


def design_results(
    console: Console,
    design: Scenario,
    assumptions: Assumptions,
    template: TemplateSettings,
    prices: PriceTable,
    quotas: dict[str, Quota],
    out: Path,
) -> dict[str, Any]:
    """The design scale's choices, the deployments a day at which its first limits break, and its sweep
    over hosts per region, printed and plotted under `out`."""
    choices = report.print_design_choices(
        console, design, design_choices(design, assumptions), template, prices, quotas
    )
    deployments = model.breaking_points(design, template, assumptions, quotas, "deployments_per_day")
    report.print_deployments_breaking_points(console, deployments)
    services = [
        point
        for point in model.breaking_points(design, template, assumptions, quotas, "services")
        if point.value is not None and not point.at_any_scale
    ]
    report.print_services_breaking_points(console, services)
    rows = report.sweep(design, template, assumptions, prices, quotas)
    points = model.breaking_points(design, template, assumptions, quotas, "hosts_per_region")
    report.plot(rows, points, design, out / PLOT)
    return {
        "designChoices": choices,
        "breakingPointsDeploymentsPerDay": [asdict(point) for point in deployments],
        "breakingPointsServices": [asdict(point) for point in services],
        "hostsSweep": rows,
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
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
    local = (local_scenario(parameters), replace(measured, build_seconds=0), local_template)
    design = (design_scenario(), design_assumptions(measured), template)
    results |= scenario_results(console, [local, design], prices, quotas)
    results |= design_results(console, *design, prices, quotas, out)
    results["agents"] = report.print_agents(
        console, design[0], agent_settings(), agents.AgentAssumptions(), prices, quotas
    )
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    console.print(f"Wrote {out / 'results.json'} and {out / PLOT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
