"""The emulator's floor: the least work the pipeline asks of S3 and DynamoDB, done straight from the
benchmark's process with no Lambda, queue or state machine in between.

A scratch bucket in the home region and one in each region, and a scratch table in each region (the
host-deployment-logs key schema), are made for it and deleted after, so nothing of the deployed stacks
is touched and no S3 notification fires. The copies go cross-region and each region's records go to a
table in that region, as the pipeline's do.
"""

from __future__ import annotations

import multiprocessing
import os
import secrets
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3

from code_deploy.hosts import records as host_logs
from code_deploy.swarm import SwarmParameters, plan_region

PROCESS_TIMEOUT_SECONDS = 900


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


def host_records(
    build_id: str, regions: Sequence[str], fleet: SwarmParameters, artifact_bytes: int
) -> dict[str, list[dict[str, Any]]]:
    """The records the regional sync writes for one build: region -> one record a host of its swarm plan."""
    plan = plan_region(fleet.with_artifact(artifact_bytes))
    return {
        region: host_logs.host_records(build_id, region, f"bench-{region}", plan, "2026-01-01T00:00:00.000Z")
        for region in regions
    }


@contextmanager
def scratch_tables(like_tables: dict[str, str]) -> Iterator[dict[str, str]]:
    """Region -> a new on-demand table in that region with the region's host table's key schema,
    deleted on exit."""
    made: dict[str, str] = {}
    try:
        for region, like_table in like_tables.items():
            client = boto3.client("dynamodb", region_name=region)
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
            made[region] = name
        yield made
    finally:
        for region, name in made.items():
            boto3.client("dynamodb", region_name=region).delete_table(TableName=name)


def _create_bucket(region: str | None) -> str:
    s3 = boto3.client("s3", region_name=region)
    name = f"bench-scratch-{secrets.token_hex(6)}"
    if region and region != "us-east-1":
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
    else:
        s3.create_bucket(Bucket=name)
    return name


@contextmanager
def scratch_buckets(regions: Sequence[str]) -> Iterator[tuple[str, dict[str, str]]]:
    """A bucket in the home region (the configured one) and one in each region, emptied and deleted on exit."""
    home = _create_bucket(None)
    regional: dict[str, str] = {}
    try:
        for region in regions:
            regional[region] = _create_bucket(region)
        yield home, regional
    finally:
        for region, bucket in [(None, home), *regional.items()]:
            empty_bucket(bucket, region)
            boto3.client("s3", region_name=region).delete_bucket(Bucket=bucket)


def empty_bucket(bucket: str, region: str | None = None) -> None:
    """Deletes every object version and delete marker (the builds buckets are versioned)."""
    s3 = boto3.client("s3", region_name=region)
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        doomed = [
            {"Key": entry["Key"], "VersionId": entry["VersionId"]}
            for entry in page.get("Versions", []) + page.get("DeleteMarkers", [])
        ]
        for start in range(0, len(doomed), 1000):
            s3.delete_objects(Bucket=bucket, Delete={"Objects": doomed[start : start + 1000], "Quiet": True})


def put_and_copy(home_bucket: str, regional_buckets: dict[str, str], artifact_bytes: int) -> tuple[float, float]:
    """One PutObject of an artifact's size into the home region's bucket, then one CopyObject into each
    region's bucket side by side, each sent to the bucket's own region (the state machine's Map copies
    them at once, through the regional copy function). Returns both times in seconds."""
    s3 = boto3.client("s3")
    body = os.urandom(artifact_bytes)
    key = f"builds/{secrets.token_hex(8)}.zip"
    put_seconds = timed(lambda: s3.put_object(Bucket=home_bucket, Key=key, Body=body, ContentType="application/zip"))
    clients = {region: boto3.client("s3", region_name=region) for region in regional_buckets}

    def copy(region: str) -> None:
        clients[region].copy_object(
            Bucket=regional_buckets[region], Key=key, CopySource={"Bucket": home_bucket, "Key": key}
        )

    with ThreadPoolExecutor(max_workers=len(regional_buckets)) as pool:
        copy_seconds = timed(lambda: list(pool.map(copy, regional_buckets)))
    return put_seconds, copy_seconds


def _batch_writes(region: str, table: str, records: list[dict[str, Any]], writers: int) -> Callable[[], object]:
    # One client for the region's threads (boto3 clients are thread-safe), the sync's own batches and
    # sends, the items serialized beforehand.
    client = boto3.client("dynamodb", region_name=region)
    batches = host_logs.host_record_batches(records)

    def send_all() -> None:
        with ThreadPoolExecutor(max_workers=writers) as pool:
            list(pool.map(lambda batch: host_logs.write_batch(client, table, batch), batches))

    return send_all


def _put_item_loop(region: str, table: str, records: list[dict[str, Any]], writers: int) -> Callable[[], object]:
    writer = boto3.resource("dynamodb", region_name=region).Table(table)

    def put_all() -> None:
        for record in records:
            writer.put_item(Item=record)

    return put_all


_WORKLOADS = {"batch": _batch_writes, "naive": _put_item_loop}


def _region_process(workload: str, region: str, table: str, records: list, writers: int, barrier, spans) -> None:
    """One region's writes in a process of its own, as one sync function a region runs: prepared, then
    started with the other regions' at the barrier; reports its (start, end) on the system-wide clock."""
    write = _WORKLOADS[workload](region, table, records, writers)
    barrier.wait()
    started = time.monotonic()
    write()
    spans.put((started, time.monotonic()))


def _in_region_processes(
    workload: str, tables: dict[str, str], records_by_region: dict[str, list], writers: int
) -> float:
    """Wall time from the first region's start to the last one's end. Processes, not threads: the sync
    functions run in a process each, and one interpreter's lock would cap the client side below them."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(len(records_by_region))
    spans = context.Queue()
    processes = [
        context.Process(
            target=_region_process, args=(workload, region, tables[region], records, writers, barrier, spans)
        )
        for region, records in records_by_region.items()
    ]
    for process in processes:
        process.start()
    ended = [spans.get(timeout=PROCESS_TIMEOUT_SECONDS) for _ in processes]
    for process in processes:
        process.join()
        if process.exitcode != 0:
            raise RuntimeError(f"a {workload} writer process exited with {process.exitcode}")
    return max(end for _, end in ended) - min(start for start, _ in ended)


def raw_batch_write(tables: dict[str, str], records_by_region: dict[str, list[dict[str, Any]]], writers: int) -> float:
    """The ceiling: every region's records as pre-serialized BatchWriteItem requests of 25, sent by
    `writers` threads in a process a region, all regions at once. Returns the wall time in seconds."""
    return _in_region_processes("batch", tables, records_by_region, writers)


def naive_put_items(tables: dict[str, str], records_by_region: dict[str, list[dict[str, Any]]]) -> float:
    """The original plan's way: one PutItem a host in a loop, a process a region, all regions at once."""
    return _in_region_processes("naive", tables, records_by_region, 1)
