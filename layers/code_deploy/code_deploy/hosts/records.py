"""The region's host-deployment-logs table: one record a host a deployment's wave tried (the plan's
verification counts them), written in batches from the regional sync.

Records of one build and region are spread over partition keys (shards), so no key runs hot: one
partition key takes at most 1,000 writes a second."""

from __future__ import annotations

import math
import random
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from code_deploy.dynamo import decimal
from code_deploy.hosts.model import WaveOutcome
from code_deploy.swarm import BUCKET, SwarmResult

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


# The table's TTL attribute (regional.yaml's TimeToLiveSpecification): epoch seconds after which DynamoDB
# deletes the record, HostRecordRetentionDays after it was written; without it the table grows for ever.
EXPIRES_AT = "expiresAt"


DEFAULT_RETENTION_DAYS = 30  # regional.yaml's HostRecordRetentionDays default


def host_record_shards(hosts: int) -> int:
    return max(MIN_HOST_RECORD_SHARDS, math.ceil(hosts / HOSTS_PER_PARTITION_KEY))


def host_partition_key(build_id: str, region: str, host_index: int, shards: int) -> str:
    """Host records of one build and region are spread over shards so no partition key runs hot."""
    return f"{build_id}#{region}#{host_index % shards:03d}"


def host_id(region: str, host_index: int) -> str:
    return f"{region}-host-{host_index:06d}"


def expires_at(retention_days: int) -> int:
    """When a record written now expires: `retention_days` later, in epoch seconds."""
    return int(time.time()) + retention_days * 86_400


def host_records(
    build_id: str,
    region: str,
    bucket: str,
    plan: SwarmResult,
    deployed_at: str,
    retention_days: int = DEFAULT_RETENTION_DAYS,
) -> list[dict[str, Any]]:
    """One record a host of the region: where its first piece came from, the round it completed in and
    its finish time in the P2P model, as the plan says."""
    shards = host_record_shards(plan.params.hosts)
    expires = expires_at(retention_days)
    return [
        {
            "pk": host_partition_key(build_id, region, host, shards),
            "host_id": host_id(region, host),
            "build_id": build_id,
            "region": region,
            "status": "DEPLOYED",
            "first_source": f"{BUCKET_SOURCE_PREFIX}{bucket}" if source == BUCKET else host_id(region, source),
            "completed_round": plan.completed_round[host],
            "finish_seconds": decimal(plan.finish_seconds(host)),
            "deployed_at": deployed_at,
            EXPIRES_AT: expires,
        }
        for host, source in enumerate(plan.first_source)
    ]


@dataclass(frozen=True)
class WaveTried:
    """The hosts a wave of `build_id` tried in `region` (of `hosts_total`, which shard its records), by what
    became of them (`outcome`): those that downloaded the build (host `outcome.downloaded[i]` is host i of
    the wave's swarm `plan`; its first source the region's `bucket` or another host), those that had it
    cached and only switched to it, and those that failed."""

    build_id: str
    region: str
    bucket: str
    hosts_total: int
    outcome: WaveOutcome
    plan: SwarmResult | None


def wave_host_records(wave: WaveTried, at: str, retention_days: int = DEFAULT_RETENTION_DAYS) -> list[dict[str, Any]]:
    """One record a host the wave tried, under the same keys as a whole region's (`host_records`); each
    expires `retention_days` from now."""
    build_id, region, bucket, plan, outcome = wave.build_id, wave.region, wave.bucket, wave.plan, wave.outcome
    downloaded = outcome.downloaded
    shards = host_record_shards(wave.hosts_total)
    expires = expires_at(retention_days)

    def record(host: int, status: str, **fields: Any) -> dict[str, Any]:
        return {
            "pk": host_partition_key(build_id, region, host, shards),
            "host_id": host_id(region, host),
            "build_id": build_id,
            "region": region,
            "status": status,
            "deployed_at": at,
            EXPIRES_AT: expires,
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
                finish_seconds=decimal(plan.finish_seconds(swarm_host)),
            )
        )
    records.extend(record(host, "DEPLOYED", first_source=CACHE_SOURCE, completed_round=0) for host in outcome.activated)
    records.extend(record(host, "FAILED") for host in outcome.failed)
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
