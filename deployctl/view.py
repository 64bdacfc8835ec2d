"""What deployctl shows: a build's live progress (rich progress bars, one per stage and region), its
status, the list of builds, and the one-line outcome. Pure functions of the API's JSON answers."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rich.console import Console, Group
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from deployctl.logs import LogLine

FINAL_STATES = ("DEPLOYED", "SUPERSEDED", "FAILED")
BUILD_STEPS = {"QUEUED": 1, "BUILDING": 2, "SUCCEEDED": 3, "FAILED": 3}
STATE_STYLES = {
    "DEPLOYED": "green",
    "SUCCEEDED": "green",
    "SUPERSEDED": "yellow",
    "FAILED": "red",
    "PARTIAL_FAILURE": "red",
    "BUILD_FAILED": "red",
}
TRACEBACK_KEYS = ("exception", "stack_trace")
LEVEL_STYLES = {"ERROR": "red", "CRITICAL": "red", "WARNING": "yellow"}


@dataclass(frozen=True)
class Outcome:
    finished: bool
    succeeded: bool
    message: str


def failure_reason(view: dict[str, Any]) -> str:
    """Why a build failed, in one sentence: the build's own reason, else each failed copy's error."""
    if view.get("failureReason"):
        return view["failureReason"]
    failed = [
        f"{region['region']}: {region.get('replicationError') or region['replication']}"
        for region in view.get("regions", [])
        if region["replication"] == "FAILED"
    ]
    if failed:
        return "replication failed in " + "; ".join(failed)
    return f"replication {view.get('replication', {}).get('status', 'FAILED')}"


def hosts(view: dict[str, Any]) -> tuple[int, int]:
    regions = view.get("regions", [])
    return sum(r["hostsDeployed"] for r in regions), sum(r["hostsTotal"] for r in regions)


def outcome(view: dict[str, Any]) -> Outcome:
    state = view["deploymentStatus"]
    if state == "DEPLOYED":
        deployed, _ = hosts(view)
        return Outcome(
            True,
            True,
            f"SUCCESS: {view['buildId']} ({view['commit'][:12]}) deployed to {deployed:,} hosts in "
            f"{len(view['regions'])} regions{_took(view)}",
        )
    if state == "FAILED":
        return Outcome(True, False, f"FAILURE: {view['buildId']}: {failure_reason(view)}")
    if state == "SUPERSEDED":
        # A later build's deployment took its regions over (the later deployment wins): not a failure.
        later = sorted({region["supersededBy"] for region in view["regions"] if region.get("supersededBy")})
        return Outcome(True, True, f"SUPERSEDED: {view['buildId']} was overtaken by {', '.join(later)}")
    return Outcome(False, False, f"{view['buildId']}: {state}")


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _took(view: dict[str, Any]) -> str:
    done = [r["rolloutCompletedAt"] for r in view.get("regions", []) if r.get("rolloutCompletedAt")]
    if not done:
        return ""
    return f" in {(_parse(max(done)) - _parse(view['queuedAt'])).total_seconds():.2f} s"


def _short(text: str, limit: int = 72) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _styled(state: str) -> str:
    style = STATE_STYLES.get(state)
    return f"[{style}]{state}[/{style}]" if style else state


def progress_bars(console: Console | None, *columns: ProgressColumn) -> Progress:
    """Bars as deployctl draws them, a task a line: its name, its bar, done of total, `columns`, time taken."""
    return Progress(
        TextColumn("{task.description:<24}"),
        BarColumn(bar_width=32),
        MofNCompleteColumn(),
        *columns,
        TimeElapsedColumn(),
        console=console,
    )


class BuildProgress:
    """Live progress bars of one build: built, then per region replicated and hosts rolled out."""

    def __init__(self, console: Console | None = None) -> None:
        self.progress = progress_bars(console, TextColumn("{task.fields[state]}"))
        self.build_task: TaskID | None = None
        self.region_tasks: dict[str, tuple[TaskID, TaskID]] = {}

    def update(self, view: dict[str, Any]) -> None:
        build_state = view["status"]
        if self.build_task is None:
            self.build_task = self.progress.add_task("build", total=3, state="")
        detail = ""
        if build_state == "BUILDING" and view.get("lastError"):
            # A build being retried says so while it is (the final line carries a failure's reason).
            detail = _short(f" (attempts failed so far: {view.get('attempts')}, last error: {view['lastError']})")
        self.progress.update(
            self.build_task, completed=BUILD_STEPS.get(build_state, 0), state=_styled(build_state) + detail
        )
        for region in view.get("regions", []):
            name = region["region"]
            if name not in self.region_tasks:
                self.region_tasks[name] = (
                    self.progress.add_task(f"replicated to {name}", total=1, state=""),
                    self.progress.add_task(f"rolled out in {name}", total=region["hostsTotal"], state=""),
                )
            copy_task, rollout_task = self.region_tasks[name]
            copy_state = region["replication"]
            copy_detail = _short(f": {region['replicationError']}") if region.get("replicationError") else ""
            self.progress.update(
                copy_task, completed=1 if copy_state == "SUCCEEDED" else 0, state=_styled(copy_state) + copy_detail
            )
            rolled_out = region.get("rolloutCompletedAt") is not None
            self.progress.update(
                rollout_task,
                total=region["hostsTotal"],
                completed=region["hostsDeployed"],
                state=_styled("DEPLOYED") if rolled_out else "",
            )
        finished = view["deploymentStatus"] in FINAL_STATES
        for task in self.progress.tasks:
            # Elapsed time stops with the build, whichever way it ended.
            if finished and not task.finished:
                self.progress.stop_task(task.id)


def status_renderable(view: dict[str, Any]) -> Group:
    """A build's status: the header, each region, and the history."""
    header = Table.grid(padding=(0, 2))
    header.add_row("build", view["buildId"])
    header.add_row("commit", view["commit"])
    header.add_row("status", _styled(view["deploymentStatus"]) + f" (build {_styled(view['status'])})")
    if view.get("failureReason"):
        header.add_row("reason", f"[red]{view['failureReason']}[/red]")
    if view.get("lastError"):
        header.add_row("last error", f"{view['lastError']} (attempts so far: {view.get('attempts')})")
    deployed, total = hosts(view)
    header.add_row("hosts", f"{deployed:,}/{total:,}")
    if view.get("artifact"):
        artifact = view["artifact"]
        header.add_row("artifact", f"s3://{artifact['bucket']}/{artifact['key']} ({artifact['sizeBytes']:,} bytes)")
    regions = Table(title="regions", title_justify="left")
    for column in ("region", "replication", "hosts", "rolled out at"):
        regions.add_column(column, justify="right" if column == "hosts" else "left")
    for region in view.get("regions", []):
        copy = _styled(region["replication"])
        if region.get("replicationError"):
            copy += f": {region['replicationError']}"
        regions.add_row(
            region["region"],
            copy,
            f"{region['hostsDeployed']:,}/{region['hostsTotal']:,}",
            region.get("rolloutCompletedAt") or "-",
        )
    history = Table(title="history", title_justify="left")
    for column in ("at", "status", "reason"):
        history.add_column(column)
    for change in view.get("statusHistory", []):
        history.add_row(change["at"], _styled(change["status"]), change.get("reason") or "")
    return Group(header, regions, history)


