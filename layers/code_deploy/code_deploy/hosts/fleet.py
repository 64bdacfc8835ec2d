"""The region's real hosts: the agents (code-deploy-agent, docs/agent.md) that register in the region's
fleet table, read their group's goal, deploy for real and report. The control plane's side of that
contract: the goal it writes, which hosts a wave holds, what they reported, and which are lost.

The fleet table, one per region (partition key `pk`):
- `HOST#<hostId>`: a host's item, written by its agent (registration, heartbeat, state, report); the
  control plane adds `countedFor`, the wave its report was counted for (a transaction with the tally).
- `GOAL#<group>#<NN>`: the group's goal, written here, one copy a by-group shard: each agent reads its
  own shard's copy (`groupShard`), so 100,000 agents of a group read 16 items, none of them hot.
- `TALLY#<group>`: the wave under way in the group: the hosts it holds, how many have reported, and the
  rollout workflow's task token to wake when the last one has.

A host is in the waves so far when its rank in the deployment is below the goal's cumulative percent
(`in_waves`, the agent's own rule), so one small goal (copied to each shard) steers a group of any size:
a wave only raises the percent. A wave holds the live hosts whose rank falls in its slice; a host lost before the wave
(no heartbeat for `lost_after_seconds`) is left out, one that does not report by the wave's deadline
counts as failed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from botocore.exceptions import ClientError

from code_deploy.dynamo import decimal

GROUP_SHARDS = 16  # the by-group index's keys a group is spread over (the agent computes the same)
BY_GROUP_INDEX = "by-group"
RANK_SPACE = 2**64
OUTPUT_TAIL_CHARS = 2048
DEPLOYED, FAILED = "DEPLOYED", "FAILED"


def host_key(host_id: str) -> str:
    return f"HOST#{host_id}"


def shard_key(group: str, shard: int) -> str:
    """`<group>#<NN>`: a key of the by-group index (a host's `groupShard`), and the name of a goal copy."""
    return f"{group}#{shard:02d}"


def group_shards(group: str) -> list[str]:
    return [shard_key(group, shard) for shard in range(GROUP_SHARDS)]


def goal_key(shard: str) -> str:
    """The copy of a group's goal that the agents of one shard (`<group>#<NN>`) read."""
    return f"GOAL#{shard}"


def tally_key(group: str) -> str:
    return f"TALLY#{group}"


def group_shard(group: str, host_id: str) -> str:
    return shard_key(group, int(hashlib.sha256(host_id.encode()).hexdigest()[:8], 16) % GROUP_SHARDS)


def in_waves(deployment_id: str, host_id: str, cumulative_percent: float | Decimal) -> bool:
    """Whether the host is in the deployment's waves that reach `cumulative_percent` of its group: its rank
    (a hash of both ids, the agent's own rule) below the percent, compared exactly, so 100 takes every host."""
    digest = hashlib.sha256(f"{deployment_id}\0{host_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") * 100 < Fraction(Decimal(str(cumulative_percent))) * RANK_SPACE


def in_slice(deployment_id: str, host_id: str, from_percent: float, to_percent: float) -> bool:
    """Whether the host joins the deployment's waves between `from_percent` and `to_percent`: one wave's hosts."""
    return in_waves(deployment_id, host_id, to_percent) and not in_waves(deployment_id, host_id, from_percent)


@dataclass(frozen=True)
class Report:
    """A host's last outcome, as its agent reported it."""

    deployment_id: str
    build_id: str
    status: str  # DEPLOYED or FAILED
    wave: int = 0
    reason: str | None = None
    hook: str | None = None
    exit_code: int | str | None = None
    output_tail: str | None = None
    download_seconds: float = 0.0
    download_bytes: int = 0
    drift: bool = False
    at: str = ""

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Report:
        exit_code = item.get("exitCode")
        return cls(
            deployment_id=item["deploymentId"],
            build_id=item["buildId"],
            status=item["status"],
            wave=int(item.get("wave") or 0),
            reason=item.get("reason"),
            hook=item.get("hook"),
            exit_code=int(exit_code) if isinstance(exit_code, int | Decimal) else exit_code,
            output_tail=(item.get("outputTail") or None) and item["outputTail"][-OUTPUT_TAIL_CHARS:],
            download_seconds=float(item.get("downloadSeconds") or 0),
            download_bytes=int(item.get("downloadBytes") or 0),
            drift=bool(item.get("drift")),
            at=item.get("at") or "",
        )


@dataclass(frozen=True)
class FleetHost:
    """A real host as its agent registered it and last reported."""

    host_id: str
    group: str
    region: str
    zone: str
    address: str
    app_port: int
    agent_version: str
    registered_at: str
    heartbeat_at: float  # epoch seconds
    state: str
    current_build_id: str | None = None
    previous_build_id: str | None = None
    report: Report | None = None
    counted_for: str | None = None
    last_failure: Report | None = None  # its last FAILED report, which a later report does not replace

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> FleetHost:
        return cls(
            host_id=item["hostId"],
            group=item["group"],
            region=item.get("region", ""),
            zone=item.get("zone", ""),
            address=item.get("address", ""),
            app_port=int(item.get("appPort") or 0),
            agent_version=item.get("agentVersion", ""),
            registered_at=item.get("registeredAt", ""),
            heartbeat_at=float(item.get("heartbeatAt") or 0),
            state=item.get("state", "IDLE"),
            current_build_id=item.get("currentBuildId"),
            previous_build_id=item.get("previousBuildId"),
            report=Report.from_item(item["report"]) if item.get("report") else None,
            counted_for=item.get("countedFor"),
            last_failure=Report.from_item(item["lastFailure"]) if item.get("lastFailure") else None,
        )

    def lost(self, now: float, lost_after_seconds: float) -> bool:
        """No heartbeat for `lost_after_seconds`: the host (or its agent) is gone."""
        return now - self.heartbeat_at > lost_after_seconds

    def report_counted(self) -> bool:
        """Whether its last report was counted already: `countedFor` names a wave of the report's own
        deployment and build. A host is in one wave of a deployment's build (the waves' slices are
        disjoint; a rollback's wave is about another build, the one returned to), so such a report has
        nothing left to count for."""
        report, counted_for = self.report, self.counted_for
        if report is None or counted_for is None:
            return False
        deployment_id, _, rest = counted_for.partition("#")
        return deployment_id == report.deployment_id and rest.rpartition("#")[2] == report.build_id

    def reported(self, deployment_id: str, build_id: str) -> Report | None:
        """Its report about `build_id` in the deployment, if that is its last one."""
        report = self.report
        if report and report.deployment_id == deployment_id and report.build_id == build_id:
            return report
        return None


@dataclass(frozen=True)
class ArtifactRef:
    """The artifact a goal names, and what a host checks it by (from the build's record)."""

    key: str
    size: int
    sha256: str
    piece_bytes: int
    piece_root: str
    pieces_key: str
    # The torrent hosts fetch it from each other by (empty for a build made before torrents: the bucket only).
    info_hash: str = ""
    torrent_key: str = ""

    @classmethod
    def from_dict(cls, fields: dict[str, Any] | None) -> ArtifactRef | None:
        if not fields or not fields.get("pieceRoot"):
            return None  # an artifact uploaded by hand: nothing a host could check it by
        return cls(
            fields["key"],
            int(fields["bytes"]),
            fields["sha256"],
            int(fields["pieceBytes"]),
            fields["pieceRoot"],
            fields["piecesKey"],
            fields.get("infoHash", ""),
            fields.get("torrentKey", ""),
        )


@dataclass(frozen=True)
class Goal:
    """What a group's agents should run: the build of the waves so far, and what the others keep."""

    group: str
    build_id: str
    previous_build_id: str | None
    deployment_id: str
    seq: int  # the deployment's place in the region's order of goal changes: a later one wins
    wave: int  # 1-based
    cumulative_percent: float
    artifact: ArtifactRef

    def to_item(self, now: str, shard: str) -> dict[str, Any]:
        """The goal's copy for the agents of one by-group shard (`<group>#<NN>`): every copy holds the
        whole goal."""
        item = {
            "pk": goal_key(shard),
            "group": self.group,
            "buildId": self.build_id,
            "deploymentId": self.deployment_id,
            "seq": self.seq,
            "wave": self.wave,
            "cumulativePercent": decimal(self.cumulative_percent),
            "artifactKey": self.artifact.key,
            "artifactBytes": self.artifact.size,
            "sha256": self.artifact.sha256,
            "pieceBytes": self.artifact.piece_bytes,
            "pieceRoot": self.artifact.piece_root,
            "piecesKey": self.artifact.pieces_key,
            "updatedAt": now,
        }
        if self.artifact.info_hash:
            item |= {"infoHash": self.artifact.info_hash, "torrentKey": self.artifact.torrent_key}
        return item | ({"previousBuildId": self.previous_build_id} if self.previous_build_id else {})


def put_goal(table, goal: Goal, now: str) -> bool:
    """Writes the group's goal to each of its shard copies, in shard order, unless a later deployment
    (a higher seq) already set it; whether this deployment holds the group's goal (every copy).

    Each copy is a conditional write of its own, so a later deployment wins copy by copy. A step that
    dies part-way leaves the first copies written: its retry writes them again (the same seq) and
    finishes. A later deployment writes the copies in the same order: once it holds a copy it holds the
    first one (or its retry will), so an earlier deployment that comes after it is refused at the first
    copy and writes nothing, and every copy ends with the latest deployment's goal."""
    for shard in group_shards(goal.group):
        try:
            table.put_item(
                Item=goal.to_item(now, shard),
                ConditionExpression="attribute_not_exists(seq) OR seq <= :seq",
                ExpressionAttributeValues={":seq": goal.seq},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
    return True


def _shard_hosts(table, group: str, shard: int) -> list[FleetHost]:
    hosts: list[FleetHost] = []
    kwargs: dict[str, Any] = {
        "IndexName": BY_GROUP_INDEX,
        "KeyConditionExpression": "groupShard = :shard",
        "ExpressionAttributeValues": {":shard": shard_key(group, shard)},
    }
    while True:
        page = table.query(**kwargs)
        hosts.extend(FleetHost.from_item(item) for item in page["Items"])
        if "LastEvaluatedKey" not in page:
            return hosts
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def group_hosts(table, group: str) -> list[FleetHost]:
    """Every host registered in the group: one Query a shard of the by-group index, all at once, no Scan."""
    with ThreadPoolExecutor(max_workers=GROUP_SHARDS) as pool:
        shards = list(pool.map(lambda shard: _shard_hosts(table, group, shard), range(GROUP_SHARDS)))
    return sorted((host for shard in shards for host in shard), key=lambda host: host.host_id)


def _shard_hosts_after(table, group: str, shard: int, after: str | None, limit: int) -> list[FleetHost]:
    """At most `limit` hosts of one shard of the group, in host id order, after host `after`."""
    hosts: list[FleetHost] = []
    values: dict[str, Any] = {":shard": shard_key(group, shard)}
    condition = "groupShard = :shard"
    if after is not None:
        condition += " AND hostId > :after"
        values[":after"] = after
    kwargs: dict[str, Any] = {
        "IndexName": BY_GROUP_INDEX,
        "KeyConditionExpression": condition,
        "ExpressionAttributeValues": values,
    }
    while len(hosts) < limit:
        page = table.query(**kwargs, Limit=limit - len(hosts))
        hosts.extend(FleetHost.from_item(item) for item in page["Items"])
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return hosts


def group_hosts_page(table, group: str, after: str | None, limit: int) -> tuple[list[FleetHost], bool]:
    """A page of the group's hosts in host id order: at most `limit` after host `after` (from the first
    without one), and whether more follow. Each shard of the by-group index is read only as far as the
    page can reach (`limit` + 1 hosts), all at once: a page of a large group reads a page's worth a shard."""
    with ThreadPoolExecutor(max_workers=GROUP_SHARDS) as pool:
        shards = list(
            pool.map(lambda shard: _shard_hosts_after(table, group, shard, after, limit + 1), range(GROUP_SHARDS))
        )
    hosts = sorted((host for shard in shards for host in shard), key=lambda host: host.host_id)
    return hosts[:limit], len(hosts) > limit


@dataclass(frozen=True)
class WaveHosts:
    """The hosts a wave of a group holds (live, in its slice), and those of its slice left out as lost."""

    members: tuple[str, ...]
    lost: tuple[str, ...]


def wave_hosts(
    hosts: Iterable[FleetHost], deployment_id: str, percents: tuple[float, float], now: float, lost_after: float
) -> WaveHosts:
    """`percents`: the cumulative percent before the wave and after it."""
    in_wave = [host for host in hosts if in_slice(deployment_id, host.host_id, *percents)]
    return WaveHosts(
        members=tuple(host.host_id for host in in_wave if not host.lost(now, lost_after)),
        lost=tuple(host.host_id for host in in_wave if host.lost(now, lost_after)),
    )


@dataclass(frozen=True)
class Tally:
    """The wave under way in a group: which hosts it waits for, and how many have reported."""

    group: str
    deployment_id: str
    build_id: str
    wave: int
    percents: tuple[float, float]
    expected: int
    reported: int = 0
    started_at: float = 0.0
    task_token: str | None = None

    @property
    def wave_id(self) -> str:
        return f"{self.deployment_id}#{self.wave}#{self.build_id}"

    @property
    def complete(self) -> bool:
        return self.reported >= self.expected

    def to_item(self) -> dict[str, Any]:
        return {
            "pk": tally_key(self.group),
            "group": self.group,
            "deploymentId": self.deployment_id,
            "buildId": self.build_id,
            "wave": self.wave,
            "fromPercent": decimal(self.percents[0]),
            "toPercent": decimal(self.percents[1]),
            "expected": self.expected,
            "reported": self.reported,
            "startedAt": decimal(self.started_at),
        }

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Tally:
        return cls(
            group=item["group"],
            deployment_id=item["deploymentId"],
            build_id=item["buildId"],
            wave=int(item["wave"]),
            percents=(float(item["fromPercent"]), float(item["toPercent"])),
            expected=int(item["expected"]),
            reported=int(item.get("reported", 0)),
            started_at=float(item.get("startedAt", 0)),
            task_token=item.get("taskToken"),
        )


def start_tally(table, tally: Tally) -> Tally:
    """Opens the wave's tally, or finds the one a retry of the same wave opened (its count goes on)."""
    try:
        table.put_item(
            Item=tally.to_item(),
            ConditionExpression="attribute_not_exists(pk) OR deploymentId <> :deployment OR wave <> :wave "
            "OR buildId <> :build",
            ExpressionAttributeValues={
                ":deployment": tally.deployment_id,
                ":wave": tally.wave,
                ":build": tally.build_id,
            },
        )
    except ClientError as error:
        if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        return get_tally(table, tally.group) or tally
    return tally


def get_tally(table, group: str) -> Tally | None:
    item = table.get_item(Key={"pk": tally_key(group)}, ConsistentRead=True).get("Item")
    return Tally.from_item(item) if item else None


def keep_task_token(table, group: str, wave_id: str, token: str) -> Tally | None:
    """Keeps the rollout workflow's token on the tally of wave `wave_id`, so the last report wakes it;
    returns the tally as it then stands (None: the group has moved on to another wave)."""
    deployment_id, wave, build_id = wave_id.split("#")
    try:
        item = table.update_item(
            Key={"pk": tally_key(group)},
            UpdateExpression="SET taskToken = :token",
            ConditionExpression="deploymentId = :deployment AND wave = :wave AND buildId = :build",
            ExpressionAttributeValues={
                ":token": token,
                ":deployment": deployment_id,
                ":wave": int(wave),
                ":build": build_id,
            },
            ReturnValues="ALL_NEW",
        )["Attributes"]
    except ClientError as error:
        if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return None
        raise
    return Tally.from_item(item)


def count_report(table, tally: Tally, host_id: str) -> Tally | None:
    """Counts a member's report for the wave once, whatever the stream delivers again: the host's
    `countedFor` and the tally's count change together, in one transaction, or not at all. Returns the
    tally after it, or None when the report was counted before (or the wave is no longer this one)."""
    try:
        table.meta.client.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": table.name,
                        "Key": {"pk": host_key(host_id)},
                        "UpdateExpression": "SET countedFor = :wave",
                        "ConditionExpression": "attribute_exists(pk) AND "
                        "(attribute_not_exists(countedFor) OR countedFor <> :wave)",
                        "ExpressionAttributeValues": {":wave": tally.wave_id},
                    }
                },
                {
                    "Update": {
                        "TableName": table.name,
                        "Key": {"pk": tally_key(tally.group)},
                        "UpdateExpression": "ADD reported :one",
                        "ConditionExpression": "deploymentId = :deployment AND wave = :number AND buildId = :build",
                        "ExpressionAttributeValues": {
                            ":one": 1,
                            ":deployment": tally.deployment_id,
                            ":number": tally.wave,
                            ":build": tally.build_id,
                        },
                    }
                },
            ]
        )
    except ClientError as error:
        if error.response["Error"]["Code"] == "TransactionCanceledException":
            return None
        raise
    return get_tally(table, tally.group)


