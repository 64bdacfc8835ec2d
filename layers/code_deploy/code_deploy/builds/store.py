"""Builds in the builds table: plain functions over a boto3 Table resource, taking and returning typed
records; no other module reads the table's attribute names.

Under one build id the table holds the build record (`record` = "BUILD") and one rollout summary per
region (`record` = "ROLLOUT#<region>"), so a build's whole status is one Query, no Scan. Every build
record carries `queuedMonth`, the partition key of the `by-queued-month` index that lists builds newest
first (code_deploy.paging)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from code_deploy import paging
from code_deploy.builds.model import BuildStatus
from code_deploy.dynamo import StatusChange, batch_get, decimal, is_conditional_failure, query_all, update_if
from code_deploy.errors import NotFound
from code_deploy.hosts.records import host_record_shards
from code_deploy.swarm import SwarmFigures

BUILD_RECORD = "BUILD"


ROLLOUT_RECORD_PREFIX = "ROLLOUT#"


BUILD_LIST_INDEX = "by-queued-month"


MONTH_ATTRIBUTE = "queuedMonth"


BUILDS = paging.RecentIndex(
    BUILD_LIST_INDEX, MONTH_ATTRIBUTE, frozenset({"build_id", "record", MONTH_ATTRIBUTE, "queuedAt"})
)


class BuildNotFound(NotFound):
    def __init__(self, build_id: str):
        super().__init__(f"no build {build_id}")
        self.build_id = build_id


class BuildAlreadyFinished(Exception):
    """The build was finished by an earlier delivery of the same message."""


@dataclass(frozen=True)
class ArtifactLocation:
    bucket: str
    key: str
    sha256: str  # the payload's, as its manifest declares it
    size: int
    payload_size: int
    # What a host checks the artifact by (code_deploy.builds.artifact): the whole zip's sha256, and the root
    # of its piece list (at `pieces_key`, beside it in every bucket). Empty for an artifact uploaded by hand.
    artifact_sha256: str = ""
    piece_bytes: int = 0
    piece_root: str = ""
    pieces_key: str = ""
    # The artifact's torrent (code_deploy.builds.torrent, at `torrent_key` beside it): the hash of its info
    # dictionary, which a host believes the torrent by before it fetches pieces from its peers.
    info_hash: str = ""
    torrent_key: str = ""

    def attributes(self) -> dict[str, Any]:
        """The build record's attributes that hold the artifact."""
        return {attribute: getattr(self, field) for field, attribute in _ARTIFACT_ATTRIBUTES.items()}

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> ArtifactLocation:
        found = {field: item[attribute] for field, attribute in _ARTIFACT_ATTRIBUTES.items() if attribute in item}
        numbers = {field: int(found[field]) for field in ("size", "payload_size", "piece_bytes") if field in found}
        return cls(**found | numbers)


# Where a build record keeps its artifact: ArtifactLocation's fields, by the record's attribute names.
_ARTIFACT_ATTRIBUTES = {
    "bucket": "artifactBucket",
    "key": "artifactKey",
    "sha256": "sha256",
    "size": "artifactSize",
    "payload_size": "payloadSize",
    "artifact_sha256": "artifactSha256",
    "piece_bytes": "pieceBytes",
    "piece_root": "pieceRoot",
    "pieces_key": "piecesKey",
    "info_hash": "infoHash",
    "torrent_key": "torrentKey",
}


@dataclass(frozen=True)
class BuildRecord:
    """A build as the builds table keeps it: its status, history and, once built, its artifact."""

    build_id: str
    commit: str
    status: BuildStatus
    queued_at: str
    history: tuple[StatusChange, ...]  # of BuildStatus
    building_at: str | None = None
    built_at: str | None = None
    failed_at: str | None = None
    failure_reason: str | None = None
    failed_attempts: int = 0
    last_error: str | None = None
    artifact: ArtifactLocation | None = None
    upload_id: str | None = None  # the staged upload it is made of (deployctl push), else built from its commit

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> BuildRecord:
        artifact = ArtifactLocation.from_item(item) if item.get("artifactKey") else None
        return cls(
            build_id=item["build_id"],
            commit=item["commit"],
            status=BuildStatus(item["status"]),
            queued_at=item["queuedAt"],
            history=StatusChange.history(item.get("statusHistory", []), BuildStatus),
            building_at=item.get("buildingAt"),
            built_at=item.get("builtAt"),
            failed_at=item.get("failedAt"),
            failure_reason=item.get("failureReason"),
            failed_attempts=int(item.get("failedAttempts", 0)),
            last_error=item.get("lastError"),
            artifact=artifact,
            upload_id=item.get("uploadId"),
        )


