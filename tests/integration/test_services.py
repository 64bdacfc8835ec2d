"""Services on the deployed stack: two services deployed side by side, each to its own goals and hosts; a
deployment naming another service than its build's, a deletion while one runs, unknown services, bad names
and an agent of an unknown service, each refused with its reason."""

from __future__ import annotations

import secrets
import time

import pytest

from code_deploy_agent.agent import Agent
from code_deploy_agent.aws_region import AwsRegion
from code_deploy_agent.config import AgentConfig, ConfigError, check_config
from tests.integration.helpers import deploy, finished, http, wait_for


@pytest.fixture(scope="module")
def service(api) -> str:
    name = f"svc-{secrets.token_hex(3)}"
    status, created = http("POST", f"{api}/services", {"name": name, "policy": {"waves": [50, 100]}})
    assert status == 201, created
    yield name
    http("DELETE", f"{api}/services/{name}")


def deployed_build(api: str, service: str | None = None) -> str:
    body = {"commit": secrets.token_hex(20)} | ({"service": service} if service else {})
    status, accepted = http("POST", f"{api}/builds", body)
    assert status == 202, accepted
    assert accepted["service"] == (service or "default")
    build_id = accepted["buildId"]
    wait_for(
        lambda: http("GET", f"{api}/builds/{build_id}")[1]["deploymentStatus"] in ("DEPLOYED", "SUPERSEDED"),
        f"{build_id} deployed",
    )
    return build_id


def test_two_services_deploy_side_by_side_each_to_its_own_goals_and_hosts(api, service, hosts_per_region):
    # Given a build of each service (AutoDeploy put each on its own service's hosts)
    ours, theirs = deployed_build(api, service), deployed_build(api)
    # When both deploy at once
    started = time.monotonic()
    ours_id = deploy(api, {"buildId": ours})  # the service defaults to the build's
    theirs_id = deploy(api, {"buildId": theirs, "service": "default"})
    ours_view, theirs_view = finished(api, ours_id), finished(api, theirs_id)
    # Then both succeed, neither overtaken by the other, each with its service's policy
    assert (ours_view["status"], theirs_view["status"]) == ("SUCCEEDED", "SUCCEEDED"), (ours_view, theirs_view)
    assert (ours_view["service"], theirs_view["service"]) == (service, "default")
    assert time.monotonic() - started < 240
    # and each service's regions run its own build on every host, the other's goals untouched
    for name, build in ((service, ours), ("default", theirs)):
        status, answer = http("GET", f"{api}/regions?service={name}")
        assert status == 200, answer
        for region in answer["regions"]:
            assert region["goalBuildId"] == build, (name, region)
            assert region["hostsByBuild"].get(build) == hosts_per_region, (name, region)
            assert (theirs if name == service else ours) not in region["hostsByBuild"], (name, region)
    # its builds and deployments are listed apart, from its indexes
    assert ours in {build["buildId"] for build in http("GET", f"{api}/builds?service={service}")[1]["builds"]}
    listed = http("GET", f"{api}/deployments?service={service}")[1]["deployments"]
    assert ours_id in {deployment["deploymentId"] for deployment in listed}
    assert theirs_id not in {deployment["deploymentId"] for deployment in listed}


def test_a_build_of_one_service_deployed_to_another_is_a_409_naming_both(api, service):
    build = deployed_build(api, service)
    status, answer = http("POST", f"{api}/deployments", {"buildId": build, "service": "default"})
    assert status == 409, answer
    assert f"belongs to service {service}, not default" in answer["message"]


def test_a_service_is_not_deleted_while_it_deploys(api):
    name = f"svc-{secrets.token_hex(3)}"
    assert http("POST", f"{api}/services", {"name": name, "policy": {"bakeSeconds": 20}})[0] == 201
    build = deployed_build(api, name)
    deployment_id = deploy(api, {"buildId": build})  # baking 20 s
    status, answer = http("DELETE", f"{api}/services/{name}")
    assert status == 409, answer
    assert "is deploying" in answer["message"]
    http("POST", f"{api}/deployments/{deployment_id}/promote")
    finished(api, deployment_id)
    assert http("DELETE", f"{api}/services/{name}") == (200, {"name": name, "deleted": True})
    assert http("GET", f"{api}/regions?service={name}")[0] == 404


@pytest.mark.parametrize(
    "method,path,body,status",
    [
        ("POST", "/services", {"name": "Not_A_Name"}, 422),
        ("POST", "/services", {"name": "x" * 64}, 422),
        ("GET", "/services/no-such-service", None, 404),
        ("POST", "/builds", {"commit": "9fceb02d", "service": "no-such-service"}, 404),
        ("GET", "/regions?service=no-such-service", None, 404),
        ("GET", "/regions/us-west-2?service=no-such-service", None, 404),
        ("GET", "/deployments?service=no-such-service", None, 404),
        ("DELETE", "/services/default", None, 409),
    ],
)
def test_bad_and_unknown_services_are_refused_with_a_message(api, method, path, body, status):
    answered, answer = http(method, f"{api}{path}", body)
    assert answered == status, answer
    assert answer["message"]


def test_an_agent_of_a_service_the_region_does_not_run_is_refused_with_the_reason(
    region, fleet_table, service, tmp_path
):
    def agent(name: str) -> Agent:
        config = check_config(
            AgentConfig(region, "web", f"host-{secrets.token_hex(3)}", fleet_table.name, "-", tmp_path, service=name)
        )
        return Agent(config, AwsRegion(region, fleet_table.name, "-"))

    refused = agent("no-such-service")
    with pytest.raises(ConfigError, match=f"service no-such-service does not run in {region}"):
        refused.register()
    refused.close()
    joined = agent(service)
    joined.register()
    joined.close()
    item = fleet_table.get_item(Key={"pk": f"HOST#{joined.config.host_id}"})["Item"]
    assert (item["service"], item["group"]) == (service, f"{service}/web")
    fleet_table.delete_item(Key={"pk": f"HOST#{joined.config.host_id}"})
