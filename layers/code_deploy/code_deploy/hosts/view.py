"""A region's hosts as a client reads them: GET /regions/{region}/hosts lists the real hosts (the agents'
items in the region's fleet table) a page at a time, and summarises the simulated ones (the regions
table's counts per build); GET /regions counts both.

A real host is `lost` when its agent has not sent a heartbeat for the region's lost-after time; otherwise
its state is its agent's (`deployed`, `failed`, or a step under way: `idle`, `downloading`, `installing`).
Hosts are listed by group, then host id, each group from its by-group index (no Scan): a page reads each
of a group's index shards only as far as the page reaches.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from code_deploy import paging
from code_deploy.deployments import store as deployment_store
from code_deploy.hosts import fleet
from code_deploy.hosts.fleet import FleetHost
from code_deploy.hosts.schema import HostList, HostReportView, HostView, SimulatedHostsView
from code_deploy.regions import check_region
from code_deploy.services.model import DEFAULT_SERVICE

SIMULATED_GROUP = "simulated"  # the region's simulated hosts (the host-state blocks): never listed one by one
LOST = "lost"
NO_BUILD = "none"  # fleet.host_states' key for live hosts with nothing installed

# Region name -> its fleet table, a resource in that region (the API reads every region's from its home).
FleetTables = Callable[[str], Any]


@dataclass(frozen=True)
class HostsReading:
    """What reading the regions' hosts takes (GET /regions, /regions/{region}, /regions/{region}/hosts): the
    regions table (each region's goal, its simulated hosts per build), each region's fleet table (its real
    hosts), the stack's regions and simulated hosts a region, and when a silent real host counts as lost."""

    regions_table: Any
    fleet_table: FleetTables
    regions: tuple[str, ...]
    hosts_per_region: int
    now: float
    lost_after: float
    service: str = DEFAULT_SERVICE  # whose goals and hosts; `regions` are its regions


def host_state(host: FleetHost, now: float, lost_after: float) -> str:
    return LOST if host.lost(now, lost_after) else host.state.lower()


def iso_time(epoch_seconds: float) -> str:
    return datetime.fromtimestamp(epoch_seconds, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def host_view(host: FleetHost, now: float, lost_after: float) -> HostView:
    return HostView.of(
        host,
        state=host_state(host, now, lost_after),
        heartbeatAt=iso_time(host.heartbeat_at),
        lastReport=HostReportView.of(host.report) if host.report else None,
        lastFailure=HostReportView.of(host.last_failure) if host.last_failure else None,
    )


@dataclass(frozen=True)
class HostCursor:
    """Where a page of hosts starts: after host `host_id` of group `group`."""

    group: str
    host_id: str

    def encode(self) -> str:
        payload = json.dumps({"g": self.group, "h": self.host_id}, separators=(",", ":"), sort_keys=True)
        return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> HostCursor:
        """The cursor, checked field by field: a forged one is refused here, never sent to DynamoDB."""
        if len(text) > paging.MAX_CURSOR_CHARS:
            raise paging.InvalidCursor("too long")
        try:
            payload = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        except (binascii.Error, ValueError, UnicodeDecodeError):
            raise paging.InvalidCursor("not base64url JSON") from None
        if not isinstance(payload, dict) or set(payload) != {"g", "h"}:
            raise paging.InvalidCursor("unexpected fields")
        if not all(isinstance(payload[key], str) and payload[key] for key in ("g", "h")):
            raise paging.InvalidCursor("bad group or host")
        return cls(payload["g"], payload["h"])


def _hosts_page(table, groups: list[str], start: HostCursor | None, limit: int) -> tuple[list[FleetHost], str | None]:
    """At most `limit` hosts of `groups` (sorted), from `start` on; and the next page's cursor."""
    remaining = [group for group in groups if start is None or group >= start.group]
    hosts: list[FleetHost] = []
    for index, group in enumerate(remaining):
        after = start.host_id if start is not None and group == start.group else None
        page, more = fleet.group_hosts_page(table, group, after, limit - len(hosts))
        hosts.extend(page)
        if len(hosts) == limit:
            last_group = not more and index == len(remaining) - 1
            return hosts, None if last_group else HostCursor(group, hosts[-1].host_id).encode()
    return hosts, None


def simulated_hosts(
    regions_table, region: str, hosts_per_region: int, service: str = DEFAULT_SERVICE
) -> SimulatedHostsView:
    goal = deployment_store.get_region_goals(regions_table, (region,), service)[region]
    return SimulatedHostsView(
        group=SIMULATED_GROUP,
        hostsTotal=hosts_per_region,
        hostsByBuild={build: n for build, n in goal.hosts_by_build.items() if n > 0},
    )


def list_hosts(reading: HostsReading, *, region: str, group: str | None, limit: int, cursor: str | None) -> HostList:
    """A page of the region's real hosts (of every group seen, or of `group`), and its simulated hosts
    summarised. Raises RegionNotFound for a region not of the stack's, InvalidCursor for a cursor this
    API did not give out (or gave out for another group)."""
    check_region(region, reading.regions)
    start = HostCursor.decode(cursor) if cursor is not None else None
    if start is not None and group is not None and start.group != group:
        raise paging.InvalidCursor(f"it continues group {start.group}, not {group}")
    table = reading.fleet_table(region)
    groups = [group] if group is not None else fleet.groups(table, reading.service)
    hosts, next_cursor = _hosts_page(table, groups, start, limit)
    summarised = group in (None, SIMULATED_GROUP)
    return HostList(
        region=region,
        group=group,
        lostAfterSeconds=reading.lost_after,
        hosts=[host_view(host, reading.now, reading.lost_after) for host in hosts],
        nextCursor=next_cursor,
        simulated=simulated_hosts(reading.regions_table, region, reading.hosts_per_region, reading.service)
        if summarised
        else None,
    )


# --- what GET /regions counts -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RealHosts:
    """A region's real hosts, counted: the live ones per build they run, the live ones in all (those with
    nothing installed too), and the lost."""

    by_build: dict[str, int] = field(default_factory=dict)
    live: int = 0
    lost: int = 0


def real_hosts(table, now: float, lost_after: float, service: str = DEFAULT_SERVICE) -> RealHosts:
    """Every group's hosts of the service in the region, from the by-group index."""
    hosts = [host for group in fleet.groups(table, service) for host in fleet.group_hosts(table, group)]
    counts = fleet.host_states(hosts, now, lost_after)
    lost = counts.pop(LOST, 0)
    without_build = counts.pop(NO_BUILD, 0)
    return RealHosts(by_build=counts, live=sum(counts.values()) + without_build, lost=lost)


def regions_real_hosts(reading: HostsReading, regions: tuple[str, ...]) -> dict[str, RealHosts]:
    """Each of `regions`' real hosts, counted, every region at once (each read in its own region)."""
    with ThreadPoolExecutor(max_workers=max(1, len(regions))) as pool:
        counted = pool.map(
            lambda region: real_hosts(reading.fleet_table(region), reading.now, reading.lost_after, reading.service),
            regions,
        )
        return dict(zip(regions, counted, strict=True))
