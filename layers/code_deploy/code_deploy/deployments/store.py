"""Deployments and the regions' goals, in the global stack's deployments and regions tables.

The deployments table holds, under one deployment id, the deployment (`record` = "DEPLOYMENT") and one
item per region it reaches (`record` = "REGION#<region>"): a deployment's whole state is one Query.
The regions table holds one item per service and region (key goal_key: the region's name for the
default service, whose items predate services, `<service>#<region>` for another): its goal (the build it
should run, and the deployment that set it), the goal before it (where a rollback returns), `goalVersion`,
which grows with every goal change and orders them, and the service's hosts per build in the region as
its sync last reported them. A service's goals never meet another's: "the later wins" within a service.

A deployment is accepted in one transaction with the goal of every region it reaches, each on the
condition that the goal is still the one read: of two racing deployments, one commits first and the
other reads again and commits after it, so the later always wins, in every region the two share.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

from botocore.exceptions import ClientError

from code_deploy import paging
from code_deploy.deployments.model import (
    ACTIVE_STATUSES,
    RUNNING_STATUSES,
    DeploymentSpec,
    DeploymentStatus,
    RegionBefore,
    RegionRolloutStatus,
    Simulation,
)
from code_deploy.dynamo import StatusChange, decimal, query_all, update_if
from code_deploy.errors import NotAllowedNow, NotFound
from code_deploy.services import store as service_store
from code_deploy.services.model import DEFAULT_SERVICE

DEPLOYMENT_RECORD = "DEPLOYMENT"
REGION_RECORD_PREFIX = "REGION#"
ACCEPT_ATTEMPTS = 8
# The deployments table's index that lists deployments newest first (code_deploy.paging).
DEPLOYMENTS = paging.RecentIndex(
    "by-created-month", "createdMonth", frozenset({"deployment_id", "record", "createdMonth", "createdAt"})
)
# One service's deployments, newest first: partitions `<service>#<month>` (paging.service_partition).
SERVICE_DEPLOYMENTS = paging.RecentIndex(
    "by-service-month", "serviceMonth", frozenset({"deployment_id", "record", "serviceMonth", "createdAt"})
)


class DeploymentNotFound(NotFound):
    def __init__(self, deployment_id: str):
        super().__init__(f"no deployment {deployment_id}")
        self.deployment_id = deployment_id


class ActionNotAllowed(NotAllowedNow):
    """The action does not apply to the deployment as it stands; the message says why."""


def _status_in(statuses: tuple[DeploymentStatus, ...]) -> tuple[str, dict[str, str]]:
    """A condition that the deployment's status is one of `statuses` (#status), and its values."""
    values = {f":from{index}": status.value for index, status in enumerate(statuses)}
    return f"#status IN ({', '.join(values)})", values


def spec_to_json(spec: DeploymentSpec) -> str:
    return json.dumps(
        {
            "regions": list(spec.regions),
            "waves": list(spec.waves),
            "bakeSeconds": spec.bake_seconds,
            "regionWaves": [list(wave) for wave in spec.region_waves],
            "maxFailurePercent": spec.max_failure_percent,
            "simulate": {"hostFailurePercent": spec.simulation.host_failure_percent, "seed": spec.simulation.seed},
            "waveTimeoutSeconds": spec.wave_timeout_seconds,
            "alarms": list(spec.alarms),
            "onGateFailure": spec.on_gate_failure,
            "approvalRequired": list(spec.approval_waves),
        }
    )


def spec_from_json(build_id: str, text: str) -> DeploymentSpec:
    spec = json.loads(text)
    return DeploymentSpec(
        build_id=build_id,
        regions=tuple(spec["regions"]),
        waves=tuple(spec["waves"]),
        bake_seconds=spec["bakeSeconds"],
        region_waves=tuple(tuple(wave) for wave in spec["regionWaves"]),
        max_failure_percent=spec["maxFailurePercent"],
        simulation=Simulation(spec["simulate"]["hostFailurePercent"], spec["simulate"]["seed"]),
        wave_timeout_seconds=spec.get("waveTimeoutSeconds", 600),
        alarms=tuple(spec.get("alarms", ())),
        on_gate_failure=spec.get("onGateFailure", "rollback"),
        approval_waves=tuple(spec.get("approvalRequired", ())),
    )


# A deployment's history keeps its statuses as strings.
DeploymentStatusChange = StatusChange


