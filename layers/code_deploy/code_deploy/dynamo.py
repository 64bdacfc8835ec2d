"""What every store does the same way on DynamoDB: a conditional update that says whether it applied,
numbers as the Decimals the resource takes, and a record's history of statuses."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError


@dataclass(frozen=True)
class StatusChange:
    """One entry of a record's history: the status it moved to, when, why where it says, and who asked
    for it (the caller's principal) where a person or a pipeline did."""

    status: Any
    at: str
    reason: str | None = None
    by: str | None = None

    @classmethod
    def history(cls, entries: list[dict[str, Any]], status: Callable[[str], Any] = str) -> tuple[StatusChange, ...]:
        """The history kept as `entries` ({"status", "at", "reason"?, "by"?} items), each status read by `status`."""
        return tuple(
            cls(status(entry["status"]), entry["at"], entry.get("reason"), entry.get("by")) for entry in entries
        )


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


def query_all(table, **query: Any) -> list[dict[str, Any]]:
    """Every item a Query finds, page after page."""
    items: list[dict[str, Any]] = []
    while True:
        page = table.query(**query)
        items.extend(page["Items"])
        if "LastEvaluatedKey" not in page:
            return items
        query["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def decimal(value: float) -> Decimal:
    """A float as DynamoDB's resource takes it (it refuses floats), to the microsecond."""
    return Decimal(str(round(value, 6)))


BATCH_GET_KEYS = 100  # BatchGetItem's most keys in one request
BATCH_GET_ATTEMPTS = 8


def batch_get(table, keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The items of `keys` that exist (strongly consistent), in batches of BatchGetItem's size; what
    DynamoDB leaves unprocessed (throttling) is asked again after a backoff. Through the resource's
    client, which takes and gives plain Python values as the Table does."""
    import random
    import time

    found: list[dict[str, Any]] = []
    for start in range(0, len(keys), BATCH_GET_KEYS):
        pending = {table.name: {"Keys": keys[start : start + BATCH_GET_KEYS], "ConsistentRead": True}}
        for attempt in range(BATCH_GET_ATTEMPTS):
            answer = table.meta.client.batch_get_item(RequestItems=pending)
            found.extend(answer.get("Responses", {}).get(table.name, []))
            pending = answer.get("UnprocessedKeys") or {}
            if not pending:
                break
            time.sleep(random.uniform(0, min(0.05 * 2**attempt, 2.0)))  # full jitter
        else:
            raise RuntimeError(
                f"{len(pending[table.name]['Keys'])} keys still unprocessed after {BATCH_GET_ATTEMPTS} tries"
            )
    return found