def builds_table(builds: list[dict[str, Any]]) -> Table:
    table = Table(title="builds, newest first", title_justify="left")
    for column in ("build", "commit", "queued at", "status", "hosts", "reason"):
        table.add_column(column, justify="right" if column == "hosts" else "left")
    for build in builds:
        hosts_text = (
            f"{build['hostsDeployed']:,}/{build['hostsTotal']:,}" if build.get("hostsTotal") is not None else "-"
        )
        table.add_row(
            build["buildId"],
            build["commit"][:12],
            build["queuedAt"],
            _styled(build.get("deploymentStatus") or build["status"]),
            hosts_text,
            build.get("failureReason") or "",
        )
    return table


def log_line_text(line: LogLine) -> Text:
    """One log line: when, where, which function, the level, the message and the line's own fields."""
    # A traceback (Powertools' `exception`, `stack_trace`) takes many lines: `exception_name` says which
    # exception it was, --json has it whole.
    fields = " ".join(f"{name}={_field(value)}" for name, value in line.fields.items() if name not in TRACEBACK_KEYS)
    text = Text(f"{line.at}  {line.region:<14} {line.function:<26} ")
    text.append(f"{line.level:<7}", style=LEVEL_STYLES.get(line.level, ""))
    text.append(f" {line.message}")
    if fields:
        text.append(f"  {fields}", style="dim")
    return text


def _field(value: Any) -> str:
    return value if isinstance(value, str) and " " not in value else json.dumps(value, default=str)
