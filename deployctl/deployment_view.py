"""What deployctl shows of deployments: a deployment's live progress (one bar of hosts per region, with its
wave and status), its detail, the plan, the list of deployments and the regions' goal builds. Pure functions
of the API's JSON answers, as deployctl.view is for builds."""

from __future__ import annotations

from typing import Any

from rich.console import Console, Group
from rich.progress import TaskID, TextColumn
from rich.table import Table
from rich.text import Text

from deployctl.view import Outcome, progress_bars

DEPLOYMENT_ID_PREFIX = "deploy-"
FINAL_STATES = ("SUCCEEDED", "ROLLED_BACK", "ABORTED", "SUPERSEDED", "FAILED")
STATE_STYLES = {
    "SUCCEEDED": "green",
    "ROLLED_BACK": "red",
    "ABORTED": "red",
    "FAILED": "red",
    "ROLLBACK_FAILED": "red",
    "ROLLING_BACK": "yellow",
    "SUPERSEDED": "yellow",
    "PAUSED": "yellow",
    "SKIPPED": "dim",
}


def is_deployment_id(identifier: str) -> bool:
    return identifier.startswith(DEPLOYMENT_ID_PREFIX)


def styled(state: str | None) -> str:
    state = state or "-"
    style = STATE_STYLES.get(state)
    return f"[{style}]{state}[/{style}]" if style else state


def number(value: float | int) -> str:
    """10.0 as 10, 12.5 as 12.5: percents as people write them."""
    return f"{value:g}" if isinstance(value, float) else str(value)


def seconds(value: float | None) -> str:
    """The swarm model's times run from milliseconds (a wave of a small artifact) to minutes (bakes)."""
    if value is None:
        return "-"
    return f"{value:.2f} s" if value >= 1 or value == 0 else f"{value * 1000:.1f} ms"


