"""What the replication starter hands the state machine for an artifact that landed in the global bucket."""

from __future__ import annotations

import hashlib
import re

# Step Functions execution names: 1-80 characters, no whitespace, brackets, wildcards or control chars.
_UNSAFE_NAME_CHARS = re.compile(r"[^A-Za-z0-9_-]")


def execution_name(bucket: str, key: str, version: str) -> str:
    """The same object version always gets the same execution name, so a repeated S3 event
    cannot start a second replication of it (StartExecution answers ExecutionAlreadyExists)."""
    digest = hashlib.sha256(f"{bucket}\0{key}\0{version}".encode()).hexdigest()[:24]
    readable = _UNSAFE_NAME_CHARS.sub("-", key.rsplit("/", 1)[-1])[:50]
    return f"{readable}-{digest}"


def execution_input(source_bucket: str, source_key: str, destination_buckets: list[str]) -> dict:
    """The plan's input shape."""
    return {"sourceBucket": source_bucket, "sourceKey": source_key, "destinationBuckets": destination_buckets}
