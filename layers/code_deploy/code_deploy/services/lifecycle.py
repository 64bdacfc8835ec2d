"""Creating and deleting a service: its record, the item in each of its regions' fleet tables that lets
its agents join it, and, at deletion, its goals.

A new service's simulated hosts need nothing written: a region's blocks of them (code_deploy.hosts.store)
start empty, every host on no build, so the service can be deployed at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from code_deploy.deployments import store as deployment_store
from code_deploy.hosts.fleet import service_key
from code_deploy.services import store
from code_deploy.services.model import DEFAULT_SERVICE, Service, ServiceBusy


@dataclass(frozen=True)
class ServiceTables:
    """What a service's lifecycle writes: the services table, the regions table (its goals), the
    deployments table (whether one of it runs) and each region's fleet table (in its region)."""

    services: Any
    regions: Any
    deployments: Any
    fleet_table: Callable[[str], Any]


def create_service(tables: ServiceTables, service: Service) -> tuple[Service, bool]:
    """Creates the service (model.define checked it), or answers it as it is when the same one exists
    (ServiceBusy when another one does under its name); whether it is new. Its agents may join it in
    each of its regions from here on, a retry writing the same items again."""
    created, new = store.create(tables.services, service)
    for region in created.regions:
        tables.fleet_table(region).put_item(
            Item={"pk": service_key(created.name), "service": created.name, "createdAt": created.created_at}
        )
    return created, new


def running_deployments(tables: ServiceTables, service: Service, last_deployment: str | None) -> list[str]:
    """The service's deployments that may still change hosts: those that hold a goal of it, and the last one
    accepted. A deployment overtaken in every region holds no goal; it ends SUPERSEDED at its next step."""
    goals = deployment_store.get_region_goals(tables.regions, service.regions, service.name)
    candidates = {goal.goal_deployment_id for goal in goals.values() if goal.goal_deployment_id}
    candidates |= {last_deployment} if last_deployment else set()
    return sorted(
        deployment_id
        for deployment_id in candidates
        if (status := deployment_store.status_of(tables.deployments, deployment_id)) is not None and not status.finished
    )


def delete_service(tables: ServiceTables, known_regions: tuple[str, ...], name: str) -> Service:
    """Deletes the service unless a deployment of it runs (ServiceBusy, 409, naming it): a conditional
    delete on its count of accepted deployments, so one accepted meanwhile keeps it. Then its goals and
    its regions' items go; its agents are refused at their next registration."""
    if name == DEFAULT_SERVICE:
        raise ServiceBusy(f"{DEFAULT_SERVICE} cannot be deleted: it is what a request without a service deploys")
    service = store.get(tables.services, name, known_regions)
    accepted, last_deployment = store.accepted_count(tables.services, name)
    running = running_deployments(tables, service, last_deployment)
    if running:
        raise ServiceBusy(
            f"service {name} is deploying ({', '.join(running)}): wait for the deployment to end, or abort it"
        )
    store.delete_if_unchanged(tables.services, name, accepted)
    deployment_store.delete_goals(tables.regions, service.regions, name)
    for region in service.regions:
        tables.fleet_table(region).delete_item(Key={"pk": service_key(name)})
    return service