@dataclass(frozen=True)
class Act:
    """Who did something to a deployment, and when: the caller's SigV4 principal (None: the system)."""

    by: str | None
    at: str

    def entry(self, action: str, **detail: Any) -> dict[str, Any]:
        """The entry of the deployment's `actions` list that records `action` (with its detail: a reason ...)."""
        return (
            {"action": action, "at": self.at}
            | ({"by": self.by} if self.by else {})
            | {name: value for name, value in detail.items() if value is not None}
        )


@dataclass(frozen=True)
class RegionRollout:
    """One region of a deployment."""

    region: str
    status: RegionRolloutStatus
    seq: int  # the region's goalVersion this deployment set: its place in the region's order
    previous_build_id: str | None  # the region's goal before: where a rollback returns
    hosts_total: int
    waves: int
    predicted_seconds: float
    hosts_updated: int = 0  # hosts on the deployment's build
    hosts_already_on_build: int = 0  # when it was accepted, as the region last reported: no wave counts them
    wave_ends: tuple[int, ...] = ()  # where each wave's hosts ended: the next wave starts there
    failed_by_wave: tuple[int, ...] = ()  # hosts that failed their update, per wave
    seconds_by_wave: tuple[float, ...] = ()  # the swarm model's time of each wave
    # The plan's time of each wave when the deployment was accepted, and when each wave began and ended (its
    # gate judged it): what the dashboard's timeline sets against each other.
    predicted_seconds_by_wave: tuple[float, ...] = ()
    wave_started_at: tuple[str, ...] = ()
    wave_ended_at: tuple[str, ...] = ()
    bakes: int = 0  # bakes started
    wave: int = 0  # waves started (the current wave, 1-based)
    started_at: str | None = None
    completed_at: str | None = None
    reason: str | None = None
    rollback_started_at: str | None = None
    rollback_model_seconds: float | None = None  # the swarm model's time of the rollback
    bake_until: float | None = None  # epoch seconds
    model: dict[str, Any] | None = None  # the swarm model's figures of its last download (a RolloutModel)
    wait_token: str | None = None  # the task token of its last wait (a bake, a pause): what wakes it
    # The real hosts (code_deploy.hosts.fleet): the wave under way in each of the region's groups (group ->
    # wave id), what its simulated hosts came to while the real ones report (updated, failed), each
    # wave's real hosts deployed, and the real hosts its waves left out, lost before they began.
    host_waves: dict[str, str] = field(default_factory=dict)
    simulated_outcome: tuple[int, int] | None = None
    real_deployed_by_wave: tuple[int, ...] = ()
    real_hosts_left_out: tuple[str, ...] = ()
    # The wave (0-based) whose gate failed with onGateFailure "pause": a resume lets it pass.
    held_at_gate: int | None = None

    @property
    def hosts_failed(self) -> int:
        return sum(self.failed_by_wave)

    @property
    def hosts_pending(self) -> int:
        return max(0, self.hosts_total - self.hosts_updated - self.hosts_failed)

    def wave_start(self, wave_index: int) -> int:
        """The first host of wave `wave_index`: where the wave before it ended."""
        return self.wave_ends[wave_index - 1] if 0 < wave_index <= len(self.wave_ends) else 0

    def to_item(self, deployment_id: str) -> dict[str, Any]:
        item: dict[str, Any] = {
            "deployment_id": deployment_id,
            "record": f"{REGION_RECORD_PREFIX}{self.region}",
            "region": self.region,
            "status": self.status.value,
            "seq": self.seq,
            "hostsTotal": self.hosts_total,
            "hostsUpdated": self.hosts_updated,
            "hostsAlreadyOnBuild": self.hosts_already_on_build,
            "waveEnds": list(self.wave_ends),
            "failedByWave": list(self.failed_by_wave),
            "secondsByWave": [decimal(seconds) for seconds in self.seconds_by_wave],
            "bakes": self.bakes,
            "wave": self.wave,
            "waves": self.waves,
            "predictedSeconds": decimal(self.predicted_seconds),
            "predictedSecondsByWave": [decimal(seconds) for seconds in self.predicted_seconds_by_wave],
            "waveStartedAt": list(self.wave_started_at),
            "waveEndedAt": list(self.wave_ended_at),
        }
        optional = {
            "previousBuildId": self.previous_build_id,
            "startedAt": self.started_at,
            "completedAt": self.completed_at,
            "reason": self.reason,
            "rollbackStartedAt": self.rollback_started_at,
            "rollbackModelSeconds": decimal(self.rollback_model_seconds)
            if self.rollback_model_seconds is not None
            else None,
            "bakeUntil": decimal(self.bake_until) if self.bake_until is not None else None,
            "model": json.dumps(self.model) if self.model else None,
            "waitToken": self.wait_token,
            "hostWaves": json.dumps(self.host_waves) if self.host_waves else None,
            "simulatedOutcome": list(self.simulated_outcome) if self.simulated_outcome else None,
            "realDeployedByWave": list(self.real_deployed_by_wave) if self.real_deployed_by_wave else None,
            "realHostsLeftOut": list(self.real_hosts_left_out) if self.real_hosts_left_out else None,
            "heldAtGate": self.held_at_gate,
        }
        return item | {name: value for name, value in optional.items() if value is not None}

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> RegionRollout:
        return cls(
            region=item["region"],
            status=RegionRolloutStatus(item["status"]),
            seq=int(item["seq"]),
            previous_build_id=item.get("previousBuildId"),
            hosts_total=int(item["hostsTotal"]),
            waves=int(item["waves"]),
            predicted_seconds=float(item["predictedSeconds"]),
            hosts_updated=int(item["hostsUpdated"]),
            hosts_already_on_build=int(item.get("hostsAlreadyOnBuild", 0)),
            wave_ends=tuple(int(n) for n in item.get("waveEnds", [])),
            failed_by_wave=tuple(int(n) for n in item.get("failedByWave", [])),
            seconds_by_wave=tuple(float(n) for n in item.get("secondsByWave", [])),
            predicted_seconds_by_wave=tuple(float(n) for n in item.get("predictedSecondsByWave", [])),
            wave_started_at=tuple(item.get("waveStartedAt", [])),
            wave_ended_at=tuple(item.get("waveEndedAt", [])),
            bakes=int(item.get("bakes", 0)),
            wave=int(item["wave"]),
            started_at=item.get("startedAt"),
            completed_at=item.get("completedAt"),
            reason=item.get("reason"),
            rollback_started_at=item.get("rollbackStartedAt"),
            rollback_model_seconds=float(item["rollbackModelSeconds"]) if "rollbackModelSeconds" in item else None,
            bake_until=float(item["bakeUntil"]) if "bakeUntil" in item else None,
            model=json.loads(item["model"]) if "model" in item else None,
            wait_token=item.get("waitToken"),
            host_waves=json.loads(item["hostWaves"]) if "hostWaves" in item else {},
            simulated_outcome=tuple(int(n) for n in item["simulatedOutcome"]) if "simulatedOutcome" in item else None,
            real_deployed_by_wave=tuple(int(n) for n in item.get("realDeployedByWave", [])),
            real_hosts_left_out=tuple(item.get("realHostsLeftOut", [])),
            held_at_gate=int(item["heldAtGate"]) if "heldAtGate" in item else None,
        )


