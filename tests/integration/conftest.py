"""Integration fixtures: the stacks deployed on the emulator (make deploy), found through the global
stack's outputs (the `stack_outputs` fixture, in tests/conftest.py) and through them each region's stack,
in its region. The helpers the tests share are in helpers.py."""

from __future__ import annotations

import boto3
import pytest

from tools.stack import api_base_url, regional_buckets, regional_outputs, regions


@pytest.fixture(scope="session")
def api(stack_outputs) -> str:
    return api_base_url(stack_outputs)


@pytest.fixture(scope="session")
def buckets(stack_outputs) -> dict[str, str]:
    return regional_buckets(stack_outputs)


@pytest.fixture(scope="session")
def hosts_per_region(stack_outputs) -> int:
    return int(stack_outputs["SimulatedHostsPerRegion"])


@pytest.fixture(scope="session")
def regional_stacks(stack_outputs) -> dict[str, dict[str, str]]:
    """Region -> its regional stack's outputs."""
    return {region: regional_outputs(stack_outputs, region) for region in regions(stack_outputs)}


@pytest.fixture(scope="session")
def region(stack_outputs) -> str:
    """The region where the real hosts' tests start their agents: the stack's first."""
    return regions(stack_outputs)[0]


@pytest.fixture(scope="session")
def fleet_table(region, regional_stacks):
    """That region's fleet table, where its agents register, heartbeat and report."""
    return boto3.resource("dynamodb", region_name=region).Table(regional_stacks[region]["FleetTableName"])
