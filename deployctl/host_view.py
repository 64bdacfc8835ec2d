"""What deployctl shows of a region's hosts (`deployctl hosts <region>`): a table of its real hosts, one row
each (state, current and previous build, last report, a failed hook's last output), and a line for its
simulated hosts, which the API counts per build but does not list. Pure functions of the API's JSON answer."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

STATE_STYLES = {
    "deployed": "green",
    "failed": "red",
    "lost": "red",
    "downloading": "yellow",
    "installing": "yellow",
    "idle": "dim",
}
OUTPUT_TAIL_CHARS = 60  # of a failed hook's output, the table shows the end of its last line


def state_text(state: str) -> Text:
    return Text(state, style=STATE_STYLES.get(state, ""))


def output_tail(report: dict[str, Any] | None, chars: int = OUTPUT_TAIL_CHARS) -> str:
    """The end of a failed hook's output: its last line that says something, cut to `chars` from the left."""
    output = (report or {}).get("outputTail") or ""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    if not lines:
        return "-"
    last = lines[-1]
    return last if len(last) <= chars else "…" + last[-(chars - 1) :]


def failure_of(host: dict[str, Any]) -> dict[str, Any] | None:
    """What failed on the host in its last deployment: its last report if FAILED, else the failure kept
    from that deployment (a host that failed, then reported its return in the rollback)."""
    report, failure = host.get("lastReport"), host.get("lastFailure")
    if report and report.get("status") != "DEPLOYED":
        return report
    if report and failure and failure.get("deploymentId") == report.get("deploymentId"):
        return failure
    return None


def report_text(report: dict[str, Any] | None) -> Text:
    """The last report, short: its status, why it failed (reason, hook, exit code), when. Its deployment and
    build are in --json."""
    if not report:
        return Text("-")
    failed = report["status"] != "DEPLOYED"
    text = Text(report["status"], style="red" if failed else "green")
    if report.get("reason"):
        text.append(f" {report['reason']}", style="red")
    if report.get("hook"):
        exit_code = report.get("exitCode")
        text.append(f"\n{report['hook']}" + (f" exit {exit_code}" if exit_code is not None else ""), style="red")
    at = report.get("at") or ""
    text.append(f"\n{at[:19].replace('T', ' ')}" if at else "", style="dim")
    return text


def builds_text(host: dict[str, Any]) -> Text:
    """The build the host runs, and under it the one before, in its cache (a rollback's target)."""
    text = Text(host.get("currentBuildId") or "-")
    text.append(f"\n{host.get('previousBuildId') or '-'}", style="dim")
    return text


def simulated_text(simulated: dict[str, Any] | None) -> Text | None:
    if not simulated:
        return None
    builds = sorted(simulated.get("hostsByBuild", {}).items(), key=lambda item: (-item[1], item[0]))
    per_build = ", ".join(f"{count:,} on {build_id}" for build_id, count in builds) or "none deployed to yet"
    return Text(
        f"{simulated['group']}: {simulated['hostsTotal']:,} simulated hosts ({per_build}), counted, not listed",
        style="dim",
    )


def hosts_renderable(answer: dict[str, Any]):
    """The region's real hosts as a table, and its simulated hosts in a line under it."""
    group = f", group {answer['group']}" if answer.get("group") else ""
    table = Table(
        title=f"hosts of {answer['region']}{group} (lost: no heartbeat for {answer['lostAfterSeconds']:g} s)",
        title_justify="left",
    )
    for column in ("host", "group", "zone", "state", "current / previous", "last report", "hook output"):
        # ids are what people copy into the next command: never cut short
        table.add_column(column, no_wrap=column in ("host", "current / previous"))
    for host in answer["hosts"]:
        report = host.get("lastReport")
        table.add_row(
            host["hostId"],
            host["group"],
            host.get("zone") or "-",
            state_text(host["state"]),
            builds_text(host),
            report_text(report),
            output_tail(failure_of(host)),
        )
    parts: list[Any] = [table] if answer["hosts"] else [Text(f"no real hosts in {answer['region']}{group}")]
    simulated = simulated_text(answer.get("simulated"))
    if simulated is not None:
        parts.append(simulated)
    return Group(*parts)