@dataclass(frozen=True)
class WaveOutcome:
    """What a group's wave came to: its members' reports about the build, the rest counted failed."""

    expected: int
    deployed: int
    failed: int  # reported FAILED, or silent past the deadline
    lost: tuple[str, ...]  # members lost since the wave started (no heartbeat): among the failed


def wave_outcome(hosts: Iterable[FleetHost], tally: Tally, now: float, lost_after: float) -> WaveOutcome:
    """The wave's result from its members' reports: a member is deployed when its last report says the
    build is DEPLOYED for this deployment; every other member (FAILED, or silent) failed."""
    members = [host for host in hosts if in_slice(tally.deployment_id, host.host_id, *tally.percents)]
    deployed = [
        host
        for host in members
        if (report := host.reported(tally.deployment_id, tally.build_id)) and report.status == DEPLOYED
    ]
    expected = max(tally.expected, len(deployed))
    lost = tuple(host.host_id for host in members if host.lost(now, lost_after) and host not in deployed)
    return WaveOutcome(expected=expected, deployed=len(deployed), failed=expected - len(deployed), lost=lost)


def host_states(hosts: Iterable[FleetHost], now: float, lost_after: float) -> dict[str, int]:
    """The group's hosts by what a region's view counts: live hosts per build they run, and the lost."""
    counts: dict[str, int] = {}
    for host in hosts:
        key = "lost" if host.lost(now, lost_after) else (host.current_build_id or "none")
        counts[key] = counts.get(key, 0) + 1
    return counts