@dataclass(frozen=True)
class Deployment:
    deployment_id: str
    build_id: str
    artifact_key: str
    artifact_bytes: int
    spec: DeploymentSpec
    status: DeploymentStatus
    trigger: str  # "api" or "auto" (AutoDeploy after a replication)
    created_at: str
    updated_at: str
    predicted_seconds: float
    history: tuple[DeploymentStatusChange, ...]
    reason: str | None = None
    completed_at: str | None = None
    stop: str | None = None  # "ABORT" (asked), "ROLLBACK" (a region's health gate failed) or "FAIL" (its workflow)
    failure: str | None = None  # why its workflow failed (a step kept failing), if it did
    promoted: bool = False
    regions: dict[str, RegionRollout] = field(default_factory=dict)
    created_by: str | None = None  # the caller's SigV4 principal (None: AutoDeploy)
    # Who did what to it, in order: {"action", "by", "at", ...} (pause, resume, promote, abort, rollback,
    # approve with its wave, freezeOverride with its reason).
    actions: tuple[dict[str, Any], ...] = ()
    paused_by_freeze: str | None = None  # the freeze's scope, while a freeze holds it PAUSED

    @property
    def approved_waves(self) -> set[int]:
        return {int(action["wave"]) for action in self.actions if action["action"] == "approve"}

    @property
    def freeze_override(self) -> dict[str, Any] | None:
        return next((action for action in self.actions if action["action"] == "freezeOverride"), None)

    @property
    def service(self) -> str:
        return self.spec.service

    def to_item(self) -> dict[str, Any]:
        item: dict[str, Any] = {
            "deployment_id": self.deployment_id,
            "record": DEPLOYMENT_RECORD,
            "buildId": self.build_id,
            "artifactKey": self.artifact_key,
            "artifactBytes": self.artifact_bytes,
            "spec": spec_to_json(self.spec),
            "status": self.status.value,
            "trigger": self.trigger,
            "createdAt": self.created_at,
            DEPLOYMENTS.month_attribute: paging.month_of(self.created_at),
            "service": self.service,
            SERVICE_DEPLOYMENTS.month_attribute: paging.service_partition(self.service)
            + paging.month_of(self.created_at),
            "updatedAt": self.updated_at,
            "predictedSeconds": decimal(self.predicted_seconds),
            "promoted": self.promoted,
            "history": [
                {"status": change.status, "at": change.at}
                | ({"reason": change.reason} if change.reason else {})
                | ({"by": change.by} if change.by else {})
                for change in self.history
            ],
        }
        optional = {
            "reason": self.reason,
            "completedAt": self.completed_at,
            "stop": self.stop,
            "failure": self.failure,
            "createdBy": self.created_by,
            "pausedByFreeze": self.paused_by_freeze,
        }
        item["actions"] = list(self.actions)
        return item | {name: value for name, value in optional.items() if value is not None}

    @classmethod
    def from_item(cls, item: dict[str, Any], regions: dict[str, RegionRollout] | None = None) -> Deployment:
        return cls(
            deployment_id=item["deployment_id"],
            build_id=item["buildId"],
            artifact_key=item["artifactKey"],
            artifact_bytes=int(item["artifactBytes"]),
            spec=replace(spec_from_json(item["buildId"], item["spec"]), service=item.get("service", DEFAULT_SERVICE)),
            status=DeploymentStatus(item["status"]),
            trigger=item["trigger"],
            created_at=item["createdAt"],
            updated_at=item["updatedAt"],
            predicted_seconds=float(item["predictedSeconds"]),
            history=StatusChange.history(item.get("history", [])),
            reason=item.get("reason"),
            completed_at=item.get("completedAt"),
            stop=item.get("stop"),
            failure=item.get("failure"),
            promoted=bool(item.get("promoted", False)),
            regions=regions or {},
            created_by=item.get("createdBy"),
            actions=tuple(item.get("actions", [])),
            paused_by_freeze=item.get("pausedByFreeze"),
        )


