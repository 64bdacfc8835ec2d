"""The pipeline's steps, one function a stage, each called by one thin Lambda handler.

Every step takes its AWS clients, tables and names as arguments, so tests drive it with moto and the
same code runs on the emulator and on AWS. Each step is safe to run again for the same event: S3,
SQS and the S3 notifications deliver at least once.
"""

from __future__ import annotations

import io
import json
import logging
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from code_deploy import deployments, store, swarm, transfer
from code_deploy.artifact import build_artifact
from code_deploy.builds import BuildStatus, artifact_key, build_id_for_artifact, new_build_id, utc_now
from code_deploy.regions import RegionalBuckets
from code_deploy.replication import execution_input, execution_name
from code_deploy.swarm import SwarmParameters, SwarmResult

if TYPE_CHECKING:  # pydantic's models, imported by the step that builds one: not every cold start needs pydantic
    from code_deploy.models import CopyRequest

logger = logging.getLogger(__name__)


# --- 1. POST /builds ----------------------------------------------------------------------------------


def submit_build(builds_table, sqs_client, queue_url: str, commit: str) -> store.BuildRecord:
    """Records a build as QUEUED and queues it for the build worker."""
    from code_deploy.models import BuildMessage  # deferred: see TYPE_CHECKING above

    build_id = new_build_id()
    now = utc_now()
    record = store.create_build(builds_table, build_id, commit, now)
    message = BuildMessage(buildId=build_id, commit=commit)
    try:
        sqs_client.send_message(QueueUrl=queue_url, MessageBody=message.model_dump_json())
    except ClientError as error:
        # Nothing half-written: a build that never reached the queue is recorded as FAILED, not left QUEUED.
        store.fail_build(builds_table, build_id, utc_now(), f"could not queue the build: {error}")
        raise
    return record


# --- 2. the build worker -------------------------------------------------------------------------------


class SimulatedBuildFailure(Exception):
    """The simulated compiler rejects the commit: a build failure for demos and tests."""


def build_retry_delay_seconds(attempt: int) -> int:
    """How long a failed build message stays invisible before its next attempt: 1, 2, 4, ... s, at most 5 min."""
    return min(2 ** max(attempt - 1, 0), 300)


@dataclass(frozen=True)
class BuildResult:
    build_id: str
    artifact_key: str
    sha256: str
    artifact_size: int
    already_built: bool = False


def _already_uploaded(s3_client, bucket: str, key: str, sha256: str) -> bool:
    try:
        head = s3_client.head_object(Bucket=bucket, Key=key)
    except ClientError as error:
        if error.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
            return False
        raise
    return head.get("Metadata", {}).get("sha256") == sha256


def run_build(
    builds_table, s3_client, bucket: str, build_id: str, commit: str, payload_size: int, failing_commit_prefix: str = ""
) -> BuildResult:
    """Builds the artifact for a queued build and uploads it to the global builds bucket.

    Safe to run again for the same build: a finished build is not rebuilt, and an attempt that died
    after its upload finds the identical artifact in place and does not upload a second version
    (which would start a second replication).
    """
    try:
        record = store.start_building(builds_table, build_id, utc_now())
    except store.BuildAlreadyFinished:
        record = store.get_build_record(builds_table, build_id)
        logger.info("build already finished by an earlier delivery", extra={"build_id": build_id})
        artifact = record.artifact if record else None
        return BuildResult(
            build_id,
            artifact.key if artifact else "",
            artifact.sha256 if artifact else "",
            artifact.size if artifact else 0,
            already_built=True,
        )
    if record.commit != commit:
        raise ValueError(f"message commit {commit} does not match build {build_id}'s commit {record.commit}")
    if failing_commit_prefix and commit.startswith(failing_commit_prefix):
        raise SimulatedBuildFailure(
            f"simulated compile error: commits starting with {failing_commit_prefix!r} never build"
        )
    # The artifact depends only on the build record, so a retried build makes the same bytes.
    artifact = build_artifact(commit, build_id, record.queued_at, payload_size)
    key = artifact_key(build_id)
    if not _already_uploaded(s3_client, bucket, key, artifact.payload_sha256):
        s3_client.upload_fileobj(
            io.BytesIO(artifact.content),
            bucket,
            key,
            ExtraArgs={
                "ContentType": "application/zip",
                "Metadata": {"commit": commit, "build-id": build_id, "sha256": artifact.payload_sha256},
            },
        )
    store.finish_build(
        builds_table,
        build_id,
        utc_now(),
        store.ArtifactLocation(bucket, key, artifact.payload_sha256, len(artifact.content), artifact.payload_size),
    )
    return BuildResult(build_id, key, artifact.payload_sha256, len(artifact.content))


@dataclass(frozen=True)
class FailedAttempt:
    last: bool  # the build is FAILED; its message goes on to the dead-letter queue
    retry_in_seconds: int  # when the message comes back (0 on the last attempt: straight to the DLQ)


