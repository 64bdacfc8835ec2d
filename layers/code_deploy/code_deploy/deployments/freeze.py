"""Freezes: a time when no deployment may start or go on (of every service, or of one), kept in the
regions table beside the regions' goals, one item a scope (`region` = "FREEZE#*" for everything,
"FREEZE#<service>" for one service), so accepting a deployment reads it in the same place as the goals.

A freeze refuses new deployments (NotAllowedNow quoting its reason) and holds running ones PAUSED at their
next step, noting each on the freeze's item; lifting it (or its `until` passing) lets them go on. A
deployment passes a freeze only with an explicit override and a reason, both recorded on it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from code_deploy.deployments import store, waits
from code_deploy.deployments.model import DeploymentStatus
from code_deploy.deployments.store import Act, StatusMove, Tables
from code_deploy.dynamo import update_if
from code_deploy.errors import NotAllowedNow

FREEZE_PREFIX = "FREEZE#"
EVERYTHING = "*"


class Frozen(NotAllowedNow):
    """A freeze refuses the deployment; the message quotes its reason."""


@dataclass(frozen=True)
class Freeze:
    scope: str  # EVERYTHING, or a service's name
    reason: str
    by: str | None  # the caller's SigV4 principal
    at: str
    until: str | None = None  # ISO 8601 UTC: it ends by itself then; None: until lifted
    paused: tuple[str, ...] = ()  # the deployments it holds PAUSED

    @property
    def service(self) -> str | None:
        return None if self.scope == EVERYTHING else self.scope

    def holds(self, now: datetime) -> bool:
        return self.until is None or datetime.fromisoformat(self.until.replace("Z", "+00:00")) > now

    def seconds_left(self, now: datetime) -> float | None:
        if self.until is None:
            return None
        return (datetime.fromisoformat(self.until.replace("Z", "+00:00")) - now).total_seconds()

    def refusal(self) -> str:
        what = "deployments are frozen" if self.service is None else f"deployments of {self.service} are frozen"
        until = f" until {self.until}" if self.until else ""
        return (
            f'{what}: "{self.reason}" (by {self.by or "unknown"} at {self.at}{until}); pass freezeOverride '
            '{"reason": ...} to deploy anyway'
        )

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Freeze:
        return cls(
            scope=item["region"].removeprefix(FREEZE_PREFIX),
            reason=item["reason"],
            by=item.get("frozenBy"),
            at=item["frozenAt"],
            until=item.get("until"),
            paused=tuple(sorted(item.get("pausedDeployments", set()))),
        )


def _key(service: str | None) -> dict[str, str]:
    return {"region": f"{FREEZE_PREFIX}{service or EVERYTHING}"}


def freeze(regions_table, reason: str, act: Act, until: str | None = None, service: str | None = None) -> Freeze:
    """Freezes every deployment (or `service`'s) until lifted or until `until`; a freeze already there
    takes the new reason, author and end, and keeps the deployments it holds."""
    sets = "SET reason = :reason, frozenAt = :at" + (", frozenBy = :by" if act.by else "")
    values: dict[str, Any] = {":reason": reason, ":at": act.at} | ({":by": act.by} if act.by else {})
    if until:
        sets += ", #until = :until"
        values[":until"] = until
    item = regions_table.update_item(
        Key=_key(service),
        UpdateExpression=sets + ("" if until else " REMOVE #until"),
        ExpressionAttributeNames={"#until": "until"},
        ExpressionAttributeValues=values,
        ReturnValues="ALL_NEW",
    )["Attributes"]
    return Freeze.from_item(item)


def current(regions_table, service: str | None = None, now: datetime | None = None) -> Freeze | None:
    """The freeze that holds now for a deployment (of `service`): everything's first, then the service's."""
    now = now or datetime.now(UTC)
    for scope in (None, service) if service else (None,):
        item = regions_table.get_item(Key=_key(scope), ConsistentRead=True).get("Item")
        if item and (found := Freeze.from_item(item)).holds(now):
            return found
    return None


def read(regions_table, service: str | None = None) -> Freeze | None:
    """The freeze of `service` (None: of everything), as kept, whether or not its `until` passed."""
    item = regions_table.get_item(Key=_key(service), ConsistentRead=True).get("Item")
    return Freeze.from_item(item) if item else None


def note_paused(regions_table, freeze_scope: str, deployment_id: str) -> None:
    """Notes on the freeze's item a deployment it holds, so lifting it lets the deployment go on."""
    regions_table.update_item(
        Key={"region": f"{FREEZE_PREFIX}{freeze_scope}"},
        UpdateExpression="ADD pausedDeployments :ids",
        ExpressionAttributeValues={":ids": {deployment_id}},
    )


def lift(tables: Tables, sfn_client, act: Act, service: str | None = None) -> Freeze | None:
    """Lifts the freeze (None: there was none), then resumes each deployment it held that is still PAUSED
    by it (a conditional write each: one paused or resumed by a person meanwhile is left alone) and wakes
    its waiting regions."""
    item = tables.regions.delete_item(Key=_key(service), ReturnValues="ALL_OLD").get("Attributes")
    if not item:
        return None
    lifted = Freeze.from_item(item)
    for deployment_id in lifted.paused:
        if resume_held(tables, deployment_id, lifted.scope, act):
            waits.wake_regions(sfn_client, store.get(tables.deployments, deployment_id), "unfrozen")
    return lifted


def resume_held(tables: Tables, deployment_id: str, scope: str, act: Act) -> bool:
    """Resumes a deployment a freeze of `scope` holds PAUSED; whether it did."""
    condition = "pausedByFreeze = :scope AND #status = :paused"
    return update_if(
        tables.deployments,
        Key={"deployment_id": deployment_id, "record": store.DEPLOYMENT_RECORD},
        UpdateExpression=(
            "SET #status = :on, updatedAt = :now, history = list_append(history, :entry) REMOVE pausedByFreeze, reason"
        ),
        ConditionExpression=condition,
        ExpressionAttributeNames={"#status": "status"},
        ExpressionAttributeValues={
            ":scope": scope,
            ":paused": DeploymentStatus.PAUSED.value,
            ":on": DeploymentStatus.IN_PROGRESS.value,
            ":now": act.at,
            ":entry": [
                {"status": DeploymentStatus.IN_PROGRESS.value, "at": act.at, "reason": "the freeze ended"}
                | ({"by": act.by} if act.by else {})
            ],
        },
    )


def hold(tables: Tables, deployment_id: str, frozen: Freeze, now: str) -> bool:
    """Pauses a running deployment a freeze holds (noted on the freeze); whether this call paused it."""
    paused = store.change_status(
        tables.deployments,
        deployment_id,
        DeploymentStatus.PAUSED,
        now,
        (DeploymentStatus.QUEUED, DeploymentStatus.IN_PROGRESS),
        move=StatusMove(reason=f'frozen: "{frozen.reason}"', paused_by_freeze=frozen.scope),
    )
    if paused:
        note_paused(tables.regions, frozen.scope, deployment_id)
    return paused