@dataclass(frozen=True)
class Tables:
    deployments: Any  # boto3 Table resources
    regions: Any
    builds: Any
    dynamodb_client: Any  # the resource's client, for the acceptance transaction
    services: Any = None  # the services table: a deployment of a service other than the default needs it

    @classmethod
    def of(
        cls, dynamodb, deployments_table: str, regions_table: str, builds_table: str, services_table: str = ""
    ) -> Tables:
        return cls(
            dynamodb.Table(deployments_table),
            dynamodb.Table(regions_table),
            dynamodb.Table(builds_table),
            dynamodb.meta.client,
            dynamodb.Table(services_table) if services_table else None,
        )


# --- the regions' goals ---------------------------------------------------------------------------------


def goal_key(service: str, region: str) -> str:
    """The regions table's key of a service's goal in a region."""
    return region if service == DEFAULT_SERVICE else f"{service}#{region}"


@dataclass(frozen=True)
class RegionGoal:
    region: str
    goal_build_id: str | None = None
    goal_deployment_id: str | None = None
    previous_build_id: str | None = None
    goal_version: int = 0
    updated_at: str | None = None
    hosts_by_build: dict[str, int] = field(default_factory=dict)
    hosts_version: int = 0
    service: str = DEFAULT_SERVICE

    def before(self, build_id: str) -> RegionBefore:
        """What a plan of a deployment of `build_id` starts from in this region."""
        target = rollback_target(self, build_id)
        return RegionBefore(
            hosts_on_build=self.hosts_by_build.get(build_id, 0),
            rollback_build=target,
            hosts_on_rollback_build=self.hosts_by_build.get(target, 0) if target else 0,
        )

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> RegionGoal:
        return cls(
            # goal_key's parts
            region=item["region"].rpartition("#")[2],
            service=item["region"].rpartition("#")[0] or DEFAULT_SERVICE,
            goal_build_id=item.get("goalBuildId"),
            goal_deployment_id=item.get("goalDeploymentId"),
            previous_build_id=item.get("previousBuildId"),
            goal_version=int(item.get("goalVersion", 0)),
            updated_at=item.get("updatedAt"),
            hosts_by_build={build: int(n) for build, n in item.get("hostsByBuild", {}).items()},
            hosts_version=int(item.get("hostsVersion", 0)),
        )


