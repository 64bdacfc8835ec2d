"""GET /regions[/{region}]: which build each region should run (its goal) and its live hosts per build;
GET /regions/{region}/hosts[/{hostId}]: the region's real hosts one by one (or one in full), its simulated
hosts summarised; GET /regions/{region}/grid: every host of the region, compactly (the dashboard's grid)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated

import answers
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from service_routes import ServiceQuery, service_named

from code_deploy import paging
from code_deploy.deployments.schema import RegionList, RegionView
from code_deploy.hosts.schema import HostGrid, HostList, HostView

if TYPE_CHECKING:
    from code_deploy.hosts.view import HostsReading

router = Router()

RegionName = Annotated[str, Path(max_length=64, description="An AWS region of the stack")]
HostsOnPage = answers.page_limit("Hosts")
HostId = Annotated[
    str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$", description="A real host's id")
]
GroupName = Annotated[
    str | None,
    Query(min_length=1, max_length=128, description="One group's hosts only (simulated: the simulated hosts' summary)"),
]


def hosts_reading(service: str | None = None) -> HostsReading:
    """What reading a service's regions and hosts takes (the default service's: None), as of now;
    ServiceNotFound for a service that does not exist."""
    from code_deploy.hosts.view import HostsReading

    config = answers.settings()
    known = service_named(service)
    return HostsReading(
        regions_table=answers.table(config.regions_table),
        fleet_table=answers.fleet_table,
        regions=known.regions,
        hosts_per_region=config.hosts_per_region,
        now=time.time(),
        lost_after=config.host_lost_after_seconds,
        service=known.name,
    )


@router.get(
    "/regions",
    summary="Which build each region should run and runs: its goal, its live hosts per build and its lost hosts "
    "(the default service's, or ?service='s)",
    responses=answers.responses(
        200, RegionList, "Every region of the service", {404: "No such service", 422: "Not a service name"}
    ),
)
def list_regions(service: ServiceQuery = None) -> RegionList:
    from code_deploy.deployments import view

    return view.list_regions(hosts_reading(service))


@router.get(
    "/regions/<region>",
    summary="One region's goal, live hosts per build and lost hosts (the default service's, or ?service='s)",
    responses=answers.lookup_responses(
        RegionView,
        "The region",
        "Not one of the service's regions, or no such service",
        "The region's name is too long, or not a service name",
    ),
)
def get_region(region: RegionName, service: ServiceQuery = None) -> RegionView:
    from code_deploy.deployments import view

    return view.read_region(hosts_reading(service), region)


@router.get(
    "/regions/<region>/hosts",
    summary="A region's real hosts, a page at a time (state, builds, heartbeat, last report); its simulated "
    "hosts summarised",
    responses=answers.responses(
        200,
        HostList,
        "A page of the region's real hosts",
        {
            404: "Not one of the stack's regions",
            422: "The region's or group's name is too long, the limit is out of range or the cursor is not one "
            "this API gave out",
        },
    ),
)
def list_region_hosts(
    region: RegionName,
    group: GroupName = None,
    limit: HostsOnPage = paging.DEFAULT_PAGE_SIZE,
    cursor: answers.PageCursor = None,
    service: ServiceQuery = None,
) -> HostList:
    from code_deploy.hosts import view

    return view.list_hosts(hosts_reading(service), region=region, group=group, limit=limit, cursor=cursor)


@router.get(
    "/regions/<region>/hosts/<hostId>",
    summary="One real host of a region: what it runs, its last report and its last failure (a hook's output)",
    responses=answers.lookup_responses(
        HostView,
        "The host",
        "Not one of the stack's regions, or no real host of that id in it",
        "The region's name is too long or the host id is not one",
    ),
)
def get_region_host(region: RegionName, hostId: HostId) -> HostView:  # noqa: N803
    from code_deploy.hosts import grid

    return grid.read_host(hosts_reading(), region, hostId)


@router.get(
    "/regions/<region>/grid",
    summary="Every host of a region at once, compactly: the simulated ones as runs of hosts alike, the real ones a "
    "row each (build and state), for drawing",
    responses=answers.lookup_responses(
        HostGrid, "The region's hosts", "Not one of the stack's regions", "The region's name is too long"
    ),
)
def get_region_grid(region: RegionName) -> HostGrid:
    from code_deploy.hosts import grid

    return grid.host_grid(hosts_reading(), answers.host_state_table, region)
