"""Lists of records newest first, a page at a time, without a Scan: the builds (code_deploy.builds.store)
and the deployments (code_deploy.deployments.store) are each listed through an index of this kind.

Every listed record carries its month ("2026-11") as the partition key of its table's index, sorted by
its time. A page walks the months backwards from the newest, one Query each (descending), until it has
`limit` records; the cursor says where the next page starts: a month, and DynamoDB's LastEvaluatedKey
within it. Records without the month attribute (a build's rollout summaries) stay out of the index.

One month is one index partition: its writes are the month's submissions, far below the 1,000 writes a
second a partition takes.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Any

# How far back the list reaches: a page walks at most this many empty months.
LIST_MONTHS = 13
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 50
MAX_CURSOR_CHARS = 1024
_MONTH_RE = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$")


@dataclass(frozen=True)
class RecentIndex:
    """An index that lists a table's records newest first: partitioned by month, sorted by time."""

    name: str
    month_attribute: str
    # The keys of a LastEvaluatedKey from the index: the table's keys and the index's.
    page_key_fields: frozenset[str]


class InvalidCursor(ValueError):
    """The cursor is not one this API gave out."""


def month_of(timestamp: str) -> str:
    """The index partition of a record made at `timestamp` (ISO-8601 UTC): its year and month."""
    return timestamp[:7]


def previous_month(month: str) -> str:
    year, number = int(month[:4]), int(month[5:7])
    return f"{year - 1}-12" if number == 1 else f"{year}-{number - 1:02d}"


def months_before(month: str, count: int) -> str:
    for _ in range(count):
        month = previous_month(month)
    return month


@dataclass(frozen=True)
class Cursor:
    month: str
    start_key: dict[str, str] | None = None

    def encode(self) -> str:
        payload = json.dumps({"m": self.month, "k": self.start_key}, separators=(",", ":"), sort_keys=True)
        return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str, index: RecentIndex, partition_prefix: str = "") -> Cursor:
        """The cursor, checked field by field: a forged one is refused here, never sent to DynamoDB."""
        if len(text) > MAX_CURSOR_CHARS:
            raise InvalidCursor("too long")
        try:
            payload = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        except (binascii.Error, ValueError, UnicodeDecodeError):
            raise InvalidCursor("not base64url JSON") from None
        if not isinstance(payload, dict) or set(payload) != {"m", "k"}:
            raise InvalidCursor("unexpected fields")
        month, start_key = payload["m"], payload["k"]
        if not isinstance(month, str) or not _MONTH_RE.fullmatch(month):
            raise InvalidCursor("bad month")
        if start_key is not None and (
            not isinstance(start_key, dict)
            or set(start_key) != index.page_key_fields
            or not all(isinstance(value, str) for value in start_key.values())
            or start_key[index.month_attribute] != partition_prefix + month
        ):
            raise InvalidCursor("bad start key")
        return cls(month, start_key)


@dataclass(frozen=True)
class PageRequest:
    """Which page a client asks for: at most `limit` records from `cursor` on (from the newest without
    one), as of `now` (ISO-8601 UTC), which bounds how far back the list reaches."""

    now: str
    limit: int = DEFAULT_PAGE_SIZE
    cursor: Cursor | None = None
    partition_prefix: str = ""  # "<service>#": one service's records, through its by-service index


@dataclass(frozen=True)
class Page:
    records: list[dict[str, Any]]
    next_cursor: Cursor | None


def service_partition(service: str) -> str:
    """The prefix of a service's index partitions (`<service>#<month>`), which list its records alone."""
    return f"{service}#"


def list_recent(
    table,
    index: RecentIndex,
    now: str,
    limit: int = DEFAULT_PAGE_SIZE,
    cursor: Cursor | None = None,
    partition_prefix: str = "",
) -> Page:
    """The index's records, newest first: at most `limit`, from `cursor` on (from the newest without one).

    `now` bounds the walk: months from now back LIST_MONTHS are listed, older ones are not. An index of
    one service's records (`<service>#<month>`, partition_prefix `<service>#`) is walked the same way.
    """
    oldest = months_before(month_of(now), LIST_MONTHS - 1)
    month, start_key = (cursor.month, cursor.start_key) if cursor else (month_of(now), None)
    records: list[dict[str, Any]] = []
    while month >= oldest and len(records) < limit:
        kwargs: dict[str, Any] = {
            "IndexName": index.name,
            "KeyConditionExpression": "#month = :month",
            "ExpressionAttributeNames": {"#month": index.month_attribute},
            "ExpressionAttributeValues": {":month": partition_prefix + month},
            "ScanIndexForward": False,
            "Limit": limit - len(records),
        }
        if start_key:
            kwargs["ExclusiveStartKey"] = start_key
        page = table.query(**kwargs)
        records.extend(page["Items"])
        start_key = page.get("LastEvaluatedKey")
        if not start_key:
            month = previous_month(month)
    return Page(records, Cursor(month, start_key) if month >= oldest else None)