# --- the reports, as the fleet table's stream delivers the hosts' items -------------------------------------

GROUPS_KEY = "GROUPS"


def note_group(table, group: str) -> None:
    """Adds the group to the region's groups (a string set: adding one twice changes nothing), so a
    deployment finds every group of real hosts without a Scan."""
    table.update_item(
        Key={"pk": GROUPS_KEY},
        UpdateExpression="ADD #groups :group",
        ExpressionAttributeNames={"#groups": "groups"},
        ExpressionAttributeValues={":group": {group}},
    )


def groups(table) -> list[str]:
    item = table.get_item(Key={"pk": GROUPS_KEY}, ConsistentRead=True).get("Item") or {}
    return sorted(item.get("groups", set()))


def take_report(
    table, host_item: dict[str, Any], on_counted: Callable[[dict[str, Any]], None] | None = None
) -> Tally | None:
    """Counts a host's report for its group's wave under way, once, if it is one of the wave's hosts and
    the report is about the wave's build in its deployment. Returns the tally when this report completed
    the wave (the caller wakes its wait), else None.

    The item is the stream record's new image: a report it shows counted (`countedFor`) reads nothing, so
    the heartbeats of hosts that reported cost no read of the group's tally, one hot item. A report not
    counted yet (a new one, or one that came before its wave's tally opened) reads it; the transaction's
    condition still counts it once whatever the stream delivers again, and `on_counted(report)` is called
    when this call counted it (once a report: its metrics are published there)."""
    if not str(host_item.get("pk", "")).startswith("HOST#") or not host_item.get("report"):
        return None
    host = FleetHost.from_item(host_item)
    if host.report_counted():
        return None
    tally = get_tally(table, host.group)
    if tally is None or not in_slice(tally.deployment_id, host.host_id, *tally.percents):
        return None
    if host.reported(tally.deployment_id, tally.build_id) is None or host.counted_for == tally.wave_id:
        return None
    after = count_report(table, tally, host.host_id)
    if after is not None and on_counted is not None:
        on_counted(host_item["report"])
    return after if after is not None and after.complete else None
