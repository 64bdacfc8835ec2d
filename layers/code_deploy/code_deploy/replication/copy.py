"""The replication's steps that run as functions: starting the state machine for an artifact that landed
in the global bucket (once per object version), and one destination's copy, made in its own region."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from code_deploy.builds.torrent import companion_keys
from code_deploy.replication import retention, transfer
from code_deploy.replication.model import execution_input, execution_name

if TYPE_CHECKING:  # pydantic's model, imported by the function that builds one: not every cold start needs pydantic
    from code_deploy.replication.schema import CopyRequest

logger = logging.getLogger(__name__)


def start_replication(
    sfn_client,
    state_machine_arn: str,
    destination_buckets: list[str],
    source_bucket: str,
    source_key: str,
    version: str,
) -> str:
    """Starts the replication state machine for one object version; returns the execution's name.

    The execution name is derived from the object version, so a repeated S3 event finds the
    execution already there and starts nothing.
    """
    name = execution_name(source_bucket, source_key, version)
    payload = execution_input(source_bucket, source_key, list(destination_buckets))
    try:
        sfn_client.start_execution(stateMachineArn=state_machine_arn, name=name, input=json.dumps(payload))
    except ClientError as error:
        # AWS answers ExecutionAlreadyExists for a name used before with other input or after the
        # execution closed, and succeeds for the same input while it runs. MiniStack answers
        # ExecutionAlreadyExists in every case. Both mean: this object version is already replicating.
        if error.response["Error"]["Code"] != "ExecutionAlreadyExists":
            raise
        logger.info("replication already started", extra={"execution_name": name})
    return name


# Retrying cannot make a bucket exist, a key appear or a permission be granted.
PERMANENT_COPY_ERRORS = frozenset({"NoSuchBucket", "NoSuchKey", "404", "NotFound", "AccessDenied", "403"})


def copy_to_region(
    s3_client,
    s3_client_for_region: Callable[[str], Any],
    request: CopyRequest,
    multipart_threshold: int,
    part_bytes: int,
    bucket_regions: Callable[[str], str] | None = None,
) -> dict[str, Any]:
    """Copies the artifact into one regional bucket, through a client of that bucket's region; returns
    the Map item's result. A permanent failure is answered as status FAILED with its error, so the state
    machine records it at once; anything else raises, and the state machine retries it.

    The copy is tagged releasable for the bucket's lifecycle rule (code_deploy.replication.retention),
    or pinned if the copy it replaces was: a region's goal names the build."""
    locate = bucket_regions or (lambda bucket: transfer.bucket_region(s3_client, bucket))
    try:
        region = request.destinationRegion or locate(request.destinationBucket)
        destination = s3_client_for_region(region)
        _copy_companions(s3_client, destination, request)
        result = transfer.copy_to_bucket(
            s3_client,
            destination,
            request.sourceBucket,
            request.sourceKey,
            request.destinationBucket,
            transfer.CopyPolicy(
                multipart_threshold,
                part_bytes,
                tagging=retention.tagging(
                    retention.tag_for_copy(destination, request.destinationBucket, request.sourceKey)
                ),
            ),
        )
    except ClientError as error:
        code = error.response["Error"]["Code"]
        if code not in PERMANENT_COPY_ERRORS:
            raise
        return {"bucket": request.destinationBucket, "status": "FAILED", "error": f"S3.{code}", "cause": str(error)}
    return {
        "bucket": result.bucket,
        "region": result.region,
        "status": "SUCCEEDED",
        "etag": result.etag,
        "size": result.size,
        "parts": result.parts,
        "method": result.method,
    }


def _copy_companions(s3_client, destination_client, request: CopyRequest) -> None:
    """The artifact's piece list and torrent, copied before the artifact itself, so a region that has the
    artifact has them too. An artifact uploaded by hand has neither (and an older build no torrent): nothing
    to copy."""
    for key in companion_keys(request.sourceKey):
        try:
            s3_client.head_object(Bucket=request.sourceBucket, Key=key)
        except ClientError as error:
            if error.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
                continue
            raise
        destination_client.copy_object(
            Bucket=request.destinationBucket, Key=key, CopySource={"Bucket": request.sourceBucket, "Key": key}
        )
