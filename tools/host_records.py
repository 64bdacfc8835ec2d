"""The plan's verification of the host-deployment-logs, as the plan wrote it: a Scan counting one build's
host records in a region's table. For people checking by hand and for the integration tests; nothing
deployed scans (code_deploy.hosts.records.count_host_records queries each shard instead)."""

from __future__ import annotations

from typing import Any


def count_host_records_by_scan(table, build_id: str) -> int:
    """One build's host records in the region's table (a boto3 Table), by a full-table Scan."""
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
