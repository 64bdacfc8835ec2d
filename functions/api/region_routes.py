"""GET /regions[/{region}]: which build each region should run (its goal) and its live hosts per build;
GET /regions/{region}/hosts: the region's real hosts one by one, its simulated hosts summarised."""

from __future__ import annotations

import time
from typing import Annotated

from answers import (
    PageCursor,
    fleet_table,
    json_response,
    lookup_responses,
    page_limit,
    settings,
    table,
)
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from code_deploy import paging
from code_deploy.deployments.schema import RegionList, RegionView
from code_deploy.hosts.schema import HostList
from code_deploy.schema import ApiError

router = Router()

RegionName = Annotated[str, Path(max_length=64, description="An AWS region of the stack")]
HostsOnPage = page_limit("Hosts")
GroupName = Annotated[
    str | None,
    Query(min_length=1, max_length=128, description="One group's hosts only (simulated: the simulated hosts' summary)"),
]


@router.get(
    "/regions",
    summary="Which build each region should run and runs: its goal, its live hosts per build and its lost hosts",
    responses={200: json_response(RegionList, "Every region")},
)
def list_regions() -> RegionList:
    from code_deploy.deployments import view

    config = settings()
    return view.list_regions(
        regions_table=table(config.regions_table),
        regions=config.regional_buckets.regions,
        hosts_per_region=config.hosts_per_region,
        fleet_table=fleet_table,
        now=time.time(),
        lost_after=config.host_lost_after_seconds,
    )


@router.get(
    "/regions/<region>",
    summary="One region's goal, live hosts per build and lost hosts",
    responses=lookup_responses(
        RegionView, "The region", "Not one of the stack's regions", "The region's name is too long"
    ),
)
def get_region(region: RegionName) -> RegionView:
    from code_deploy.deployments import view

    config = settings()
    return view.read_region(
        regions_table=table(config.regions_table),
        region=region,
        known_regions=config.regional_buckets.regions,
        hosts_per_region=config.hosts_per_region,
        fleet_table=fleet_table,
        now=time.time(),
        lost_after=config.host_lost_after_seconds,
    )


@router.get(
    "/regions/<region>/hosts",
    summary="A region's real hosts, a page at a time (state, builds, heartbeat, last report); its simulated "
    "hosts summarised",
    responses={
        200: json_response(HostList, "A page of the region's real hosts"),
        404: json_response(ApiError, "Not one of the stack's regions"),
        422: json_response(
            ApiError,
            "The region's or group's name is too long, the limit is out of range or the cursor is not one "
            "this API gave out",
        ),
    },
)
def list_region_hosts(
    region: RegionName,
    group: GroupName = None,
    limit: HostsOnPage = paging.DEFAULT_PAGE_SIZE,
    cursor: PageCursor = None,
) -> HostList:
    from code_deploy.hosts import view

    config = settings()
    return view.list_hosts(
        fleet_table=fleet_table,
        regions_table=table(config.regions_table),
        region=region,
        known_regions=config.regional_buckets.regions,
        hosts_per_region=config.hosts_per_region,
        group=group,
        limit=limit,
        cursor=cursor,
        now=time.time(),
        lost_after=config.host_lost_after_seconds,
    )