def get_region_goals(regions_table, regions: tuple[str, ...], service: str = DEFAULT_SERVICE) -> dict[str, RegionGoal]:
    """The service's goal in each region (a region never deployed to has none): one consistent read a region."""
    goals = {}
    for region in regions:
        item = regions_table.get_item(Key={"region": goal_key(service, region)}, ConsistentRead=True).get("Item")
        goals[region] = RegionGoal.from_item(item) if item else RegionGoal(region, service=service)
    return goals


def delete_goals(regions_table, regions: tuple[str, ...], service: str) -> None:
    """Forgets a deleted service's goals."""
    for region in regions:
        regions_table.delete_item(Key={"region": goal_key(service, region)})


def _goal_update(regions_table_name: str, goal: RegionGoal, deployment: Deployment, now: str) -> dict[str, Any]:
    """The transaction's update of one region's goal to `deployment`, on the condition that it is still
    `goal` (as read)."""
    if goal.goal_version == 0:
        condition, read = "attribute_not_exists(goalVersion)", {}
    else:
        condition, read = "goalVersion = :read", {":read": goal.goal_version}
    target = rollback_target(goal, deployment.build_id)
    sets = "SET goalBuildId = :build, goalDeploymentId = :deployment, goalVersion = :version, updatedAt = :now"
    return {
        "Update": {
            "TableName": regions_table_name,
            "Key": {"region": goal_key(goal.service, goal.region)},
            "UpdateExpression": sets + (", previousBuildId = :previous" if target else " REMOVE previousBuildId"),
            "ConditionExpression": condition,
            "ExpressionAttributeValues": {
                ":build": deployment.build_id,
                ":deployment": deployment.deployment_id,
                ":version": goal.goal_version + 1,
                ":now": now,
                **({":previous": target} if target else {}),
                **read,
            },
        }
    }


def rollback_target(goal: RegionGoal, build_id: str) -> str | None:
    """Where the region returns if a deployment of `build_id` rolls back: the goal before it (or, when
    the region's goal already was this build, the one before that)."""
    return goal.previous_build_id if goal.goal_build_id == build_id else goal.goal_build_id


class GoalChanged(Exception):
    """A region's goal changed between our read and our transaction."""


def accept(
    dynamodb_client,
    deployments_table_name: str,
    regions_table_name: str,
    deployment: Deployment,
    goals: dict[str, RegionGoal],
    now: str,
) -> Deployment:
    """Writes the deployment, its regions and each region's new goal in one transaction. Raises
    GoalChanged when a region's goal is no longer the one read (the caller reads again and retries)."""
    return _accept(dynamodb_client, (deployments_table_name, regions_table_name), deployment, goals, now, [])


def accept_in(tables: Tables, deployment: Deployment, goals: dict[str, RegionGoal], now: str) -> Deployment:
    """As `accept`, into `tables`; a deployment of a service other than the default is counted on its
    service in the same transaction, which the service's deletion makes fail (GoalChanged too)."""
    counted = []
    if deployment.service != DEFAULT_SERVICE:
        counted.append(
            service_store.acceptance_update(tables.services.name, deployment.service, deployment.deployment_id)
        )
    return _accept(
        tables.dynamodb_client, (tables.deployments.name, tables.regions.name), deployment, goals, now, counted
    )


def _accept(
    dynamodb_client,
    table_names: tuple[str, str],
    deployment: Deployment,
    goals: dict[str, RegionGoal],
    now: str,
    also: list[dict[str, Any]],
) -> Deployment:
    deployments_table_name, regions_table_name = table_names
    regions = {
        region: replace(
            rollout,
            seq=goals[region].goal_version + 1,
            previous_build_id=rollback_target(goals[region], deployment.build_id),
        )
        for region, rollout in deployment.regions.items()
    }
    accepted = replace(deployment, regions=regions)
    items = [
        {
            "Put": {
                "TableName": deployments_table_name,
                "Item": accepted.to_item(),
                "ConditionExpression": "attribute_not_exists(deployment_id)",
            }
        }
    ]
    items += [
        {"Put": {"TableName": deployments_table_name, "Item": rollout.to_item(deployment.deployment_id)}}
        for rollout in regions.values()
    ]
    items += [_goal_update(regions_table_name, goals[region], deployment, now) for region in regions]
    try:
        dynamodb_client.transact_write_items(TransactItems=items + also)
    except ClientError as error:
        if error.response["Error"]["Code"] == "TransactionCanceledException":
            raise GoalChanged(deployment.deployment_id) from None
        raise
    return accepted


