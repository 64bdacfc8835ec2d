"""Services: the name rule and a service's definition, its record, two services deployed side by side (each
its own goals and hosts, "the later wins" within one), the refusals (another service's build, a service
deleted while it deploys, an unknown one), and the API's answers; over moto, each region's sync in-process."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

import boto3
import pytest

from code_deploy.builds import store as build_store
from code_deploy.builds.model import BuildStatus
from code_deploy.deployments import accept as acceptance
from code_deploy.deployments import model as deployment_model
from code_deploy.deployments import store as deployment_store
from code_deploy.hosts import fleet
from code_deploy.hosts import store as host_store
from code_deploy.services import lifecycle, model, store
from code_deploy.services.model import DEFAULT_SERVICE, DeploymentPolicy
from tests.unit.conftest import FLEET, HOSTS_PER_REGION, REGIONS, SERVICES_TABLE, STACK
from tests.unit.test_rollout import run
from tests.utils import api_event, load_handler

WEB_BUILD, DEFAULT_BUILD, LATER_WEB_BUILD = (f"build-20261206T000000Z-0000000{n}" for n in (4, 5, 6))


@pytest.fixture
def tables(stack) -> deployment_store.Tables:
    for region in REGIONS:
        for build in (WEB_BUILD, DEFAULT_BUILD, LATER_WEB_BUILD):
            boto3.client("s3", region_name=region).put_object(
                Bucket=stack.regional_bucket(region), Key=f"builds/{build}.zip", Body=b"x" * 4096
            )
    return deployment_store.Tables.of(
        boto3.resource("dynamodb"), f"{STACK}-deployments", f"{STACK}-regions", stack.builds_table, SERVICES_TABLE
    )


@pytest.fixture
def service_tables(stack, tables) -> lifecycle.ServiceTables:
    return lifecycle.ServiceTables(tables.services, tables.regions, tables.deployments, stack.fleet)


def create(service_tables, name: str, **asked) -> model.Service:
    return lifecycle.create_service(service_tables, model.define(name, REGIONS, "2026-12-06T00:00:00Z", **asked))[0]


def build_of(tables, build_id: str, service: str) -> None:
    build_store.create_build(
        tables.builds, build_id, "0" * 40, "2026-12-06T00:00:00Z", submitter=build_store.Submitter(service)
    )


def accept(tables, build: str, service: str = DEFAULT_SERVICE, **request) -> str:
    spec = deployment_model.spec_from_request(build, REGIONS, service=service, **request)
    artifact = build_store.ArtifactLocation("global", f"builds/{build}.zip", "", 4096, 0)
    machines = boto3.client("stepfunctions").list_state_machines()["stateMachines"]
    rollout_arn = next(machine["stateMachineArn"] for machine in machines if machine["name"].endswith("-roll-out"))
    rollouts = acceptance.Rollouts(tables, boto3.client("stepfunctions"), rollout_arn, FLEET)
    return acceptance.create_deployment(rollouts, spec, artifact).deployment_id


@pytest.mark.parametrize("name", ["", "Web", "9web", "web_1", "-web", "w" * 64, "web service"])
def test_a_bad_name_is_refused_with_the_rule(name):
    with pytest.raises(model.InvalidService, match="lowercase letter"):
        model.define(name, REGIONS, "t")


def test_a_definition_is_checked_as_its_deployments_would_be():
    with pytest.raises(model.InvalidService, match="unknown mars-north-1"):
        model.define("web", REGIONS, "t", regions=["mars-north-1"])
    with pytest.raises(model.InvalidService, match="must reach 100"):
        model.define("web", REGIONS, "t", policy=DeploymentPolicy(waves=(10, 50)))
    with pytest.raises(model.ServiceBusy, match="exists always"):
        model.define(DEFAULT_SERVICE, REGIONS, "t")


def test_a_service_is_created_once_and_listed_after_the_default(service_tables, stack):
    web = create(service_tables, "web", regions=["us-west-2", "eu-west-1"], policy=DeploymentPolicy(waves=(50, 100)))
    again, new = lifecycle.create_service(
        service_tables,
        model.define("web", REGIONS, "later", ["us-west-2", "eu-west-1"], DeploymentPolicy(waves=(50, 100))),
    )
    assert (again, new) == (web, False)
    with pytest.raises(model.ServiceBusy, match="other regions or policy"):
        create(service_tables, "web")
    assert [service.name for service in store.list_all(service_tables.services, REGIONS)] == [DEFAULT_SERVICE, "web"]
    assert store.get(service_tables.services, DEFAULT_SERVICE, REGIONS).regions == REGIONS
    # its agents may join it in its regions, and only there
    assert stack.fleet("us-west-2").get_item(Key={"pk": fleet.service_key("web")}).get("Item")
    assert stack.fleet("ap-southeast-2").get_item(Key={"pk": fleet.service_key("web")}).get("Item") is None
    with pytest.raises(model.ServiceNotFound, match="no service nope"):
        store.get(service_tables.services, "nope", REGIONS)


def test_two_services_deploy_side_by_side_each_to_its_own_goals_and_hosts(tables, service_tables, regional_syncs):
    create(service_tables, "web")
    build_of(tables, WEB_BUILD, "web")
    build_of(tables, DEFAULT_BUILD, DEFAULT_SERVICE)
    # Given both accepted before either runs: neither overtakes the other
    web_id = accept(tables, WEB_BUILD, "web", waves=[50, 100])
    default_id = accept(tables, DEFAULT_BUILD)
    web, default = run(tables, regional_syncs, web_id), run(tables, regional_syncs, default_id)
    assert (web.status, default.status) == ("SUCCEEDED", "SUCCEEDED")
    assert (web.service, default.service) == ("web", DEFAULT_SERVICE)
    web_goals = deployment_store.get_region_goals(tables.regions, REGIONS, "web")
    default_goals = deployment_store.get_region_goals(tables.regions, REGIONS)
    for region in REGIONS:
        assert (web_goals[region].goal_build_id, default_goals[region].goal_build_id) == (WEB_BUILD, DEFAULT_BUILD)
        # each service's simulated hosts are its own: every one on its own service's build
        assert web_goals[region].hosts_by_build == {WEB_BUILD: HOSTS_PER_REGION}
        assert default_goals[region].hosts_by_build == {DEFAULT_BUILD: HOSTS_PER_REGION}
    # and the later deployment of a service wins within it, leaving the other service alone
    build_of(tables, LATER_WEB_BUILD, "web")
    first, later = accept(tables, WEB_BUILD, "web"), accept(tables, LATER_WEB_BUILD, "web")
    assert run(tables, regional_syncs, first).status == "SUPERSEDED"
    assert run(tables, regional_syncs, later).status == "SUCCEEDED"
    assert deployment_store.get_region_goals(tables.regions, REGIONS)[REGIONS[0]].goal_build_id == DEFAULT_BUILD
    # its deployments, newest first, through its own index
    listed, _ = deployment_store.list_recent(
        tables.deployments, build_store.paging.PageRequest("2026-12-31T00:00:00Z", 10, None, "web#")
    )
    assert {deployment.deployment_id for deployment in listed} == {web_id, first, later}


def test_a_build_of_one_service_deployed_to_another_is_refused_naming_both(tables, service_tables):
    create(service_tables, "web")
    build_of(tables, WEB_BUILD, "web")
    with pytest.raises(model.OtherServicesBuild, match=f"build {WEB_BUILD} belongs to service web, not default"):
        acceptance.deployment_service(tables, WEB_BUILD, DEFAULT_SERVICE, REGIONS)
    with pytest.raises(model.ServiceNotFound):
        acceptance.deployment_service(tables, WEB_BUILD, "nope", REGIONS)
    assert acceptance.deployment_service(tables, WEB_BUILD, None, REGIONS).name == "web"


def test_a_service_policy_fills_in_what_a_deployment_leaves_out():
    web = model.Service(
        "web", REGIONS, DeploymentPolicy(waves=(10, 100), bake_seconds=30, region_waves=((REGIONS[0],), REGIONS[1:]))
    )
    spec = model.deployment_spec(web, WEB_BUILD, REGIONS, {})
    assert (spec.waves, spec.bake_seconds, spec.region_waves, spec.service) == (
        (10, 100),
        30,
        ((REGIONS[0],), REGIONS[1:]),
        "web",
    )
    # a subset of its regions keeps the policy's order of those
    spec = model.deployment_spec(web, WEB_BUILD, REGIONS, {"regions": list(REGIONS[1:]), "waves": [100]})
    assert (spec.regions, spec.region_waves, spec.waves) == (REGIONS[1:], (REGIONS[1:],), (100,))


def test_a_service_is_not_deleted_while_a_deployment_of_it_runs(tables, service_tables, regional_syncs, stack):
    create(service_tables, "web")
    build_of(tables, WEB_BUILD, "web")
    running = accept(tables, WEB_BUILD, "web")
    with pytest.raises(model.ServiceBusy, match=f"service web is deploying \\({running}\\)"):
        lifecycle.delete_service(service_tables, REGIONS, "web")
    with pytest.raises(model.ServiceBusy, match="cannot be deleted"):
        lifecycle.delete_service(service_tables, REGIONS, DEFAULT_SERVICE)
    run(tables, regional_syncs, running)
    lifecycle.delete_service(service_tables, REGIONS, "web")
    assert deployment_store.get_region_goals(tables.regions, REGIONS, "web")[REGIONS[0]].goal_build_id is None
    assert stack.fleet(REGIONS[0]).get_item(Key={"pk": fleet.service_key("web")}).get("Item") is None
    # a deployment of a service gone is refused, and writes nothing
    with pytest.raises(model.ServiceNotFound):
        accept(tables, WEB_BUILD, "web")


def test_a_deletion_that_races_an_acceptance_is_refused(service_tables, tables):
    create(service_tables, "web")
    accepted, _ = store.accepted_count(tables.services, "web")
    tables.services.update_item(
        Key={"name": "web"}, UpdateExpression="ADD deploymentsAccepted :one", ExpressionAttributeValues={":one": 1}
    )
    with pytest.raises(model.ServiceBusy, match="accepted meanwhile"):
        store.delete_if_unchanged(tables.services, "web", accepted)


def test_each_service_keeps_its_simulated_hosts_in_blocks_of_its_own():
    assert host_store.block_key(DEFAULT_SERVICE, 3) == 3
    web, api = host_store.block_key("web", 0), host_store.block_key("api", 0)
    assert len({web, api, 0}) == 3
    assert abs(web - api) >= host_store.SERVICE_KEY_SPAN and web < 10**38


def test_a_regions_groups_are_each_one_services(stack):
    table = stack.fleet(REGIONS[0])
    for group in ("fleet", "web/fleet", "web/canary", "api/fleet"):
        fleet.note_group(table, group)
    assert fleet.groups(table, DEFAULT_SERVICE) == ["fleet"]
    assert fleet.groups(table, "web") == ["web/canary", "web/fleet"]
    assert fleet.groups(table) == ["api/fleet", "fleet", "web/canary", "web/fleet"]


# --- through the API -----------------------------------------------------------------------------------


@pytest.fixture
def api(stack):
    return load_handler("api")


def call(api, context, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
    headers = {"Content-Type": "application/json"} if body is not None else {}
    path, _, query = path.partition("?")
    event = api_event(method, path, json.dumps(body) if body is not None else None, headers)
    event["queryStringParameters"] = dict(parse_qsl(query)) or None
    event["multiValueQueryStringParameters"] = {name: [value] for name, value in parse_qsl(query)} or None
    answer = api.lambda_handler(event, context)
    return answer["statusCode"], json.loads(answer["body"])


def test_the_services_api_creates_lists_reads_and_deletes(api, context):
    status, created = call(api, context, "POST", "/services", {"name": "web", "regions": ["us-west-2"]})
    assert (status, created["name"], created["regions"]) == (201, "web", ["us-west-2"])
    assert created["links"]["regions"] == "/regions?service=web"
    assert call(api, context, "POST", "/services", {"name": "web", "regions": ["us-west-2"]})[0] == 200
    assert call(api, context, "POST", "/services", {"name": "web"})[0] == 409
    status, listed = call(api, context, "GET", "/services")
    assert [service["name"] for service in listed["services"]] == [DEFAULT_SERVICE, "web"]
    assert call(api, context, "GET", "/services/web")[1]["regions"] == ["us-west-2"]
    status, regions = call(api, context, "GET", "/regions?service=web")
    assert (status, [region["region"] for region in regions["regions"]]) == (200, ["us-west-2"])
    assert call(api, context, "GET", "/regions/eu-west-1?service=web")[0] == 404
    assert call(api, context, "DELETE", "/services/web") == (200, {"name": "web", "deleted": True})
    assert call(api, context, "GET", "/services/web")[0] == 404


@pytest.mark.parametrize(
    "method,path,body,status,message",
    [
        ("POST", "/services", {"name": "Bad_Name"}, 422, "name"),
        ("POST", "/services", {"name": "web", "regions": ["mars-north-1"]}, 422, "unknown mars-north-1"),
        ("POST", "/services", {"name": "default"}, 409, "exists always"),
        ("GET", "/services/nope", None, 404, "no service nope"),
        ("GET", "/services/Nope", None, 422, "name"),
        ("DELETE", "/services/default", None, 409, "cannot be deleted"),
        ("DELETE", "/services/nope", None, 404, "no service nope"),
        ("GET", "/regions?service=nope", None, 404, "no service nope"),
        ("GET", "/builds?service=nope", None, 404, "no service nope"),
        ("GET", "/deployments?service=nope", None, 404, "no service nope"),
        ("POST", "/builds", {"commit": "9fceb02d", "service": "nope"}, 404, "no service nope"),
    ],
)
def test_the_api_refuses_bad_and_unknown_services_with_a_message(api, context, method, path, body, status, message):
    answered, answer = call(api, context, method, path, body)
    assert answered == status
    assert message in answer["message"]


def test_a_services_builds_are_listed_apart(api, context, tables):
    call(api, context, "POST", "/services", {"name": "web"})
    status, accepted = call(api, context, "POST", "/builds", {"commit": "9fceb02d", "service": "web"})
    assert (status, accepted["service"]) == (202, "web")
    call(api, context, "POST", "/builds", {"commit": "9fceb02e"})
    web_builds = call(api, context, "GET", "/builds?service=web")[1]["builds"]
    assert [build["buildId"] for build in web_builds] == [accepted["buildId"]]
    assert len(call(api, context, "GET", "/builds")[1]["builds"]) == 2
    assert build_store.get_build_record(tables.builds, accepted["buildId"]).status == BuildStatus.QUEUED


def test_a_deployment_naming_another_service_than_its_builds_is_a_409_naming_both(api, context, tables):
    call(api, context, "POST", "/services", {"name": "web"})
    build_of(tables, WEB_BUILD, "web")
    status, answer = call(api, context, "POST", "/deployments", {"buildId": WEB_BUILD, "service": "default"})
    assert status == 409
    assert "belongs to service web, not default" in answer["message"]
