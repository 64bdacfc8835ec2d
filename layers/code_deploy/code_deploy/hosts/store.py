"""The region's hosts in its host-state table: blocks of up to 1,000 hosts, one item each (about 85 KB,
well under DynamoDB's 400 KB), which also keeps its hosts per build.

A change (a wave, a rollback) reads the blocks it touches, all at once (a thread pool over the table's
one client), changes each block's hosts (code_deploy.hosts.model) and writes back each block it
changed on the condition that its version is still the one read; when another writer got there first,
it reads that block again and redoes its change to it alone. A host's change never depends on another
host's, so the blocks change independently: once a block is saved its part of the change is done,
whatever becomes of the others, and a retry finds its hosts changed. So two deployments' waves in one
region never overwrite each other's hosts, and a wave reads only its own blocks, plus the counts the
other blocks keep (a few bytes each) to tell the region's hosts per build.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from code_deploy.dynamo import is_conditional_failure
from code_deploy.hosts.model import Change, Host, hosts_by_build
from code_deploy.services.model import DEFAULT_SERVICE

HOSTS_PER_BLOCK = 1000
SAVE_ATTEMPTS = 8
# Block reads and saves in flight at once. botocore's client keeps 10 connections to a host by default;
# more threads than that would wait for one.
BLOCKS_IN_FLIGHT = 10


# Each service's simulated hosts in the region are blocks of their own. The table's key is a number (its
# items predate services), so a service's blocks take a range of keys of their own: the default's from 0
# (as before), another's from a 64-bit hash of its name times SERVICE_KEY_SPAN, within DynamoDB's 38 digits.
SERVICE_KEY_SPAN = 10**9


def block_key(service: str, number: int) -> int:
    """The table's key of the service's block `number`."""
    if service == DEFAULT_SERVICE:
        return number
    return int.from_bytes(hashlib.sha256(service.encode()).digest()[:8], "big") * SERVICE_KEY_SPAN + number


class HostsChanged(Exception):
    """Another writer changed a block between our read and our write."""


@dataclass(frozen=True)
class Block:
    """One item of the table: hosts `first` to `first` + len(hosts) - 1 of the region."""

    number: int
    hosts: list[Host]
    version: int  # grows with every save; 0: never saved

    @property
    def first(self) -> int:
        return self.number * HOSTS_PER_BLOCK


@dataclass(frozen=True)
class RegionCounts:
    """The region's hosts per build, and a version that grows with every change to any of its hosts
    (the sum of its blocks' versions): it orders the reports of the region's state."""

    hosts_by_build: dict[str, int]
    version: int


def block_count(hosts_total: int) -> int:
    return max(1, math.ceil(hosts_total / HOSTS_PER_BLOCK))


def blocks_of(start: int, end: int) -> range:
    """The numbers of the blocks that hold hosts [start, end)."""
    if end <= start:
        return range(0)
    return range(start // HOSTS_PER_BLOCK, (end - 1) // HOSTS_PER_BLOCK + 1)


def _size(hosts_total: int, number: int) -> int:
    return max(0, min(HOSTS_PER_BLOCK, hosts_total - number * HOSTS_PER_BLOCK))


def _decode(text: str) -> list[Host]:
    # [current, previous, seq] and, once a deployment changed the host, how it did ([..., change])
    return [Host(*row[:3], Change(row[3]) if len(row) > 3 else None) for row in json.loads(text)]


def _encode(hosts: list[Host]) -> str:
    return json.dumps(
        [[host.current, host.previous, host.seq, *([host.change.value] if host.change else [])] for host in hosts],
        separators=(",", ":"),
    )


def _in_parallel[Item, Result](work: Callable[[Item], Result], items: list[Item]) -> list[Result]:
    """work(item) for every item, at most BLOCKS_IN_FLIGHT at once; the results in the items' order."""
    if len(items) <= 1:
        return [work(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(BLOCKS_IN_FLIGHT, len(items))) as pool:
        return list(pool.map(work, items))


def _get(table, number: int, counts_only: bool = False, service: str = DEFAULT_SERVICE) -> dict[str, Any] | None:
    # Through the Table's client, which is thread-safe (a boto3 resource is not) and takes plain values.
    request: dict[str, Any] = {
        "TableName": table.name,
        "Key": {"block": block_key(service, number)},
        "ConsistentRead": True,
    }
    if counts_only:
        request |= {
            "ProjectionExpression": "#version, hostsByBuild",
            "ExpressionAttributeNames": {"#version": "version"},
        }
    return table.meta.client.get_item(**request).get("Item")


def _read_block(table, hosts_total: int, number: int, service: str = DEFAULT_SERVICE) -> Block:
    item = _get(table, number, service=service)
    size = _size(hosts_total, number)
    stored = _decode(item["hosts"]) if item else []
    return Block(number, (stored + [Host()] * size)[:size], int(item["version"]) if item else 0)


def load(table, hosts_total: int, numbers: Iterable[int], service: str = DEFAULT_SERVICE) -> list[Block]:
    """The blocks `numbers` of the service's `hosts_total` hosts in the region, read all at once."""
    return _in_parallel(lambda number: _read_block(table, hosts_total, number, service), list(numbers))


def _read_counts(table, hosts_total: int, number: int, service: str = DEFAULT_SERVICE) -> RegionCounts:
    item = _get(table, number, counts_only=True, service=service)
    if item is None:
        return RegionCounts({}, 0)
    if "hostsByBuild" not in item:  # saved by a release before blocks kept their counts
        block = _read_block(table, hosts_total, number, service)
        return RegionCounts(hosts_by_build(block.hosts), block.version)
    return RegionCounts({build: int(n) for build, n in item["hostsByBuild"].items()}, int(item["version"]))


def region_counts(table, hosts_total: int, blocks: list[Block], service: str = DEFAULT_SERVICE) -> RegionCounts:
    """The region's hosts per build and version: those of `blocks` (as read or saved) from their hosts,
    every other block's from the counts its item keeps."""
    known = {block.number for block in blocks}
    others = [number for number in range(block_count(hosts_total)) if number not in known]
    parts = [RegionCounts(hosts_by_build(block.hosts), block.version) for block in blocks]
    parts += _in_parallel(lambda number: _read_counts(table, hosts_total, number, service), others)
    totals: dict[str, int] = {}
    for part in parts:
        for build, hosts in part.hosts_by_build.items():
            totals[build] = totals.get(build, 0) + hosts
    return RegionCounts({build: n for build, n in totals.items() if n > 0}, sum(part.version for part in parts))


def save_block(table, block: Block, hosts: list[Host], service: str = DEFAULT_SERVICE) -> Block:
    """Writes the block's new hosts (and their counts) if its version is still the one read; raises
    HostsChanged when another writer saved it meanwhile."""
    if block.version == 0:
        condition = {
            "ConditionExpression": "attribute_not_exists(#block)",
            "ExpressionAttributeNames": {"#block": "block"},
        }
    else:
        condition = {"ConditionExpression": "version = :read", "ExpressionAttributeValues": {":read": block.version}}
    item = {
        "block": block_key(service, block.number),
        "version": block.version + 1,
        "hosts": _encode(hosts),
        "hostsByBuild": hosts_by_build(hosts),
    }
    try:
        table.meta.client.put_item(TableName=table.name, Item=item, **condition)
    except ClientError as error:
        if is_conditional_failure(error):
            raise HostsChanged(block.number) from None
        raise
    return Block(block.number, hosts, block.version + 1)


def change[Outcome](
    table,
    hosts_total: int,
    blocks: list[Block],
    apply: Callable[[Block], tuple[list[Host], Outcome]],
    service: str = DEFAULT_SERVICE,
) -> list[tuple[Block, Outcome]]:
    """Applies `apply` to each of `blocks` (as read) and saves each block whose hosts it changed, all
    at once; a block another writer saved since it was read is read again and `apply` applied to it
    again (optimistic concurrency, a block at a time). Returns each block as it now stands, with the
    outcome of `apply` on it. `apply` must change nothing on hosts it already changed, so that a retry
    that finds some blocks saved redoes only the others."""

    def change_block(block: Block) -> tuple[Block, Outcome]:
        for _ in range(SAVE_ATTEMPTS):
            after, outcome = apply(block)
            if after == block.hosts:
                return block, outcome
            try:
                return save_block(table, block, after, service), outcome
            except HostsChanged:
                block = _read_block(table, hosts_total, block.number, service)
        raise RuntimeError(
            f"block {block.number} of the region's hosts kept changing under {SAVE_ATTEMPTS} attempts to update it"
        )

    return _in_parallel(change_block, blocks)
