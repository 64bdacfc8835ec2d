"""The services table (global stack, key `name`): one item a service other than `default`, which needs none.

A service's item also counts the deployments accepted for it (`deploymentsAccepted`, written in the
acceptance transaction, code_deploy.deployments.store.accept) and names the last one: deleting a service is a
conditional write on that count, so a deployment accepted after the delete looked for running ones makes
the delete fail instead of leaving a deployment of a service that is gone.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from code_deploy.dynamo import decimal, is_conditional_failure
from code_deploy.services.model import (
    DEFAULT_SERVICE,
    DeploymentPolicy,
    Service,
    ServiceBusy,
    ServiceNotFound,
    default_service,
)

ACCEPTED_COUNT = "deploymentsAccepted"
LAST_DEPLOYMENT = "lastDeploymentId"


def to_item(service: Service) -> dict[str, Any]:
    policy = service.policy
    return {
        "name": service.name,
        "regions": list(service.regions),
        "policy": {
            "waves": [decimal(percent) for percent in policy.waves],
            "bakeSeconds": policy.bake_seconds,
            "maxFailurePercent": decimal(policy.max_failure_percent),
        }
        | ({"regionWaves": [list(wave) for wave in policy.region_waves]} if policy.region_waves else {}),
        "createdAt": service.created_at,
    }


def from_item(item: dict[str, Any]) -> Service:
    policy = item.get("policy", {})
    region_waves = policy.get("regionWaves")
    return Service(
        name=item["name"],
        regions=tuple(item["regions"]),
        policy=DeploymentPolicy(
            waves=tuple(float(percent) for percent in policy.get("waves", [100])),
            bake_seconds=int(policy.get("bakeSeconds", 0)),
            region_waves=tuple(tuple(wave) for wave in region_waves) if region_waves else None,
            max_failure_percent=float(policy.get("maxFailurePercent", 5)),
        ),
        created_at=item.get("createdAt"),
    )


def _same(one: Service, other: Service) -> bool:
    return (one.regions, one.policy) == (other.regions, other.policy)


def create(table, service: Service) -> tuple[Service, bool]:
    """Writes the service unless it exists. Returns the service and whether it is new: the same request
    again answers the service as it is; another definition under its name is refused (ServiceBusy)."""
    try:
        table.put_item(
            Item=to_item(service),
            ConditionExpression="attribute_not_exists(#name)",
            ExpressionAttributeNames={"#name": "name"},
        )
        return service, True
    except ClientError as error:
        if not is_conditional_failure(error):
            raise
    existing = get(table, service.name, ())
    if not _same(existing, service):
        raise ServiceBusy(f"service {service.name} exists with other regions or policy: delete it first")
    return existing, False


def get(table, name: str, known_regions: tuple[str, ...]) -> Service:
    """The service (`default`: every region of the stack, the default policy); ServiceNotFound."""
    if name == DEFAULT_SERVICE:
        return default_service(known_regions)
    item = table.get_item(Key={"name": name}, ConsistentRead=True).get("Item")
    if item is None:
        raise ServiceNotFound(name)
    return from_item(item)


def accepted_count(table, name: str) -> tuple[int, str | None]:
    """How many deployments were accepted for the service, and the last one's id."""
    item = table.get_item(Key={"name": name}, ConsistentRead=True).get("Item")
    if item is None:
        raise ServiceNotFound(name)
    return int(item.get(ACCEPTED_COUNT, 0)), item.get(LAST_DEPLOYMENT)


def list_all(table, known_regions: tuple[str, ...]) -> list[Service]:
    """Every service, `default` first, then by name. The table holds the services and nothing else, so
    listing them all reads it all (a Scan of a few items); a service's own reads are by key."""
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"ConsistentRead": True}
    while True:
        page = table.scan(**kwargs)
        items.extend(page["Items"])
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return [default_service(known_regions), *sorted((from_item(item) for item in items), key=lambda s: s.name)]


def acceptance_update(table_name: str, name: str, deployment_id: str) -> dict[str, Any]:
    """The acceptance transaction's write to the service: it must still exist, and counts the deployment."""
    return {
        "Update": {
            "TableName": table_name,
            "Key": {"name": name},
            "UpdateExpression": f"ADD {ACCEPTED_COUNT} :one SET {LAST_DEPLOYMENT} = :deployment",
            "ConditionExpression": "attribute_exists(#name)",
            "ExpressionAttributeNames": {"#name": "name"},
            "ExpressionAttributeValues": {":one": 1, ":deployment": deployment_id},
        }
    }


def delete_if_unchanged(table, name: str, accepted: int) -> None:
    """Deletes the service if no deployment of it was accepted since `accepted` was read (ServiceBusy)."""
    try:
        table.delete_item(
            Key={"name": name},
            ConditionExpression=f"attribute_exists(#name) AND "
            f"(attribute_not_exists({ACCEPTED_COUNT}) OR {ACCEPTED_COUNT} = :accepted)",
            ExpressionAttributeNames={"#name": "name"},
            ExpressionAttributeValues={":accepted": Decimal(accepted)},
        )
    except ClientError as error:
        if not is_conditional_failure(error):
            raise
        if table.get_item(Key={"name": name}, ConsistentRead=True).get("Item") is None:
            raise ServiceNotFound(name) from None
        raise ServiceBusy(f"service {name}: a deployment of it was accepted meanwhile; it runs") from None