def restore_goal(
    regions_table,
    region: str,
    deployment_id: str,
    build_id: str | None,
    now: str,
    service: str = DEFAULT_SERVICE,
) -> bool:
    """After a rollback, the region's goal is the build it returned to, unless a later deployment has
    set the goal meanwhile (then that one stands). Returns whether the goal was restored."""
    return update_if(
        regions_table,
        Key={"region": goal_key(service, region)},
        UpdateExpression=(
            "SET goalBuildId = :build, goalVersion = goalVersion + :one, updatedAt = :now REMOVE previousBuildId"
            if build_id
            else "SET goalVersion = goalVersion + :one, updatedAt = :now REMOVE goalBuildId, previousBuildId"
        ),
        ConditionExpression="goalDeploymentId = :deployment",
        ExpressionAttributeValues={":deployment": deployment_id, ":one": 1, ":now": now}
        | ({":build": build_id} if build_id else {}),
    )


def report_hosts(
    regions_table, region: str, hosts_by_build: dict[str, int], hosts_version: int, service: str = DEFAULT_SERVICE
) -> None:
    """Keeps the service's hosts per build in the region as its sync reported them, unless a newer report
    is there already (reports from concurrent waves may arrive out of order)."""
    update_if(
        regions_table,
        Key={"region": goal_key(service, region)},
        UpdateExpression="SET hostsByBuild = :hosts, hostsVersion = :version",
        ConditionExpression="attribute_not_exists(hostsVersion) OR hostsVersion < :version",
        ExpressionAttributeValues={":hosts": hosts_by_build, ":version": hosts_version},
    )


# --- deployments -----------------------------------------------------------------------------------------


def get(deployments_table, deployment_id: str) -> Deployment:
    items = query_all(
        deployments_table,
        KeyConditionExpression="deployment_id = :id",
        ExpressionAttributeValues={":id": deployment_id},
        ConsistentRead=True,
    )
    records = [item for item in items if item["record"] == DEPLOYMENT_RECORD]
    if not records:
        raise DeploymentNotFound(deployment_id)
    regions = [RegionRollout.from_item(item) for item in items if item["record"].startswith(REGION_RECORD_PREFIX)]
    return Deployment.from_item(records[0], {rollout.region: rollout for rollout in regions})


def build_of(deployments_table, deployment_id: str) -> str | None:
    """The build a deployment deploys (None: no such deployment): one GetItem of its record."""
    item = deployments_table.get_item(
        Key={"deployment_id": deployment_id, "record": DEPLOYMENT_RECORD},
        ProjectionExpression="buildId",
        ConsistentRead=True,
    ).get("Item")
    return item["buildId"] if item else None


def status_of(deployments_table, deployment_id: str) -> DeploymentStatus | None:
    """A deployment's status (None: no such deployment): one GetItem of its record."""
    item = deployments_table.get_item(
        Key={"deployment_id": deployment_id, "record": DEPLOYMENT_RECORD},
        ProjectionExpression="#status",
        ExpressionAttributeNames={"#status": "status"},
        ConsistentRead=True,
    ).get("Item")
    return DeploymentStatus(item["status"]) if item else None


def put_region(deployments_table, deployment_id: str, rollout: RegionRollout) -> None:
    deployments_table.put_item(Item=rollout.to_item(deployment_id))


def get_region(deployments_table, deployment_id: str, region: str) -> RegionRollout | None:
    item = deployments_table.get_item(
        Key={"deployment_id": deployment_id, "record": f"{REGION_RECORD_PREFIX}{region}"}, ConsistentRead=True
    ).get("Item")
    return RegionRollout.from_item(item) if item else None


def set_wait_token(deployments_table, deployment_id: str, region: str, token: str) -> None:
    """Keeps the task token of the region's wait on its item, where whatever ends the wait finds it."""
    deployments_table.update_item(
        Key={"deployment_id": deployment_id, "record": f"{REGION_RECORD_PREFIX}{region}"},
        UpdateExpression="SET waitToken = :token",
        ConditionExpression="attribute_exists(deployment_id)",
        ExpressionAttributeValues={":token": token},
    )


@dataclass(frozen=True)
class StatusMove:
    """What else a change of status writes with it: why (or, `clear_reason`, that the reason of a pause no
    longer holds), who asked (an action, recorded in the deployment's `actions`), and whether a freeze holds
    it (`pausedByFreeze`: its scope; "" lifts the mark)."""

    reason: str | None = None
    clear_reason: bool = False
    action: str | None = None
    act: Act | None = None
    paused_by_freeze: str | None = None


