"""POST /services creates a service (its regions and its deployments' defaults); GET /services[/{name}]
reads them; DELETE /services/{name} deletes one that is not deploying. The `default` service is what every
request without a service deploys."""

from __future__ import annotations

from http import HTTPStatus
from typing import TYPE_CHECKING, Annotated

import answers
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from code_deploy.builds.model import utc_now
from code_deploy.services.model import SERVICE_NAME_PATTERN, SERVICE_NAME_RULE
from code_deploy.services.schema import ServiceDeleted, ServiceList, ServiceRequest, ServiceView

if TYPE_CHECKING:
    from code_deploy.services.lifecycle import ServiceTables
    from code_deploy.services.model import Service

router = Router()
logger = Logger(child=True)

ServiceNameInPath = Annotated[str, Path(pattern=SERVICE_NAME_PATTERN, description=f"A service: {SERVICE_NAME_RULE}")]
# The `?service=` of the routes that answer for one service (the default one when left out).
ServiceQuery = Annotated[
    str | None,
    Query(pattern=SERVICE_NAME_PATTERN, description=f"One service's only (default: `default`): {SERVICE_NAME_RULE}"),
]


def service_tables() -> ServiceTables:
    from code_deploy.services.lifecycle import ServiceTables

    config = answers.settings()
    return ServiceTables(
        services=answers.table(config.services_table),
        regions=answers.table(config.regions_table),
        deployments=answers.table(config.deployments_table),
        fleet_table=answers.fleet_table,
    )


def known_regions() -> tuple[str, ...]:
    return tuple(answers.settings().regional_buckets.regions)


def service_named(name: str | None) -> Service:
    """The service a `?service=` names (the default one when None); ServiceNotFound (404)."""
    from code_deploy.services import store
    from code_deploy.services.model import DEFAULT_SERVICE

    return store.get(answers.table(answers.settings().services_table), name or DEFAULT_SERVICE, known_regions())


@router.post(
    "/services",
    summary="Create a service: its regions (all by default) and its deployments' defaults",
    middlewares=[answers.refuse_unreadable_body],
    responses=answers.responses(
        201,
        ServiceView,
        "The service, created",
        {
            409: "Another service of that name exists (delete it first), or the name is `default`",
            422: "The name is not a service name, a region is unknown, or the policy is not a valid deployment",
        },
        takes_body=True,
    )
    # A request made again (the same definition) answers the service as it is, created earlier
    | {200: answers.json_response(ServiceView, "The same service existed already: it, as it was created")},
)
def create_service(request: ServiceRequest) -> Response[ServiceView]:
    from code_deploy.services import lifecycle, model

    policy = request.policy
    service = model.define(
        request.name,
        known_regions(),
        utc_now(),
        request.regions,
        model.DeploymentPolicy(
            waves=tuple(policy.waves),
            bake_seconds=policy.bakeSeconds,
            region_waves=tuple(tuple(wave) for wave in policy.regionWaves) if policy.regionWaves else None,
            max_failure_percent=policy.maxFailurePercent,
        )
        if policy
        else None,
    )
    created, new = lifecycle.create_service(service_tables(), service)
    logger.info("service created" if new else "service exists", extra={"service": created.name})
    return Response(
        status_code=HTTPStatus.CREATED if new else HTTPStatus.OK,
        content_type=content_types.APPLICATION_JSON,
        body=ServiceView.of(created),
        headers={"Location": f"/services/{created.name}"},
    )


@router.get(
    "/services",
    summary="List the services, `default` first",
    responses=answers.responses(200, ServiceList, "Every service"),
)
def list_services() -> ServiceList:
    from code_deploy.services import store

    services = store.list_all(answers.table(answers.settings().services_table), known_regions())
    return ServiceList(services=[ServiceView.of(service) for service in services])


@router.get(
    "/services/<name>",
    summary="Read a service: its regions and its deployments' defaults",
    responses=answers.lookup_responses(ServiceView, "The service", "No such service", "Not a service name"),
)
def get_service(name: ServiceNameInPath) -> ServiceView:
    return ServiceView.of(service_named(name))


@router.delete(
    "/services/<name>",
    summary="Delete a service that is not deploying: its goals go, its agents are refused from then on",
    responses=answers.responses(
        200,
        ServiceDeleted,
        "Deleted",
        {
            404: "No such service",
            409: "A deployment of the service runs (it names it), or the service is `default`",
            422: "Not a service name",
        },
    ),
)
def delete_service(name: ServiceNameInPath) -> ServiceDeleted:
    from code_deploy.services import lifecycle

    lifecycle.delete_service(service_tables(), known_regions(), name)
    logger.info("service deleted", extra={"service": name})
    return ServiceDeleted(name=name)
