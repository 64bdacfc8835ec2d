"""The emulator's floor: the least work the pipeline asks of S3 and DynamoDB, done straight from the
benchmark's process with no Lambda, queue or state machine in between.

A scratch bucket and a scratch table (the host-deployment-logs key schema) are made for it and deleted
after, so nothing of the deployed stack is touched and no S3 notification fires.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
from boto3.dynamodb.types import TypeSerializer

from code_deploy import store
from code_deploy.rollout import RolloutParameters, plan_rollout

BATCH_SIZE = 25  # BatchWriteItem's limit


@dataclass(frozen=True)
class Floor:
    put_seconds: float
    copy_seconds: float
    batch_write_seconds: float

    @property
    def total_seconds(self) -> float:
        return self.put_seconds + self.copy_seconds + self.batch_write_seconds


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def host_records(build_id: str, regions: Sequence[str], params: RolloutParameters) -> dict[str, list[dict[str, Any]]]:
    """The records the regional sync writes for one build: region -> one record a host."""
    return {
        region: [
            store.host_record(build_id, region, deployment, "2026-01-01T00:00:00.000Z")
            for deployment in plan_rollout(region, f"bench-{region}", params)
        ]
        for region in regions
    }


@contextmanager
def scratch_table(like_table: str) -> Iterator[str]:
    """A new on-demand table with `like_table`'s key schema, deleted on exit."""
    client = boto3.client("dynamodb")
    described = client.describe_table(TableName=like_table)["Table"]
    name = f"bench-host-records-{secrets.token_hex(4)}"
    key_names = {key["AttributeName"] for key in described["KeySchema"]}
    client.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=described["KeySchema"],
        AttributeDefinitions=[a for a in described["AttributeDefinitions"] if a["AttributeName"] in key_names],
    )
    client.get_waiter("table_exists").wait(TableName=name)
    try:
        yield name
    finally:
        client.delete_table(TableName=name)


@contextmanager
def scratch_bucket() -> Iterator[str]:
    s3 = boto3.client("s3")
    name = f"bench-scratch-{secrets.token_hex(6)}"
    s3.create_bucket(Bucket=name)
    try:
        yield name
    finally:
        empty_bucket(name)
        s3.delete_bucket(Bucket=name)


def empty_bucket(bucket: str) -> None:
    """Deletes every object version and delete marker (the builds buckets are versioned)."""
    s3 = boto3.client("s3")
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        doomed = [
            {"Key": entry["Key"], "VersionId": entry["VersionId"]}
            for entry in page.get("Versions", []) + page.get("DeleteMarkers", [])
        ]
        for start in range(0, len(doomed), 1000):
            s3.delete_objects(Bucket=bucket, Delete={"Objects": doomed[start : start + 1000], "Quiet": True})


def put_and_copy(bucket: str, artifact_bytes: int, regions: Sequence[str]) -> tuple[float, float]:
    """One PutObject of an artifact's size, then one CopyObject per region side by side (the state
    machine's Map copies them at once). Returns both times in seconds."""
    s3 = boto3.client("s3")
    body = os.urandom(artifact_bytes)
    key = f"builds/{secrets.token_hex(8)}.zip"
    put_seconds = timed(lambda: s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/zip"))

    def copy(region: str) -> None:
        s3.copy_object(Bucket=bucket, Key=f"{region}/{key}", CopySource={"Bucket": bucket, "Key": key})

    with ThreadPoolExecutor(max_workers=len(regions)) as pool:
        copy_seconds = timed(lambda: list(pool.map(copy, regions)))
    return put_seconds, copy_seconds


def _put_requests(records: Sequence[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    serializer = TypeSerializer()
    requests = [{"PutRequest": {"Item": {k: serializer.serialize(v) for k, v in r.items()}}} for r in records]
    return [requests[i : i + BATCH_SIZE] for i in range(0, len(requests), BATCH_SIZE)]


def _send_batch(client, table: str, batch: list[dict[str, Any]]) -> None:
    pending: dict[str, list] = {table: batch}
    while pending:
        pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}


def raw_batch_write(table: str, records_by_region: dict[str, list[dict[str, Any]]], writers: int) -> float:
    """The ceiling: every region's records as pre-serialized BatchWriteItem requests of 25, sent by
    `writers` threads a region, all regions at once (one sync function a region runs side by side).
    One client for all threads (boto3 clients are thread-safe). Returns the wall time in seconds."""
    client = boto3.client("dynamodb")
    batches = [batch for records in records_by_region.values() for batch in _put_requests(records)]
    with ThreadPoolExecutor(max_workers=writers * len(records_by_region)) as pool:
        return timed(lambda: list(pool.map(lambda batch: _send_batch(client, table, batch), batches)))


def naive_put_items(table: str, records_by_region: dict[str, list[dict[str, Any]]]) -> float:
    """The original plan's way: one PutItem a host in a loop, one loop a region, the regions at once."""

    # boto3 resources are not thread-safe: one a region, made before the clock starts.
    work = [
        (boto3.session.Session().resource("dynamodb").Table(table), records) for records in records_by_region.values()
    ]

    def one_region(writer, records: list[dict[str, Any]]) -> None:
        for record in records:
            writer.put_item(Item=record)

    with ThreadPoolExecutor(max_workers=len(work)) as pool:
        return timed(lambda: list(pool.map(lambda job: one_region(*job), work)))