def create_build(
    table, build_id: str, commit: str, now: str, upload_id: str | None = None, requested_by: str | None = None
) -> BuildRecord:
    """Records the build QUEUED; `requested_by` (the caller's SigV4 principal) is kept in its first history entry."""
    item: dict[str, Any] = {
        "build_id": build_id,
        "record": BUILD_RECORD,
        "commit": commit,
        "status": BuildStatus.QUEUED.value,
        "queuedAt": now,
        # the partition of the by-queued-month index, which lists builds newest first (code_deploy.paging)
        MONTH_ATTRIBUTE: paging.month_of(now),
        "updatedAt": now,
        "statusHistory": [
            {"status": BuildStatus.QUEUED.value, "at": now} | ({"by": requested_by} if requested_by else {})
        ],
    }
    if upload_id:
        item["uploadId"] = upload_id
    table.put_item(Item=item, ConditionExpression="attribute_not_exists(build_id)")
    return BuildRecord.from_item(item)


def _transition(
    build_id: str,
    to: BuildStatus,
    from_statuses: tuple[BuildStatus, ...],
    now: str,
    at_attribute: str,
    reason: str | None = None,
    **attributes: Any,
) -> dict[str, Any]:
    """The UpdateItem that moves a build from one of `from_statuses` to `to` at `now`: its status, when
    (`updatedAt` and `at_attribute`), one more history entry, and `attributes` set beside them."""
    entry = {"status": to.value, "at": now} | ({"reason": reason} if reason else {})
    expected = {f":from{number}": status.value for number, status in enumerate(from_statuses)}
    sets = "".join(f", {name} = :{name}" for name in attributes)
    return {
        "Key": {"build_id": build_id, "record": BUILD_RECORD},
        "UpdateExpression": (
            f"SET #status = :to, updatedAt = :now, {at_attribute} = :now{sets}, "
            "statusHistory = list_append(statusHistory, :entry)"
        ),
        "ConditionExpression": f"attribute_exists(build_id) AND #status IN ({', '.join(expected)})",
        "ExpressionAttributeNames": {"#status": "status"},
        "ExpressionAttributeValues": {
            ":to": to.value,
            ":now": now,
            ":entry": [entry],
            **expected,
            **{f":{name}": value for name, value in attributes.items()},
        },
    }


def start_building(table, build_id: str, now: str) -> BuildRecord:
    """Moves a build to BUILDING and returns its record.

    A build already BUILDING is taken again (its earlier attempt died), without a second history entry.
    Raises BuildAlreadyFinished when an earlier delivery finished it, BuildNotFound when there is none.
    """
    update = _transition(build_id, BuildStatus.BUILDING, (BuildStatus.QUEUED,), now, "buildingAt")
    try:
        return BuildRecord.from_item(table.update_item(**update, ReturnValues="ALL_NEW")["Attributes"])
    except ClientError as error:
        if not is_conditional_failure(error):
            raise
    record = get_build_record(table, build_id)
    if record is None:
        raise BuildNotFound(build_id)
    if record.status == BuildStatus.BUILDING:
        return record
    raise BuildAlreadyFinished(build_id)


def finish_build(table, build_id: str, now: str, artifact: ArtifactLocation) -> None:
    table.update_item(
        **_transition(
            build_id,
            BuildStatus.SUCCEEDED,
            (BuildStatus.BUILDING,),
            now,
            "builtAt",
            **artifact.attributes(),
        )
    )


def fail_build(
    table, build_id: str, now: str, reason: str, attempts: int | None = None, last_error: str | None = None
) -> None:
    """Records a build as FAILED with its reason, unless it already succeeded or failed. A build that
    failed its last attempt also counts that attempt and keeps its error, as earlier attempts did."""
    attempt = {"failedAttempts": attempts, "lastError": last_error or reason} if attempts is not None else {}
    update_if(
        table,
        **_transition(
            build_id,
            BuildStatus.FAILED,
            (BuildStatus.QUEUED, BuildStatus.BUILDING),
            now,
            "failedAt",
            reason,
            failureReason=reason,
            **attempt,
        ),
    )


def note_build_attempt_failure(table, build_id: str, attempt: int, reason: str) -> None:
    """Keeps the last attempt's error on a build that will be tried again (its status is unchanged)."""
    update_if(
        table,
        Key={"build_id": build_id, "record": BUILD_RECORD},
        UpdateExpression="SET failedAttempts = :attempt, lastError = :reason",
        ConditionExpression="attribute_exists(build_id)",
        ExpressionAttributeValues={":attempt": attempt, ":reason": reason},
    )


def get_build_record(table, build_id: str) -> BuildRecord | None:
    item = table.get_item(Key={"build_id": build_id, "record": BUILD_RECORD}, ConsistentRead=True).get("Item")
    return BuildRecord.from_item(item) if item else None


def list_builds(table, request: paging.PageRequest) -> paging.Page:
    """Build records' keys, newest first: a page of the by-queued-month index (which holds keys only)."""
    return paging.list_recent(table, BUILDS, request.now, request.limit, request.cursor)


