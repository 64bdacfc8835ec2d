"""Every host of a region at once, small enough to redraw every few seconds (the dashboard's host grid):
GET /regions/{region}/grid; and one real host in full: GET /regions/{region}/hosts/{hostId}.

The simulated hosts come from the region's host-state blocks (1,000 hosts an item: HostsPerRegion / 1,000
GetItems, no Scan) as runs of neighbours alike: a wave switches a contiguous range of hosts, so a region of
100,000 hosts on two builds is a handful of runs, and only failures injected at random split them. The real
hosts come from the fleet table's by-group index, as GET /regions counts them, one short row each. A build is
named once, in `builds`, and everywhere else referred to by its place there.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from code_deploy.errors import NotFound
from code_deploy.hosts import fleet, store
from code_deploy.hosts.fleet import FleetHost
from code_deploy.hosts.model import Host
from code_deploy.hosts.schema import HostGrid, HostView, RealHostCell, SimulatedHostRuns
from code_deploy.hosts.view import FleetTables, HostsReading, host_state, host_view
from code_deploy.regions import check_region


class HostNotFound(NotFound):
    """No real host of that id in the region."""


class BuildIndex:
    """The builds the grid names, each given its place in `names` the first time it is seen."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self._places: dict[str, int] = {}

    def place(self, build_id: str | None) -> int | None:
        if build_id is None:
            return None
        if build_id not in self._places:
            self._places[build_id] = len(self.names)
            self.names.append(build_id)
        return self._places[build_id]


def host_runs(hosts: Iterable[Host], builds: BuildIndex) -> list[tuple[int, int | None, int | None, str | None]]:
    """The hosts, in order, as runs of neighbours alike: (how many, current build, previous build, how the last
    deployment to change them did: fetched, cached, failed or None)."""
    runs: list[list[Any]] = []
    for host in hosts:
        cell = [builds.place(host.current), builds.place(host.previous), host.change.value if host.change else None]
        if runs and runs[-1][1:] == cell:
            runs[-1][0] += 1
        else:
            runs.append([1, *cell])
    return [(count, current, previous, change) for count, current, previous, change in runs]


def real_host_cells(
    hosts: Iterable[FleetHost], builds: BuildIndex, now: float, lost_after: float
) -> list[RealHostCell]:
    return [
        RealHostCell(
            hostId=host.host_id,
            group=host.group,
            state=host_state(host, now, lost_after),
            build=builds.place(host.current_build_id),
        )
        for host in hosts
    ]


def host_grid(reading: HostsReading, host_state_tables: FleetTables, region: str) -> HostGrid:
    """The region's every host: its simulated ones in runs (from its host-state table, `host_state_tables`
    (region)), its real ones a row each. Raises RegionNotFound for a region not of the stack's, before any
    table of it is named."""
    check_region(region, reading.regions)
    blocks = store.load(
        host_state_tables(region), reading.hosts_per_region, range(store.block_count(reading.hosts_per_region))
    )
    table = reading.fleet_table(region)
    real = [host for group in fleet.groups(table) for host in fleet.group_hosts(table, group)]
    builds = BuildIndex()
    runs = host_runs((host for block in blocks for host in block.hosts), builds)
    return HostGrid(
        region=region,
        lostAfterSeconds=reading.lost_after,
        simulated=SimulatedHostRuns(hostsTotal=reading.hosts_per_region, runs=runs),
        real=real_host_cells(real, builds, reading.now, reading.lost_after),
        builds=builds.names,
    )


def read_host(reading: HostsReading, region: str, host_id: str) -> HostView:
    """One real host of the region: what it runs, its last report and its last failure. Raises RegionNotFound
    or HostNotFound."""
    check_region(region, reading.regions)
    item = reading.fleet_table(region).get_item(Key={"pk": fleet.host_key(host_id)}, ConsistentRead=True).get("Item")
    if item is None:
        raise HostNotFound(f"no real host {host_id} in {region}: GET /regions/{region}/hosts lists them")
    return host_view(FleetHost.from_item(item), reading.now, reading.lost_after)