def ordered_regions(view: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The regions in the order they deploy (the spec's region waves), then any the spec does not name."""
    regions = view.get("regions", {})
    order = [name for wave in view.get("spec", {}).get("regionWaves") or [] for name in wave if name in regions]
    return [(name, regions[name]) for name in order] + [
        (name, region) for name, region in regions.items() if name not in order
    ]


def host_counts(view: dict[str, Any]) -> tuple[int, int, int]:
    """Hosts updated, failed and in all, over the deployment's regions."""
    regions = view.get("regions", {}).values()
    return (
        sum(r["hostsUpdated"] for r in regions),
        sum(r["hostsFailed"] for r in regions),
        sum(r["hostsTotal"] for r in regions),
    )


def wave_text(region: dict[str, Any]) -> str:
    return f"wave {region['wave']}/{region['waves']}"


def outcome(view: dict[str, Any]) -> Outcome:
    state = view["status"]
    deployment = f"{view['deploymentId']} of {view['buildId']}"
    if state == "SUCCEEDED":
        updated, _, _ = host_counts(view)
        return Outcome(
            True,
            True,
            f"SUCCESS: {deployment} updated {updated:,} hosts in {len(view['regions'])} regions; model time "
            f"{seconds(view.get('modelSeconds'))} (predicted {seconds(view.get('predictedSeconds'))})",
        )
    if state in FINAL_STATES:
        return Outcome(True, False, f"{state}: {deployment}: {view.get('reason') or 'no reason given'}")
    return Outcome(False, False, f"{deployment}: {state}")


class DeploymentProgress:
    """Live progress bars of one deployment: all hosts, then per region hosts updated of its total, with the
    region's wave, status and failures."""

    def __init__(self, console: Console | None = None) -> None:
        self.progress = progress_bars(
            console, TextColumn("{task.fields[wave]:<10}"), TextColumn("{task.fields[state]}")
        )
        self.total_task: TaskID | None = None
        self.region_tasks: dict[str, TaskID] = {}

    def update(self, view: dict[str, Any]) -> None:
        updated, failed, total = host_counts(view)
        if self.total_task is None:
            self.total_task = self.progress.add_task("deployment", total=total, wave="", state="")
        # The reason, if any, is the outcome's line once the deployment is finished.
        detail = f" ({failed:,} failed)" if failed else ""
        self.progress.update(self.total_task, total=total, completed=updated, state=styled(view["status"]) + detail)
        for name, region in ordered_regions(view):
            if name not in self.region_tasks:
                self.region_tasks[name] = self.progress.add_task(name, total=region["hostsTotal"], wave="", state="")
            region_detail = f" ({region['hostsFailed']:,} failed)" if region["hostsFailed"] else ""
            self.progress.update(
                self.region_tasks[name],
                total=region["hostsTotal"],
                completed=region["hostsUpdated"],
                wave=wave_text(region),
                state=styled(region["status"]) + region_detail,
            )
        if view["status"] in FINAL_STATES:
            for task in self.progress.tasks:
                # Elapsed time stops with the deployment, whichever way it ended.
                if not task.finished:
                    self.progress.stop_task(task.id)


def plan_renderable(plan: dict[str, Any]) -> Group:
    """The plan: each region's waves with their hosts and predicted time, each region's total and rollback
    time, then the region waves in order and the total."""
    table = Table(
        title=f"plan of {plan['buildId']} ({plan['artifactBytes']:,} byte artifact)",
        title_justify="left",
    )
    for column in ("region", "wave", "up to", "hosts", "already on it", "predicted", "rollback"):
        table.add_column(column, justify="left" if column == "region" else "right")
    for region in plan["regions"]:
        for wave in region["waves"]:
            table.add_row(
                region["region"] if wave["wave"] == 1 else "",
                f"{wave['wave']}/{len(region['waves'])}",
                f"{number(wave['cumulativePercent'])} %",
                f"{wave['hosts']:,}",
                f"{wave['hostsHolding']:,}",
                seconds(wave["predictedSeconds"]),
                "",
            )
        table.add_row(
            "",
            "[bold]total[/bold]",
            "",
            f"[bold]{region['hostsTotal']:,}[/bold]",
            "",
            f"[bold]{seconds(region['predictedSeconds'])}[/bold]",
            seconds(region["rollbackSeconds"]),
            end_section=True,
        )
    order = Table.grid(padding=(0, 2))
    for index, (names, took) in enumerate(zip(plan["regionWaves"], plan["regionWaveSeconds"], strict=False), 1):
        order.add_row(f"region wave {index}", ", ".join(names), seconds(took))
    order.add_row("[bold]predicted[/bold]", "", f"[bold]{seconds(plan['predictedSeconds'])}[/bold]")
    return Group(table, order)


def deployments_table(deployments: list[dict[str, Any]]) -> Table:
    table = Table(title="deployments, newest first", title_justify="left")
    for column in ("deployment", "build", "status", "trigger", "created at", "regions", "reason"):
        # ids are what people copy into the next command: never cut short
        table.add_column(column, no_wrap=column in ("deployment", "build"))
    for deployment in deployments:
        table.add_row(
            deployment["deploymentId"],
            deployment["buildId"],
            styled(deployment["status"]),
            deployment.get("trigger") or "-",
            deployment["createdAt"],
            ", ".join(deployment.get("regions") or []),
            Text(deployment.get("reason") or ""),
        )
    return table


def spec_text(spec: dict[str, Any]) -> str:
    """A deployment's spec in one line, as `deployctl deploy` options would give it."""
    parts = [
        "waves " + ",".join(number(wave) for wave in spec.get("waves") or []) + " %",
        f"bake {spec.get('bakeSeconds', 0)} s",
        f"max failures {number(spec.get('maxFailurePercent', 0))} %",
    ]
    if spec.get("regionWaves"):
        parts.append("region waves " + " → ".join(", ".join(wave) for wave in spec["regionWaves"]))
    simulate = spec.get("simulate") or {}
    if simulate.get("hostFailurePercent"):
        parts.append(f"simulated failures {number(simulate['hostFailurePercent'])} % (seed {simulate.get('seed')})")
    return "; ".join(parts)


def deployment_renderable(view: dict[str, Any]) -> Group:
    """One deployment: the header, each region (status, wave, hosts, predicted vs model time), the history."""
    header = Table.grid(padding=(0, 2))
    header.add_row("deployment", view["deploymentId"])
    header.add_row("build", view["buildId"])
    header.add_row("status", f"{styled(view['status'])} (trigger: {view.get('trigger') or '-'})")
    if view.get("reason"):
        header.add_row("reason", Text(view["reason"], style="red" if view["status"] in FINAL_STATES else ""))
    updated, failed, total = host_counts(view)
    header.add_row("hosts", f"{updated:,}/{total:,} updated, {failed:,} failed")
    so_far = "" if view["status"] in FINAL_STATES else " so far"
    header.add_row(
        "time", f"model {seconds(view.get('modelSeconds'))}{so_far}, predicted {seconds(view.get('predictedSeconds'))}"
    )
    header.add_row("spec", Text(spec_text(view.get("spec") or {})))
    header.add_row("created", f"{view['createdAt']} by {view.get('createdBy') or '-'}")
    if view.get("awaitingApproval"):
        header.add_row("approval", f"wave {view['awaitingApproval']} waits for `deployctl approve`")
    header.add_row("updated", view.get("updatedAt") or "-")
    header.add_row("completed", view.get("completedAt") or "-")
    regions = Table(title="regions", title_justify="left")
    for column in ("region", "status", "wave", "updated", "failed", "pending", "predicted", "model", "reason"):
        regions.add_column(column, justify="left" if column in ("region", "status", "reason") else "right")
    for name, region in ordered_regions(view):
        regions.add_row(
            name,
            styled(region["status"]),
            f"{region['wave']}/{region['waves']}",
            f"{region['hostsUpdated']:,}/{region['hostsTotal']:,}",
            f"{region['hostsFailed']:,}",
            f"{region['hostsPending']:,}",
            seconds(region.get("predictedSeconds")),
            seconds(region.get("modelSeconds")),
            Text(region.get("reason") or ""),
        )
    history = Table(title="history", title_justify="left")
    for column in ("at", "status", "by", "reason"):
        history.add_column(column)
    for change in view.get("history", []):
        history.add_row(
            change["at"], styled(change["status"]), change.get("by") or "", Text(change.get("reason") or "")
        )
    if not view.get("actions"):
        return Group(header, regions, history)
    actions = Table(title="who did what", title_justify="left")
    for column in ("at", "action", "by", "detail"):
        actions.add_column(column)
    for action in view["actions"]:
        detail = action.get("reason") or (f"wave {action['wave']}" if action.get("wave") else "")
        actions.add_row(action["at"], action["action"], action.get("by") or "", Text(detail))
    return Group(header, regions, history, actions)


def hosts_by_build_text(region: dict[str, Any]) -> Text:
    """One line per build the region's hosts run, most hosts first; the goal build marked."""
    text = Text()
    ranked = sorted(region.get("hostsByBuild", {}).items(), key=lambda item: (-item[1], item[0]))
    for index, (build_id, count) in enumerate(ranked):
        if index:
            text.append("\n")
        text.append(f"{count:>7,} {build_id}")
        if build_id == region.get("goalBuildId"):
            text.append(" (goal)", style="green")
    return text if ranked else Text("-")


def regions_table(regions: list[dict[str, Any]]) -> Table:
    table = Table(title="regions: the goal build and what the hosts run", title_justify="left")
    # The deployment that set each goal is in --json: the table fits 160 columns with every id whole.
    # hosts: the live ones (simulated and real); lost: real hosts without a heartbeat (deployctl hosts lists them).
    for column in ("region", "goal build", "previous build", "hosts", "lost", "hosts per build"):
        # ids are what people copy into the next command: never cut short
        counts = column in ("hosts", "lost")
        table.add_column(column, justify="right" if counts else "left", no_wrap=not counts)
    for region in regions:
        lost = region.get("hostsLost") or 0
        table.add_row(
            region["region"],
            region.get("goalBuildId") or "-",
            region.get("previousBuildId") or "-",
            f"{region['hostsTotal']:,}",
            Text(f"{lost:,}", style="red") if lost else "-",
            hosts_by_build_text(region),
        )
    return table
