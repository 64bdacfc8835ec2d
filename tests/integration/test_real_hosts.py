"""Deployments on real hosts: a small fleet of code-deploy-agent processes in one region of the deployed
stack (tools/fleet.py, as `make fleet` starts it), applications pushed as builds (`deployctl push`), and
AutoDeploy taking each to every host. A healthy build ends with every agent's application answering
/health with it; a build whose validate_service fails on half of the agents is stopped by the wave's
health gate and rolled back, each application answering with the build before again."""

from __future__ import annotations

import os

import boto3
import pytest

from tests.integration.helpers import (
    EXAMPLES,
    auto_deployment,
    every_app_answers,
    group_hosts,
    http,
    local_agents,
    push,
    wait_for,
)
from tools import fleet as local_fleet

GROUP = "deploy-itest"  # a group of this module's own
AGENTS = 4  # flaky's validate_service fails on the hosts whose id ends in an odd digit: 001 and 003


@pytest.fixture(scope="module")
def agents(tmp_path_factory, fleet_table, region) -> list[str]:
    base_dir = tmp_path_factory.mktemp("fleet")
    with local_agents(fleet_table, GROUP, base_dir):
        registered = local_fleet.start(agents=AGENTS, group=GROUP, base_dir=base_dir, only_regions=[region], timeout=90)
        yield registered[region]


def test_a_pushed_application_runs_on_every_agent(api, region, agents):
    # Given four agents registered in the region
    assert len(agents) == AGENTS
    # When an application is pushed as a build, and AutoDeploy takes it to every host
    build_id = push(EXAMPLES / "hello")
    deployment = auto_deployment(api, build_id, {"SUCCEEDED", "ROLLED_BACK", "FAILED", "SUPERSEDED"})
    # Then the deployment succeeded, each agent reported it DEPLOYED, and each application answers with it
    assert deployment["status"] == "SUCCEEDED", deployment
    hosts = group_hosts(api, region, GROUP)
    assert {host["hostId"] for host in hosts} == set(agents)
    for host in hosts:
        assert (host["currentBuildId"], host["lastReport"]["status"]) == (build_id, "DEPLOYED"), host
        assert host["lastReport"]["downloadBytes"] > 0
    wait_for(lambda: every_app_answers(api, region, GROUP, build_id), f"every application to answer {build_id}")


def test_a_build_failing_validation_on_half_the_agents_is_rolled_back(api, region, agents):
    # Given every agent on a healthy build
    before = push(EXAMPLES / "hello")
    assert auto_deployment(api, before, {"SUCCEEDED", "ROLLED_BACK", "FAILED"})["status"] == "SUCCEEDED"
    # When a build whose validate_service fails on two of the four agents is pushed
    flaky = push(EXAMPLES / "flaky")
    deployment = auto_deployment(api, flaky, {"SUCCEEDED", "ROLLED_BACK", "FAILED"})
    # Then the wave's health gate stopped it on the real hosts and rolled it back
    assert deployment["status"] == "ROLLED_BACK", deployment
    assert "2 of 4 hosts failed" in deployment["reason"] and "real hosts" in deployment["reason"]
    # And once it says so, every host has reported its return to the build before (the rollback waited
    # for them), and every application answers with it, the region's goal on it
    hosts = group_hosts(api, region, GROUP)
    assert {(host["currentBuildId"], host["lastReport"]["buildId"]) for host in hosts} == {(before, before)}
    assert all(host["lastReport"]["deploymentId"] == deployment["deploymentId"] for host in hosts)
    assert every_app_answers(api, region, GROUP, before)
    # And the failed hosts still say which hook failed and why
    failed = [host for host in hosts if (host["lastFailure"] or {}).get("buildId") == flaky]
    assert sorted(host["hostId"][-1] for host in failed) == ["1", "3"]
    for host in failed:
        assert host["lastFailure"]["hook"] == "validate_service"
        assert "failing validate_service on purpose" in host["lastFailure"]["outputTail"]
    status, region_view = http("GET", f"{api}/regions/{region}")
    assert (status, region_view["goalBuildId"]) == (200, before), region_view
    # And the reports became metrics in the region (once each, when counted): hosts failed, and the time of
    # each host's validate_service hooks
    cloudwatch = boto3.client("cloudwatch", region_name=region)
    names = {
        (metric["MetricName"], tuple(dimension["Value"] for dimension in metric["Dimensions"]))
        for metric in cloudwatch.list_metrics(Namespace=os.environ.get("STACK_NAME", "sam-code-deploy"))["Metrics"]
    }
    assert {
        ("HostsDeployed", (region,)),
        ("HostsFailed", (region,)),
        ("HookSeconds", (region, "validate_service")),
    } <= names
