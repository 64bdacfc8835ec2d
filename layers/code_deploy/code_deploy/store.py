"""The pipeline's data access: plain functions over boto3 Table resources (and one plain client for
bulk writes), taking and returning typed records; no other module reads a table's attribute names.

The builds table holds, under one build id, the build record (`record` = "BUILD") and one rollout
summary per region (`record` = "ROLLOUT#<region>"), so a build's whole status is one Query, no Scan.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from code_deploy import build_list
from code_deploy.builds import BuildStatus
from code_deploy.errors import NotFound
from code_deploy.swarm import BUCKET, SwarmResult

BUILD_RECORD = "BUILD"
ROLLOUT_RECORD_PREFIX = "ROLLOUT#"
# One partition key takes at most 1,000 writes a second. However a rollout's completions bunch (the
# swarm model finishes a region's hosts within a few piece-times of each other), a key that holds at
# most 800 hosts of a rollout never needs more than 800 writes in a second; and at least 16 keys a
# region let the regional sync's batch writers go at up to 16 x 800 records a second.
HOSTS_PER_PARTITION_KEY = 800
MIN_HOST_RECORD_SHARDS = 16
BUCKET_SOURCE_PREFIX = "s3://"
CACHE_SOURCE = "cache"  # a host that still held the build: it switched over, downloading nothing
BATCH_SIZE = 25  # BatchWriteItem's limit
BATCH_WRITE_ATTEMPTS = 8


class BuildNotFound(NotFound):
    def __init__(self, build_id: str):
        super().__init__(f"no build {build_id}")
        self.build_id = build_id


class BuildAlreadyFinished(Exception):
    """The build was finished by an earlier delivery of the same message."""


def is_conditional_failure(error: ClientError) -> bool:
    return error.response["Error"]["Code"] == "ConditionalCheckFailedException"


def update_if(table, **update: Any) -> bool:
    """One conditional UpdateItem; whether it was applied (False: its condition did not hold)."""
    try:
        table.update_item(**update)
        return True
    except ClientError as error:
        if is_conditional_failure(error):
            return False
        raise


# --- build records ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatusChange:
    status: BuildStatus
    at: str
    reason: str | None = None


@dataclass(frozen=True)
class ArtifactLocation:
    bucket: str
    key: str
    sha256: str
    size: int
    payload_size: int


@dataclass(frozen=True)
class BuildRecord:
    """A build as the builds table keeps it: its status, history and, once built, its artifact."""

    build_id: str
    commit: str
    status: BuildStatus
    queued_at: str
    history: tuple[StatusChange, ...]
    building_at: str | None = None
    built_at: str | None = None
    failed_at: str | None = None
    failure_reason: str | None = None
    failed_attempts: int = 0
    last_error: str | None = None
    artifact: ArtifactLocation | None = None

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> BuildRecord:
        artifact = None
        if item.get("artifactKey"):
            artifact = ArtifactLocation(
                bucket=item["artifactBucket"],
                key=item["artifactKey"],
                sha256=item["sha256"],
                size=int(item["artifactSize"]),
                payload_size=int(item["payloadSize"]),
            )
        return cls(
            build_id=item["build_id"],
            commit=item["commit"],
            status=BuildStatus(item["status"]),
            queued_at=item["queuedAt"],
            history=tuple(
                StatusChange(BuildStatus(change["status"]), change["at"], change.get("reason"))
                for change in item.get("statusHistory", [])
            ),
            building_at=item.get("buildingAt"),
            built_at=item.get("builtAt"),
            failed_at=item.get("failedAt"),
            failure_reason=item.get("failureReason"),
            failed_attempts=int(item.get("failedAttempts", 0)),
            last_error=item.get("lastError"),
            artifact=artifact,
        )


def create_build(table, build_id: str, commit: str, now: str) -> BuildRecord:
    item = {
        "build_id": build_id,
        "record": BUILD_RECORD,
        "commit": commit,
        "status": BuildStatus.QUEUED.value,
        "queuedAt": now,
        # the partition of the by-queued-month index, which lists builds newest first (build_list)
        build_list.MONTH_ATTRIBUTE: build_list.queued_month(now),
        "updatedAt": now,
        "statusHistory": [{"status": BuildStatus.QUEUED.value, "at": now}],
    }
    table.put_item(Item=item, ConditionExpression="attribute_not_exists(build_id)")
    return BuildRecord.from_item(item)


def start_building(table, build_id: str, now: str) -> BuildRecord:
    """Moves a build to BUILDING and returns its record.

    A build already BUILDING is taken again (its earlier attempt died), without a second history entry.
    Raises BuildAlreadyFinished when an earlier delivery finished it, BuildNotFound when there is none.
    """
    try:
        item = table.update_item(
            Key={"build_id": build_id, "record": BUILD_RECORD},
            UpdateExpression=(
                "SET #status = :building, updatedAt = :now, buildingAt = :now, "
                "statusHistory = list_append(statusHistory, :entry)"
            ),
            ConditionExpression="attribute_exists(build_id) AND #status = :queued",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":building": BuildStatus.BUILDING.value,
                ":queued": BuildStatus.QUEUED.value,
                ":now": now,
                ":entry": [{"status": BuildStatus.BUILDING.value, "at": now}],
            },
            ReturnValues="ALL_NEW",
        )["Attributes"]
        return BuildRecord.from_item(item)
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
        Key={"build_id": build_id, "record": BUILD_RECORD},
        UpdateExpression=(
            "SET #status = :succeeded, updatedAt = :now, builtAt = :now, artifactBucket = :bucket, "
            "artifactKey = :key, sha256 = :sha, artifactSize = :size, payloadSize = :payload, "
            "statusHistory = list_append(statusHistory, :entry)"
        ),
        ConditionExpression="#status = :building",
        ExpressionAttributeNames={"#status": "status"},
        ExpressionAttributeValues={
            ":succeeded": BuildStatus.SUCCEEDED.value,
            ":building": BuildStatus.BUILDING.value,
            ":now": now,
            ":bucket": artifact.bucket,
            ":key": artifact.key,
            ":sha": artifact.sha256,
            ":size": artifact.size,
            ":payload": artifact.payload_size,
            ":entry": [{"status": BuildStatus.SUCCEEDED.value, "at": now}],
        },
    )


def fail_build(
    table, build_id: str, now: str, reason: str, attempts: int | None = None, last_error: str | None = None
) -> None:
    """Records a build as FAILED with its reason, unless it already succeeded or failed. A build that
    failed its last attempt also counts that attempt and keeps its error, as earlier attempts did."""
    attempt_update = ", failedAttempts = :attempts, lastError = :error" if attempts is not None else ""
    attempt_values = {":attempts": attempts, ":error": last_error or reason} if attempts is not None else {}
    update_if(
        table,
        Key={"build_id": build_id, "record": BUILD_RECORD},
        UpdateExpression=(
            "SET #status = :failed, updatedAt = :now, failedAt = :now, failureReason = :reason, "
            "statusHistory = list_append(statusHistory, :entry)" + attempt_update
        ),
        ConditionExpression="attribute_exists(build_id) AND #status IN (:queued, :building)",
        ExpressionAttributeNames={"#status": "status"},
        ExpressionAttributeValues={
            ":failed": BuildStatus.FAILED.value,
            ":queued": BuildStatus.QUEUED.value,
            ":building": BuildStatus.BUILDING.value,
            ":now": now,
            ":reason": reason,
            ":entry": [{"status": BuildStatus.FAILED.value, "at": now, "reason": reason}],
            **attempt_values,
        },
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


# --- rollouts ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RolloutModel:
    """What the P2P swarm model said of a rollout (computed by the pipeline, kept with its summary)."""

    method: str
    pieces: int
    piece_bytes: int
    rounds: int
    seconds: float
    physical_limit_seconds: float
    direct_from_bucket_seconds: float


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
    model: RolloutModel | None = None
    superseded_by: str | None = None  # a later build took the region over before this one reached every host

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
        if self.model:
            item.update(
                planMethod=self.model.method,
                pieces=self.model.pieces,
                pieceBytes=self.model.piece_bytes,
                rounds=self.model.rounds,
                modelSeconds=_seconds(self.model.seconds),
                physicalLimitSeconds=_seconds(self.model.physical_limit_seconds),
                directFromBucketSeconds=_seconds(self.model.direct_from_bucket_seconds),
            )
        return item

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> RolloutSummary:
        model = None
        if "modelSeconds" in item:
            model = RolloutModel(
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
        )


def _seconds(value: float) -> Decimal:
    return Decimal(str(round(value, 6)))


def put_rollout_summary(table, summary: RolloutSummary) -> None:
    # A plain put: a repeated delivery of the same S3 event writes the same summary again.
    table.put_item(Item=summary.to_item())


@dataclass(frozen=True)
class BuildWithRollouts:
    build: BuildRecord
    rollouts: dict[str, RolloutSummary]  # by region


def _items_under(table, build_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {
        "KeyConditionExpression": "build_id = :build_id",
        "ExpressionAttributeValues": {":build_id": build_id},
        "ConsistentRead": True,
    }
    while True:
        page = table.query(**kwargs)
        items.extend(page["Items"])
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


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


def host_record_shards(hosts: int) -> int:
    return max(MIN_HOST_RECORD_SHARDS, math.ceil(hosts / HOSTS_PER_PARTITION_KEY))


def host_partition_key(build_id: str, region: str, host_index: int, shards: int) -> str:
    """Host records of one build and region are spread over shards so no partition key runs hot."""
    return f"{build_id}#{region}#{host_index % shards:03d}"


def host_id(region: str, host_index: int) -> str:
    return f"{region}-host-{host_index:06d}"


def host_records(build_id: str, region: str, bucket: str, plan: SwarmResult, deployed_at: str) -> list[dict[str, Any]]:
    """One record a host of the region: where its first piece came from, the round it completed in and
    its finish time in the P2P model, as the plan says."""
    shards = host_record_shards(plan.params.hosts)
    return [
        {
            "pk": host_partition_key(build_id, region, host, shards),
            "host_id": host_id(region, host),
            "build_id": build_id,
            "region": region,
            "status": "DEPLOYED",
            "first_source": f"{BUCKET_SOURCE_PREFIX}{bucket}" if source == BUCKET else host_id(region, source),
            "completed_round": plan.completed_round[host],
            "finish_seconds": _seconds(plan.finish_seconds(host)),
            "deployed_at": deployed_at,
        }
        for host, source in enumerate(plan.first_source)
    ]


def wave_host_records(
    build_id: str,
    region: str,
    bucket: str,
    hosts_total: int,
    downloaded: Sequence[int],
    plan: SwarmResult | None,
    activated: Sequence[int],
    failed: Sequence[int],
    at: str,
) -> list[dict[str, Any]]:
    """One record a host a wave tried, under the same keys as a whole region's (`host_records`): the
    hosts that downloaded the build (host `downloaded[i]` is host i of the wave's swarm `plan`), those
    that had it cached and only switched to it, and those that failed."""
    shards = host_record_shards(hosts_total)

    def record(host: int, status: str, **fields: Any) -> dict[str, Any]:
        return {
            "pk": host_partition_key(build_id, region, host, shards),
            "host_id": host_id(region, host),
            "build_id": build_id,
            "region": region,
            "status": status,
            "deployed_at": at,
            **fields,
        }

    records = []
    for swarm_host, host in enumerate(downloaded):
        assert plan is not None
        source = plan.first_source[swarm_host]
        records.append(
            record(
                host,
                "DEPLOYED",
                first_source=f"{BUCKET_SOURCE_PREFIX}{bucket}"
                if source == BUCKET
                else host_id(region, downloaded[source]),
                completed_round=plan.completed_round[swarm_host],
                finish_seconds=_seconds(plan.finish_seconds(swarm_host)),
            )
        )
    records.extend(record(host, "DEPLOYED", first_source=CACHE_SOURCE, completed_round=0) for host in activated)
    records.extend(record(host, "FAILED") for host in failed)
    return records


def _attribute_value(value: Any) -> dict[str, Any]:
    # Host records hold strings and integers only; boto3's TypeSerializer is the general case (imported
    # here: boto3 is no part of a function's cold import, code_deploy.aws).
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return {"N": str(value)}
    from boto3.dynamodb.types import TypeSerializer

    return TypeSerializer().serialize(value)


def host_record_batches(records: Sequence[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The records as BatchWriteItem put requests in DynamoDB's JSON, in batches of 25."""
    # BatchWriteItem refuses two requests for one key: a record given twice is written once, the last.
    unique = {(record["pk"], record["host_id"]): record for record in records}
    requests = [
        {"PutRequest": {"Item": {name: _attribute_value(value) for name, value in record.items()}}}
        for record in unique.values()
    ]
    return [requests[i : i + BATCH_SIZE] for i in range(0, len(requests), BATCH_SIZE)]


def write_batch(client, table_name: str, requests: list[dict[str, Any]]) -> None:
    """One BatchWriteItem; what DynamoDB leaves unprocessed (throttling) is sent again after a backoff."""
    pending = {table_name: requests}
    for attempt in range(BATCH_WRITE_ATTEMPTS):
        pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
        if not pending:
            return
        time.sleep(random.uniform(0, min(0.05 * 2**attempt, 2.0)))  # full jitter
    raise RuntimeError(f"{len(pending[table_name])} host records still unprocessed after {BATCH_WRITE_ATTEMPTS} tries")


def write_host_records(client, table_name: str, records: Sequence[dict[str, Any]], workers: int) -> int:
    """Writes the records as BatchWriteItem requests of 25, `workers` of them in flight at once; returns
    how many were written.

    Measured with `make bench` and py-spy: a boto3 session and resource per thread, as this did first,
    spent 80% of the regional sync's time loading botocore's JSON models; the resource's conversion of
    every item (TypeSerializer, walked over the request's shape) then cost a third of what was left.
    So all threads share one plain client (boto3 clients are thread-safe) and the items are built in
    DynamoDB's JSON here.
    """
    if not records:
        return 0
    batches = host_record_batches(records)
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(batches)))) as pool:
        list(pool.map(lambda batch: write_batch(client, table_name, batch), batches))
    return sum(len(batch) for batch in batches)