def handle_failed_attempt(
    builds_table,
    sqs_client,
    queue_url: str,
    receipt_handle: str,
    build_id: str,
    attempt: int,
    max_attempts: int,
    error: Exception,
) -> FailedAttempt:
    """Records a failed build attempt and chooses when its message comes back: after 1, 2, 4 ... s, or
    at once on the last attempt, which marks the build FAILED with the reason. SQS counts the receives
    and moves the message to the dead-letter queue after the last one, where it stays for inspection
    or redrive; the caller still reports the message as failed."""
    reason = f"{type(error).__name__}: {error}"
    if attempt >= max_attempts:
        store.fail_build(
            builds_table, build_id, utc_now(), f"build failed after {attempt} attempts: {reason}", attempt, reason
        )
        outcome = FailedAttempt(last=True, retry_in_seconds=0)
    else:
        store.note_build_attempt_failure(builds_table, build_id, attempt, reason)
        outcome = FailedAttempt(last=False, retry_in_seconds=build_retry_delay_seconds(attempt))
    sqs_client.change_message_visibility(
        QueueUrl=queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=outcome.retry_in_seconds
    )
    return outcome


# --- 3. the replication starter ---------------------------------------------------------------------------


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


# --- 3b. one destination's copy (the state machine's Map calls it once a region) --------------------------

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
    machine records it at once; anything else raises, and the state machine retries it."""
    locate = bucket_regions or (lambda bucket: transfer.bucket_region(s3_client, bucket))
    try:
        region = request.destinationRegion or locate(request.destinationBucket)
        result = transfer.copy_to_bucket(
            s3_client,
            s3_client_for_region(region),
            request.sourceBucket,
            request.sourceKey,
            request.destinationBucket,
            multipart_threshold,
            part_bytes,
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


# --- 4. the regional sync ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RolloutResult:
    build_id: str
    region: str
    hosts: int
    plan: SwarmResult


def rollout_model(plan: SwarmResult) -> store.RolloutModel:
    """The figures of the swarm's plan that a rollout's summary keeps."""
    params = plan.params
    return store.RolloutModel(
        method=plan.method.value,
        pieces=params.pieces,
        piece_bytes=params.piece_bytes,
        rounds=plan.rounds,
        seconds=plan.seconds,
        physical_limit_seconds=swarm.physical_limit_seconds(params),
        direct_from_bucket_seconds=swarm.direct_from_bucket_seconds(params),
    )


def roll_out_region(
    builds_table,
    s3_client,
    dynamodb_client,
    host_records_table_name: str,
    region: str,
    regional_bucket: str,
    bucket: str,
    key: str,
    fleet: SwarmParameters,
    writers: int,
) -> RolloutResult:
    """Rolls an artifact that reached the region's bucket out to the region's hosts as a P2P swarm (the
    model in code_deploy.swarm) and writes its plan, one record a host in the region's own table, then
    the region's summary in the global builds table."""
    if bucket != regional_bucket:
        raise ValueError(f"bucket {bucket!r} is not {region}'s builds bucket ({regional_bucket})")
    head = s3_client.head_object(Bucket=bucket, Key=key)
    build_id = build_id_for_artifact(key, head.get("Metadata", {}))
    started_at = utc_now()
    # Seeded by region (its hosts' overlay), so a repeated event writes the very same plan over the first.
    plan = swarm.plan_region(fleet.with_artifact(head["ContentLength"]), seed=zlib.crc32(region.encode()))
    records = store.host_records(build_id, region, bucket, plan, started_at)
    written = store.write_host_records(dynamodb_client, host_records_table_name, records, writers)
    store.put_rollout_summary(
        builds_table,
        store.RolloutSummary(
            build_id=build_id,
            region=region,
            bucket=bucket,
            artifact_key=key,
            hosts_total=fleet.hosts,
            hosts_deployed=written,
            started_at=started_at,
            completed_at=utc_now(),
            model=rollout_model(plan),
        ),
    )
    return RolloutResult(build_id, region, written, plan)


# --- 6. deployments -----------------------------------------------------------------------------------------


class BuildNotDeployable(Exception):
    """The build exists but cannot be deployed where asked (not built, or not in every region's bucket)."""


def deployable_artifact(
    builds_table, copy_tracking_table, build_id: str, regional_buckets: RegionalBuckets, regions: tuple[str, ...]
) -> store.ArtifactLocation:
    """The build's artifact, once it is SUCCEEDED and copied to every one of `regions`' buckets.
    Raises store.BuildNotFound, or BuildNotDeployable saying what is missing."""
    build = store.get_build_record(builds_table, build_id)
    if build is None:
        raise store.BuildNotFound(build_id)
    if build.status != BuildStatus.SUCCEEDED or build.artifact is None:
        raise BuildNotDeployable(f"build {build_id} is {build.status}, not SUCCEEDED")
    tracking = store.get_copy_tracking(copy_tracking_table, build.artifact.key, build.artifact.bucket)
    missing = [
        region
        for region in regions
        if tracking is None
        or (outcome := tracking.outcome_for(regional_buckets.bucket_for(region))) is None
        or outcome.status != "SUCCEEDED"
    ]
    if missing:
        raise BuildNotDeployable(f"build {build_id} is not in the builds bucket of {', '.join(missing)}")
    return build.artifact


def plan_deployment(
    builds_table,
    copy_tracking_table,
    regional_buckets: RegionalBuckets,
    fleet: SwarmParameters,
    spec: deployments.DeploymentSpec,
) -> tuple[store.ArtifactLocation, deployments.DeploymentPlan]:
    """The plan of a deployment of a deployable build: hosts per wave and the predicted time."""
    artifact = deployable_artifact(builds_table, copy_tracking_table, spec.build_id, regional_buckets, spec.regions)
    fleets = {region: fleet.with_artifact(artifact.size) for region in spec.regions}
    return artifact, deployments.plan(spec, fleets, {})
