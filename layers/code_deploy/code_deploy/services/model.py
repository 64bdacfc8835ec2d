"""A service: a name, the regions it runs in and the policy its deployments take by default.

Everything the system deployed before services existed is the service `default`: it runs in every region
of the stack, with the deployment defaults of code_deploy.deployments.model, and needs no record.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from code_deploy.errors import NotAllowedNow, NotFound, Unworkable

DEFAULT_SERVICE = "default"
SERVICE_NAME_PATTERN = r"^[a-z][a-z0-9-]{0,62}$"
SERVICE_NAME_RULE = "a lowercase letter, then up to 62 lowercase letters, digits or hyphens"
_NAME = re.compile(SERVICE_NAME_PATTERN)


class ServiceNotFound(NotFound):
    def __init__(self, name: str):
        super().__init__(f"no service {name}: create it with POST /services, or see GET /services")
        self.name = name


class InvalidService(Unworkable):
    """The service cannot be created as asked; the message says why."""


class ServiceBusy(NotAllowedNow):
    """The service cannot change now (a deployment of it runs, or it is the default); the message says why."""


class OtherServicesBuild(NotAllowedNow):
    """A deployment names a service the build does not belong to."""

    def __init__(self, build_id: str, build_service: str, asked_service: str):
        super().__init__(
            f"build {build_id} belongs to service {build_service}, not {asked_service}: "
            f"deploy it to {build_service}, or build the commit for {asked_service}"
        )


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise InvalidService(f"name: {name!r} is not a service name ({SERVICE_NAME_RULE})")
    return name


@dataclass(frozen=True)
class DeploymentPolicy:
    """What a deployment of the service takes where its request says nothing."""

    waves: tuple[float, ...] = (100.0,)
    bake_seconds: int = 0
    region_waves: tuple[tuple[str, ...], ...] | None = None  # every region at once
    max_failure_percent: float = 5.0


@dataclass(frozen=True)
class Service:
    name: str
    regions: tuple[str, ...]
    policy: DeploymentPolicy = DeploymentPolicy()
    created_at: str | None = None  # None: the default service, which no request created


def default_service(known_regions: tuple[str, ...]) -> Service:
    return Service(DEFAULT_SERVICE, known_regions)


def define(
    name: str,
    known_regions: tuple[str, ...],
    now: str,
    regions: list[str] | None = None,
    policy: DeploymentPolicy | None = None,
) -> Service:
    """A new service as asked, checked as a deployment of it with its policy would be (InvalidService)."""
    from code_deploy.deployments import model  # deferred: a build's record needs the name rule alone

    check_name(name)
    if name == DEFAULT_SERVICE:
        raise ServiceBusy(f"{DEFAULT_SERVICE} exists always: it is what a request without a service deploys")
    policy = policy or DeploymentPolicy()
    try:
        spec = model.spec_from_request(
            "-",
            known_regions,
            regions=regions,
            waves=list(policy.waves),
            bake_seconds=policy.bake_seconds,
            region_waves=[list(wave) for wave in policy.region_waves] if policy.region_waves else None,
            max_failure_percent=policy.max_failure_percent,
        )
    except model.InvalidDeployment as error:
        raise InvalidService(str(error)) from None
    return Service(name, spec.regions, policy, now)


def deployment_spec(service: Service, build_id: str, known_regions: tuple[str, ...], asked: dict[str, Any]):
    """A deployment of the service's build as a request asks it (spec_from_request's keyword arguments,
    those it leaves out absent): what it leaves out takes the service's regions and policy. A policy's
    region waves keep, of the regions asked, those they name. Raises InvalidDeployment."""
    from code_deploy.deployments import model

    policy = service.policy
    regions = asked.get("regions")
    regions = list(service.regions) if regions is None else regions
    region_waves = asked.get("region_waves")
    if region_waves is None and policy.region_waves:
        kept = [[region for region in wave if region in regions] for wave in policy.region_waves]
        region_waves = [wave for wave in kept if wave] or None
    return model.spec_from_request(
        build_id,
        known_regions,
        **(
            asked
            | {
                "regions": regions,
                "region_waves": region_waves,
                "waves": asked.get("waves", list(policy.waves)),
                "bake_seconds": asked.get("bake_seconds", policy.bake_seconds),
                "max_failure_percent": asked.get("max_failure_percent", policy.max_failure_percent),
                "service": service.name,
            }
        ),
    )