# --- replication tracking (written by the state machine) ---------------------------------------------


@dataclass(frozen=True)
class CopyOutcome:
    """One destination's copy, as the state machine's Map recorded it."""

    bucket: str
    status: str  # SUCCEEDED | FAILED
    error: str | None = None
    cause: str | None = None


@dataclass(frozen=True)
class CopyTracking:
    """The plan's FileCopyTracking row of one artifact (fileKey + sourceBucket)."""

    file_key: str
    source_bucket: str
    status: str  # IN_PROGRESS | SUCCEEDED | PARTIAL_FAILURE | FAILED
    execution_id: str | None
    started_at: str | None
    completed_at: str | None
    total_buckets: int
    successful_copies: int
    failed_copies: int
    outcomes: tuple[CopyOutcome, ...]

    def outcome_for(self, bucket: str) -> CopyOutcome | None:
        return next((outcome for outcome in self.outcomes if outcome.bucket == bucket), None)

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> CopyTracking:
        results = item.get("results") or "[]"
        outcomes = tuple(
            CopyOutcome(result["bucket"], result["status"], result.get("error"), result.get("cause"))
            for result in (json.loads(results) if isinstance(results, str) else results)
        )
        return cls(
            file_key=item["fileKey"],
            source_bucket=item["sourceBucket"],
            status=item.get("status", "IN_PROGRESS"),
            execution_id=item.get("executionId"),
            started_at=item.get("startTime"),
            completed_at=item.get("completeTime"),
            total_buckets=int(item.get("totalBuckets", 0)),
            successful_copies=int(item.get("successfulCopies", 0)),
            failed_copies=int(item.get("failedCopies", 0)),
            outcomes=outcomes,
        )


def get_copy_tracking(table, file_key: str, source_bucket: str) -> CopyTracking | None:
    item = table.get_item(Key={"fileKey": file_key, "sourceBucket": source_bucket}, ConsistentRead=True).get("Item")
    return CopyTracking.from_item(item) if item else None


def count_host_records(table, build_id: str, region: str, hosts: int) -> int:
    """Counts a build's host records in a region of `hosts` hosts by querying each shard (no Scan)."""
    total, shards = 0, host_record_shards(hosts)
    for shard in range(shards):
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": host_partition_key(build_id, region, shard, shards)},
            "Select": "COUNT",
        }
        while True:
            page = table.query(**kwargs)
            total += page["Count"]
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return total


def count_host_records_by_scan(table, build_id: str) -> int:
    """The plan's verification, as the plan wrote it: a Scan counting one build's host records.
    For people checking by hand and for the demo; progress is counted with count_host_records."""
    count = 0
    kwargs: dict[str, Any] = {
        "FilterExpression": "build_id = :build_id",
        "ExpressionAttributeValues": {":build_id": build_id},
        "Select": "COUNT",
    }
    while True:
        page = table.scan(**kwargs)
        count += page["Count"]
        if "LastEvaluatedKey" not in page:
            return count
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
