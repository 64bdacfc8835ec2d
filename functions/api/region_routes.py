"""GET /regions[/{region}]: which build each region should run (its goal) and its hosts per build."""

from __future__ import annotations

from typing import Annotated

from answers import json_response, lookup_responses, settings, table
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path

from code_deploy.deployments.schema import RegionList, RegionView

router = Router()


@router.get(
    "/regions",
    summary="Which build each region should run and runs: its goal and its hosts per build",
    responses={200: json_response(RegionList, "Every region")},
)
def list_regions() -> RegionList:
    from code_deploy.deployments import view

    config = settings()
    return view.list_regions(
        regions_table=table(config.regions_table),
        regions=config.regional_buckets.regions,
        hosts_per_region=config.hosts_per_region,
    )


@router.get(
    "/regions/<region>",
    summary="One region's goal and hosts per build",
    responses=lookup_responses(
        RegionView, "The region", "Not one of the stack's regions", "The region's name is too long"
    ),
)
def get_region(region: Annotated[str, Path(max_length=64, description="An AWS region of the stack")]) -> RegionView:
    from code_deploy.deployments import view

    config = settings()
    return view.read_region(
        regions_table=table(config.regions_table),
        region=region,
        known_regions=config.regional_buckets.regions,
        hosts_per_region=config.hosts_per_region,
    )