# --- the alarms a bake waits on --------------------------------------------------------------------------
# A region baking under a deployment that names alarms keeps its wait's token under each alarm
# (deployment_id = "ALARM#<name>", record = "<deployment>#<region>"), where the alarm's action finds it.
ALARM_WATCH_PREFIX = "ALARM#"


def watch_alarms(deployments_table, alarms: tuple[str, ...], deployment_id: str, region: str, token: str) -> None:
    for alarm in alarms:
        deployments_table.put_item(
            Item={
                "deployment_id": f"{ALARM_WATCH_PREFIX}{alarm}",
                "record": f"{deployment_id}#{region}",
                "waitToken": token,
            }
        )


def drop_alarm_watches(deployments_table, alarms: tuple[str, ...], deployment_id: str, region: str) -> None:
    for alarm in alarms:
        deployments_table.delete_item(
            Key={"deployment_id": f"{ALARM_WATCH_PREFIX}{alarm}", "record": f"{deployment_id}#{region}"}
        )


def alarm_watches(deployments_table, alarm: str) -> list[dict[str, Any]]:
    """The waits an alarm wakes: {"record": "<deployment>#<region>", "waitToken"} each."""
    return query_all(
        deployments_table,
        KeyConditionExpression="deployment_id = :alarm",
        ExpressionAttributeValues={":alarm": f"{ALARM_WATCH_PREFIX}{alarm}"},
        ConsistentRead=True,
    )


def change_status(
    deployments_table,
    deployment_id: str,
    to: DeploymentStatus,
    now: str,
    allowed_from: tuple[DeploymentStatus, ...],
    move: StatusMove | None = None,
) -> bool:
    """Moves the deployment to `to` if it is in one of `allowed_from`, recording the change in its
    history (and, with `move`, who asked for it). Returns whether it moved (a conditional write, so of two
    racing changes one wins)."""
    move = move or StatusMove()
    reason = move.reason
    by = move.act.by if move.act else None
    sets = ["#status = :to", "updatedAt = :now", "history = list_append(history, :entry)"]
    removes = []
    condition, values = _status_in(allowed_from)
    values |= {
        ":to": to.value,
        ":now": now,
        ":entry": [
            {"status": to.value, "at": now} | ({"reason": reason} if reason else {}) | ({"by": by} if by else {})
        ],
    }
    if reason:
        sets.append("reason = :reason")
        values[":reason"] = reason
    if to.finished:
        sets.append("completedAt = :now")
    if move.action and move.act:
        sets.append("actions = list_append(if_not_exists(actions, :none), :action)")
        values |= {":none": [], ":action": [move.act.entry(move.action)]}
    if move.paused_by_freeze:
        sets.append("pausedByFreeze = :freeze")
        values[":freeze"] = move.paused_by_freeze
    elif move.paused_by_freeze == "":
        removes.append("pausedByFreeze")
    if move.clear_reason and not reason:
        removes.append("reason")
    return update_if(
        deployments_table,
        Key={"deployment_id": deployment_id, "record": DEPLOYMENT_RECORD},
        UpdateExpression="SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else ""),
        ConditionExpression=condition,
        ExpressionAttributeNames={"#status": "status"},
        ExpressionAttributeValues=values,
    )


def record_action(
    deployments_table, deployment_id: str, entry: dict[str, Any], allowed_from: tuple[DeploymentStatus, ...]
) -> bool:
    """Appends `entry` (Act.entry) to the deployment's actions while it is in one of `allowed_from`."""
    condition, values = _status_in(allowed_from)
    return update_if(
        deployments_table,
        Key={"deployment_id": deployment_id, "record": DEPLOYMENT_RECORD},
        UpdateExpression="SET actions = list_append(if_not_exists(actions, :none), :action), updatedAt = :now",
        ConditionExpression=condition,
        ExpressionAttributeNames={"#status": "status"},
        ExpressionAttributeValues={":none": [], ":action": [entry], ":now": entry["at"], **values},
    )


