"""The region's hosts in its host-state table: blocks of up to 1,000 hosts, one item each.

A wave reads the region's blocks, changes its hosts (`code_deploy.hosts`) and writes back the blocks it
changed, each on the condition that its version is still the one read; when another writer got there
first, the wave reads again and redoes its change. So two deployments' waves in one region never
overwrite each other's hosts, and a region's state is a handful of reads (1,000 hosts: one item of
about 70 KB, well under DynamoDB's 400 KB).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass

from botocore.exceptions import ClientError

from code_deploy.dynamo import is_conditional_failure
from code_deploy.hosts.model import Host

HOSTS_PER_BLOCK = 1000
SAVE_ATTEMPTS = 8


class HostsChanged(Exception):
    """Another writer changed a block between our read and our write."""


@dataclass(frozen=True)
class RegionHosts:
    hosts: list[Host]
    versions: list[int]  # per block

    @property
    def version(self) -> int:
        """Grows with every change to any of the region's hosts: orders reports of the region's state."""
        return sum(self.versions)


def _blocks(hosts_total: int) -> int:
    return max(1, math.ceil(hosts_total / HOSTS_PER_BLOCK))


def _decode(text: str) -> list[Host]:
    return [Host(current, previous, seq) for current, previous, seq in json.loads(text)]


def _encode(hosts: list[Host]) -> str:
    return json.dumps([[host.current, host.previous, host.seq] for host in hosts], separators=(",", ":"))


def load(table, hosts_total: int) -> RegionHosts:
    hosts: list[Host] = []
    versions: list[int] = []
    for block in range(_blocks(hosts_total)):
        size = min(HOSTS_PER_BLOCK, hosts_total - block * HOSTS_PER_BLOCK)
        item = table.get_item(Key={"block": block}, ConsistentRead=True).get("Item")
        stored = _decode(item["hosts"]) if item else []
        hosts.extend((stored + [Host()] * size)[:size])
        versions.append(int(item["version"]) if item else 0)
    return RegionHosts(hosts, versions)


def save(table, before: RegionHosts, after: list[Host]) -> RegionHosts:
    """Writes the blocks whose hosts changed; raises HostsChanged when one was written meanwhile."""
    versions = list(before.versions)
    for block in range(len(before.versions)):
        window = slice(block * HOSTS_PER_BLOCK, (block + 1) * HOSTS_PER_BLOCK)
        if before.hosts[window] == after[window]:
            continue
        if versions[block] == 0:
            condition = {
                "ConditionExpression": "attribute_not_exists(#block)",
                "ExpressionAttributeNames": {"#block": "block"},
            }
        else:
            condition = {
                "ConditionExpression": "version = :read",
                "ExpressionAttributeValues": {":read": versions[block]},
            }
        try:
            table.put_item(
                Item={"block": block, "version": versions[block] + 1, "hosts": _encode(after[window])}, **condition
            )
        except ClientError as error:
            if is_conditional_failure(error):
                raise HostsChanged(block) from None
            raise
        versions[block] += 1
    return RegionHosts(after, versions)


def change[Outcome](
    table, hosts_total: int, apply: Callable[[list[Host]], tuple[list[Host], Outcome]]
) -> tuple[RegionHosts, Outcome]:
    """Reads the region's hosts, applies `apply` and saves the result; on a concurrent write, reads
    again and applies again (optimistic concurrency)."""
    for _ in range(SAVE_ATTEMPTS):
        before = load(table, hosts_total)
        after, outcome = apply(before.hosts)
        try:
            return save(table, before, after), outcome
        except HostsChanged:
            continue
    raise RuntimeError(f"the region's hosts kept changing under {SAVE_ATTEMPTS} attempts to update them")
