"""What the replication starter hands the state machine for an artifact that landed in the global bucket."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from code_deploy.builds.model import decoded_s3_key
from code_deploy.builds.torrent import is_companion

# Step Functions execution names: 1-80 characters, no whitespace, brackets, wildcards or control chars.
_UNSAFE_NAME_CHARS = re.compile(r"[^A-Za-z0-9_-]")

DIRECT_INPUT_FIELDS = ("sourceBucket", "sourceKey", "destinationBuckets")
EXPECTED_INPUT = (
    'an S3 event notification ({"Records": [...]}) or the plan\'s direct input '
    '{"sourceBucket": "<bucket>", "sourceKey": "<key>", "destinationBuckets": ["<bucket>", ...]}'
)


class InvalidReplicationRequest(ValueError):
    """The starter was handed something it cannot replicate; the message says what it expected."""


@dataclass(frozen=True)
class ReplicationRequest:
    """One object to replicate. `destination_buckets` is None for an S3 event: the stack's regions."""

    source_bucket: str
    source_key: str
    # Names this upload of the key (version id, else ETag), or the direct input's destinations:
    # the execution name is derived from it, so the same request starts one execution.
    version: str
    destination_buckets: tuple[str, ...] | None = None


def replication_requests(event: object) -> list[ReplicationRequest]:
    """The replications an event asks for: one per record of an S3 event notification, or the one
    the plan's direct input names (as the seed's invoker is called with `lambda invoke --payload`)."""
    if not isinstance(event, dict):
        raise InvalidReplicationRequest(f"expected {EXPECTED_INPUT}; got {type(event).__name__}")
    if "Records" in event:
        # A piece list or a torrent travels with its artifact (the copy takes them): never replicated alone.
        return [request for request in _s3_event_requests(event["Records"]) if not is_companion(request.source_key)]
    if any(field in event for field in DIRECT_INPUT_FIELDS):
        return [_direct_request(event)]
    raise InvalidReplicationRequest(f"expected {EXPECTED_INPUT}; got fields {sorted(event)}")


def _s3_event_requests(records: object) -> list[ReplicationRequest]:
    if not isinstance(records, list) or not records:
        raise InvalidReplicationRequest(f"expected {EXPECTED_INPUT}; Records must be a non-empty list")
    requests = []
    for index, record in enumerate(records):
        try:
            s3 = record["s3"]
            bucket, s3_object = s3["bucket"]["name"], s3["object"]
            key = decoded_s3_key(s3_object["key"])
        except (KeyError, TypeError) as error:
            raise InvalidReplicationRequest(
                f"Records[{index}] is not an S3 event record (expected s3.bucket.name and s3.object.key): "
                f"missing {error}"
            ) from None
        version = s3_object.get("versionId") or s3_object.get("eTag") or record.get("eventTime") or ""
        requests.append(ReplicationRequest(bucket, key, version))
    return requests


def _direct_request(event: dict) -> ReplicationRequest:
    problems = [f"unknown field: {field}" for field in sorted(event) if field not in DIRECT_INPUT_FIELDS]
    for field in ("sourceBucket", "sourceKey"):
        if not isinstance(event.get(field), str) or not event.get(field):
            problems.append(f"{field}: must be a non-empty string")
    destinations = event.get("destinationBuckets")
    if (
        not isinstance(destinations, list)
        or not destinations
        or not all(isinstance(bucket, str) and bucket for bucket in destinations)
    ):
        problems.append("destinationBuckets: must be a non-empty list of bucket names")
    if problems:
        raise InvalidReplicationRequest(f"expected {EXPECTED_INPUT}; " + "; ".join(problems))
    destination_buckets = tuple(destinations)
    return ReplicationRequest(
        event["sourceBucket"], event["sourceKey"], "direct:" + ",".join(destination_buckets), destination_buckets
    )


def execution_name(bucket: str, key: str, version: str) -> str:
    """The same object version always gets the same execution name, so a repeated S3 event
    cannot start a second replication of it (StartExecution answers ExecutionAlreadyExists)."""
    digest = hashlib.sha256(f"{bucket}\0{key}\0{version}".encode()).hexdigest()[:24]
    readable = _UNSAFE_NAME_CHARS.sub("-", key.rsplit("/", 1)[-1])[:50]
    return f"{readable}-{digest}"


def execution_input(source_bucket: str, source_key: str, destination_buckets: list[str]) -> dict:
    """The plan's input shape."""
    return {"sourceBucket": source_bucket, "sourceKey": source_key, "destinationBuckets": destination_buckets}