def set_promoted(deployments_table, deployment_id: str, act: Act) -> bool:
    """Marks a deployment that may still go on promoted: its regions skip what is left of their bakes."""
    condition, values = _status_in(ACTIVE_STATUSES)
    return update_if(
        deployments_table,
        Key={"deployment_id": deployment_id, "record": DEPLOYMENT_RECORD},
        UpdateExpression=(
            "SET promoted = :promoted, updatedAt = :now, actions = list_append(if_not_exists(actions, :none), :action)"
        ),
        ConditionExpression=condition,
        ExpressionAttributeNames={"#status": "status"},
        ExpressionAttributeValues={
            ":promoted": True,
            ":now": act.at,
            ":none": [],
            ":action": [act.entry("promote")],
            **values,
        },
    )


@dataclass(frozen=True)
class Stop:
    """Why a deployment stops (`kind`: model.ABORT, ROLLBACK, REVERT or FAIL, and a reason), when, and who
    asked (`act`, recorded as `action`) when someone did; `allowed_from`: the statuses it may stop from
    (a deployment that may still go on; REVERT also one that ended)."""

    kind: str
    reason: str
    at: str
    act: Act | None = None
    action: str | None = None
    allowed_from: tuple[DeploymentStatus, ...] = ACTIVE_STATUSES


def set_stop(deployments_table, deployment_id: str, stop: Stop) -> bool:
    """Stops a deployment that was not stopped before (the first reason stays): it is ROLLING_BACK from this
    write on, so its end can only be the rollback's (a SUCCEEDED that read it before is refused, see
    `workflow.finish`). Returns whether it stopped."""
    condition, values = _status_in(stop.allowed_from)
    rolling_back = DeploymentStatus.ROLLING_BACK.value
    by = stop.act.by if stop.act else None
    entry = {"status": rolling_back, "at": stop.at, "reason": stop.reason} | ({"by": by} if by else {})
    action = [stop.act.entry(stop.action or stop.kind.lower())] if stop.act else []
    return update_if(
        deployments_table,
        Key={"deployment_id": deployment_id, "record": DEPLOYMENT_RECORD},
        UpdateExpression=(
            "SET #stop = :stop, reason = :reason, #status = :to, updatedAt = :now, "
            "history = list_append(history, :entry), actions = list_append(if_not_exists(actions, :none), :action) "
            "REMOVE completedAt"
        ),
        ConditionExpression=f"attribute_not_exists(#stop) AND {condition}",
        ExpressionAttributeNames={"#stop": "stop", "#status": "status"},
        ExpressionAttributeValues={
            ":stop": stop.kind,
            ":reason": stop.reason,
            ":to": rolling_back,
            ":now": stop.at,
            ":entry": [entry],
            ":none": [],
            ":action": action,
            **values,
        },
    )


def unstop(deployments_table, deployment_id: str, kind: str, back_to: DeploymentStatus, now: str) -> bool:
    """Takes back a stop of `kind` that nothing will carry out (its rollback's execution did not start): the
    deployment is `back_to` again, with what it was, while it is still ROLLING_BACK for that stop."""
    return update_if(
        deployments_table,
        Key={"deployment_id": deployment_id, "record": DEPLOYMENT_RECORD},
        UpdateExpression="SET #status = :back, updatedAt = :now, completedAt = :now REMOVE #stop, reason",
        ConditionExpression="#stop = :kind AND #status = :rolling",
        ExpressionAttributeNames={"#stop": "stop", "#status": "status"},
        ExpressionAttributeValues={
            ":back": back_to.value,
            ":now": now,
            ":kind": kind,
            ":rolling": DeploymentStatus.ROLLING_BACK.value,
        },
    )


def record_failure(deployments_table, deployment_id: str, failure: str, now: str) -> bool:
    """Records why the deployment's workflow failed, while it runs; the first failure stays. Returns whether
    this one was recorded."""
    condition, values = _status_in(RUNNING_STATUSES)
    return update_if(
        deployments_table,
        Key={"deployment_id": deployment_id, "record": DEPLOYMENT_RECORD},
        UpdateExpression="SET failure = :failure, updatedAt = :now",
        ConditionExpression=f"(attribute_not_exists(failure) OR failure = :failure) AND {condition}",
        ExpressionAttributeNames={"#status": "status"},
        ExpressionAttributeValues={":failure": failure, ":now": now, **values},
    )


def list_recent(deployments_table, request: paging.PageRequest) -> tuple[list[Deployment], paging.Cursor | None]:
    """Deployments, newest first, or one service's (their indexes project every attribute of the record)."""
    index = SERVICE_DEPLOYMENTS if request.partition_prefix else DEPLOYMENTS
    page = paging.list_recent(
        deployments_table, index, request.now, request.limit, request.cursor, request.partition_prefix
    )
    return [Deployment.from_item(item) for item in page.records], page.next_cursor
