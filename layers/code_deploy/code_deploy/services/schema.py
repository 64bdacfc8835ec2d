"""The services' messages: POST /services, and a service as GET /services[/{name}] answers it."""

from __future__ import annotations

from pydantic import ConfigDict, Field

from code_deploy.schema import Schema
from code_deploy.services.model import SERVICE_NAME_PATTERN, SERVICE_NAME_RULE, Service

ServiceName = Field(
    pattern=SERVICE_NAME_PATTERN,
    description=f"The service's name: {SERVICE_NAME_RULE}",
    examples=["checkout"],
)


class PolicyBody(Schema):
    """What a deployment of the service takes where its request says nothing."""

    model_config = ConfigDict(extra="forbid", strict=True)

    waves: list[float] = Field(default=[100], min_length=1, max_length=20, description="Cumulative percents")
    bakeSeconds: int = Field(default=0, ge=0, le=86_400)
    regionWaves: list[list[str]] | None = Field(default=None, description="Regions a wave at a time")
    maxFailurePercent: float = Field(default=5, ge=0, le=100)


class ServiceRequest(Schema):
    """POST /services."""

    model_config = ConfigDict(extra="forbid", strict=True)

    name: str = ServiceName
    regions: list[str] | None = Field(default=None, description="Its regions; every region of the stack if left out")
    policy: PolicyBody | None = Field(default=None, description="Its deployments' defaults")


class ServiceView(Schema):
    name: str
    regions: list[str]
    policy: PolicyBody
    createdAt: str | None = Field(default=None, description="None: the default service, which always exists")
    links: dict[str, str] = Field(description="Its builds, deployments and regions")

    @classmethod
    def of(cls, service: Service) -> ServiceView:
        policy = service.policy
        query = f"?service={service.name}"
        return cls(
            name=service.name,
            regions=list(service.regions),
            policy=PolicyBody(
                waves=list(policy.waves),
                bakeSeconds=policy.bake_seconds,
                regionWaves=[list(wave) for wave in policy.region_waves] if policy.region_waves else None,
                maxFailurePercent=policy.max_failure_percent,
            ),
            createdAt=service.created_at,
            links={
                "builds": f"/builds{query}",
                "deployments": f"/deployments{query}",
                "regions": f"/regions{query}",
            },
        )


class ServiceList(Schema):
    services: list[ServiceView]


class ServiceDeleted(Schema):
    name: str
    deleted: bool = True
