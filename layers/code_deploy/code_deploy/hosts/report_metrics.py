"""The metrics of the real hosts' reports, as the region's fleet table streams them: each report counted
for its wave (once, hosts.fleet.take_report) is one host deployed or failed (HostsDeployed, HostsFailed)
and gives how long each lifecycle event's hooks ran on it (HookSeconds, by hook), all with the region, so
an alarm (or a dashboard) can watch them."""

from __future__ import annotations

from typing import Any

DEPLOYED, FAILED = "DEPLOYED", "FAILED"


def report_metrics(report: dict[str, Any], region: str) -> list[dict[str, Any]]:
    """The metric data of one new report: a host deployed or failed, and its hooks' time by lifecycle event."""
    where = [{"Name": "Region", "Value": region}]
    outcome = "HostsDeployed" if report.get("status") == DEPLOYED else "HostsFailed"
    data = [{"MetricName": outcome, "Dimensions": where, "Value": 1, "Unit": "Count"}]
    for hook, seconds in (report.get("hookSeconds") or {}).items():
        data.append(
            {
                "MetricName": "HookSeconds",
                "Dimensions": [*where, {"Name": "Hook", "Value": str(hook)}],
                "Value": float(seconds),
                "Unit": "Seconds",
            }
        )
    return data