@dataclass(frozen=True)
class RolloutSummary:
    """One region's rollout of one build, as the regional sync reports it to the builds table."""

    build_id: str
    region: str
    bucket: str
    artifact_key: str
    hosts_total: int
    hosts_deployed: int
    started_at: str
    completed_at: str
    model: SwarmFigures | None = None
    superseded_by: str | None = None  # a later build took the region over before this one reached every host
    rolled_back: str | None = None  # why its deployment rolled the region back (its health gate, an abort ...)

    def to_item(self) -> dict[str, Any]:
        item: dict[str, Any] = {
            "build_id": self.build_id,
            "record": f"{ROLLOUT_RECORD_PREFIX}{self.region}",
            "region": self.region,
            "bucket": self.bucket,
            "artifactKey": self.artifact_key,
            "hostsTotal": self.hosts_total,
            "hostsDeployed": self.hosts_deployed,
            "hostShards": host_record_shards(self.hosts_total),
            "startedAt": self.started_at,
            "completedAt": self.completed_at,
        }
        if self.superseded_by:
            item["supersededBy"] = self.superseded_by
        if self.rolled_back:
            item["rolledBack"] = self.rolled_back
        if self.model:
            item.update(
                planMethod=self.model.method,
                pieces=self.model.pieces,
                pieceBytes=self.model.piece_bytes,
                rounds=self.model.rounds,
                modelSeconds=decimal(self.model.seconds),
                physicalLimitSeconds=decimal(self.model.physical_limit_seconds),
                directFromBucketSeconds=decimal(self.model.direct_from_bucket_seconds),
            )
        return item

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> RolloutSummary:
        model = None
        if "modelSeconds" in item:
            model = SwarmFigures(
                method=item["planMethod"],
                pieces=int(item["pieces"]),
                piece_bytes=int(item["pieceBytes"]),
                rounds=int(item["rounds"]),
                seconds=float(item["modelSeconds"]),
                physical_limit_seconds=float(item["physicalLimitSeconds"]),
                direct_from_bucket_seconds=float(item["directFromBucketSeconds"]),
            )
        return cls(
            build_id=item["build_id"],
            region=item["region"],
            bucket=item["bucket"],
            artifact_key=item["artifactKey"],
            hosts_total=int(item["hostsTotal"]),
            hosts_deployed=int(item["hostsDeployed"]),
            started_at=item["startedAt"],
            completed_at=item["completedAt"],
            model=model,
            superseded_by=item.get("supersededBy"),
            rolled_back=item.get("rolledBack"),
        )


def put_rollout_summary(table, summary: RolloutSummary) -> None:
    # A plain put: a repeated delivery of the same S3 event writes the same summary again.
    table.put_item(Item=summary.to_item())


@dataclass(frozen=True)
class BuildWithRollouts:
    build: BuildRecord
    rollouts: dict[str, RolloutSummary]  # by region


def _items_under(table, build_id: str) -> list[dict[str, Any]]:
    return query_all(
        table,
        KeyConditionExpression="build_id = :build_id",
        ExpressionAttributeValues={":build_id": build_id},
        ConsistentRead=True,
    )


def _rollouts_among(items: list[dict[str, Any]]) -> dict[str, RolloutSummary]:
    summaries = [RolloutSummary.from_item(i) for i in items if i["record"].startswith(ROLLOUT_RECORD_PREFIX)]
    return {summary.region: summary for summary in summaries}


def get_rollout_summaries(table, build_id: str) -> dict[str, RolloutSummary]:
    """A build's rollout summaries by region (also of an artifact uploaded by hand, which has no build record)."""
    return _rollouts_among(_items_under(table, build_id))


def get_build_with_rollouts(table, build_id: str) -> BuildWithRollouts:
    """The build record and its rollout summaries: one Query under the build id, no Scan.
    Raises BuildNotFound when there is no build record."""
    items = _items_under(table, build_id)
    builds = [item for item in items if item["record"] == BUILD_RECORD]
    if not builds:
        raise BuildNotFound(build_id)
    return BuildWithRollouts(BuildRecord.from_item(builds[0]), _rollouts_among(items))


def get_builds_with_rollouts(table, build_ids: list[str], regions: tuple[str, ...]) -> list[BuildWithRollouts]:
    """Several builds, each with its rollout summaries in `regions`, in the order of `build_ids`: one
    BatchGetItem for up to 100 records (a page of a listing), not one Query a build."""
    keys = [
        {"build_id": build_id, "record": record}
        for build_id in build_ids
        for record in (BUILD_RECORD, *(f"{ROLLOUT_RECORD_PREFIX}{region}" for region in regions))
    ]
    by_build: dict[str, list[dict[str, Any]]] = {}
    for item in batch_get(table, keys):
        by_build.setdefault(item["build_id"], []).append(item)
    found = []
    for build_id in build_ids:
        items = by_build.get(build_id, [])
        builds = [item for item in items if item["record"] == BUILD_RECORD]
        if builds:  # a build removed between the listing and this read is left out
            found.append(BuildWithRollouts(BuildRecord.from_item(builds[0]), _rollouts_among(items)))
    return found
