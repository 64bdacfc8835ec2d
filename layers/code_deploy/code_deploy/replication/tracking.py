"""The replication's record of each artifact, the plan's FileCopyTracking table (fileKey + sourceBucket),
as the replication state machine writes it: which destinations it copied to, and how each copy went."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from code_deploy.dynamo import batch_get


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


def get_copy_trackings(table, artifacts: list[tuple[str, str]]) -> dict[tuple[str, str], CopyTracking]:
    """The tracking rows of several artifacts, each named (fileKey, sourceBucket): one BatchGetItem."""
    keys = [{"fileKey": file_key, "sourceBucket": source_bucket} for file_key, source_bucket in set(artifacts)]
    rows = [CopyTracking.from_item(item) for item in batch_get(table, keys)]
    return {(row.file_key, row.source_bucket): row for row in rows}
