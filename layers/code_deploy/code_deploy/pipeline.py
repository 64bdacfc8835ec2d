"""The pipeline's steps, one function a stage, each called by one thin Lambda handler.

Every step takes its AWS clients, tables and names as arguments, so tests drive it with moto and the
same code runs on the emulator and on AWS. Each step is safe to run again for the same event: S3,
SQS and the S3 notifications deliver at least once.
"""

from __future__ import annotations

import dataclasses
import io
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from code_deploy import deployments, host_store, store, swarm, transfer
from code_deploy.artifact import build_artifact
from code_deploy.builds import artifact_key, new_build_id, utc_now
from code_deploy.hosts import apply_rollback, apply_wave, hosts_by_build
from code_deploy.replication import execution_input, execution_name
from code_deploy.swarm import SwarmParameters, SwarmResult

if TYPE_CHECKING:  # pydantic's models, imported by the step that builds one: not every cold start needs pydantic
    from code_deploy.models import CopyRequest, WaveRequest

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


# --- 4. the regional sync: one wave of a deployment, or its rollback, on the region's hosts -----------------


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


@dataclass(frozen=True)
class RegionalResult:
    """What a wave (or a rollback) did in a region, and the region's hosts after it."""

    region: str
    updated: int
    downloaded: int
    failed: int
    skipped: int
    superseded: int
    model_seconds: float  # the swarm model's time for it: download (if any) and switching over
    hosts_by_build: dict[str, int]
    hosts_version: int
    model: store.RolloutModel | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "updated": self.updated,
            "downloaded": self.downloaded,
            "failed": self.failed,
            "skipped": self.skipped,
            "superseded": self.superseded,
            "modelSeconds": round(self.model_seconds, 6),
            "hostsByBuild": self.hosts_by_build,
            "hostsVersion": self.hosts_version,
            "model": dataclasses.asdict(self.model) if self.model else None,
        }


def _swarm_for(
    fleet: SwarmParameters, artifact_bytes: int, downloading: int, holding: int
) -> tuple[SwarmResult | None, float]:
    """The piece-level plan of the hosts downloading in a wave (seeded from the bucket; hosts already
    holding the build serve pieces too, as extra seeds), and the wave's model time including switching over."""
    if downloading == 0:
        return None, 0.0
    params = dataclasses.replace(
        fleet.with_artifact(artifact_bytes), hosts=downloading, seeds=max(fleet.seeds, min(holding, downloading))
    )
    return swarm.plan_region(params), deployments.wave_seconds(
        fleet.with_artifact(artifact_bytes), downloading, holding
    )


def roll_out_wave(
    s3_client,
    host_state_table,
    dynamodb_client,
    host_records_table_name: str,
    region: str,
    regional_bucket: str,
    request: WaveRequest,
    fleet: SwarmParameters,
    writers: int,
) -> RegionalResult:
    """Switches one wave of the region's hosts (`request.hostRange`) to the deployment's build: hosts
    already on it are skipped, hosts a later deployment changed are left alone, the fault injection's
    hosts fail. The hosts that did not hold the build fetch it as a P2P swarm (code_deploy.swarm), served
    also by the hosts of earlier waves; one host-deployment-logs record a host tried. Safe to repeat."""
    head = s3_client.head_object(Bucket=regional_bucket, Key=request.artifactKey)  # the copy is in the region
    start, end = request.hostRange
    failing = deployments.failed_hosts(
        request.buildId, region, range(start, end), deployments.Simulation(request.failurePercent, request.seed)
    )
    state, outcome = host_store.change(
        host_state_table,
        fleet.hosts,
        lambda hosts: apply_wave(hosts, range(start, end), request.buildId, request.seq, failing),
    )
    plan, model_seconds = _swarm_for(fleet, head["ContentLength"], len(outcome.downloaded), outcome.holding_before)
    downloaded = set(outcome.downloaded)
    activated = [host for host in outcome.updated if host not in downloaded]
    if activated and not outcome.downloaded:
        model_seconds = deployments.ACTIVATION_SECONDS
    records = store.wave_host_records(
        request.buildId,
        region,
        regional_bucket,
        fleet.hosts,
        outcome.downloaded,
        plan,
        activated,
        outcome.failed,
        utc_now(),
    )
    store.write_host_records(dynamodb_client, host_records_table_name, records, writers)
    return RegionalResult(
        region=region,
        updated=len(outcome.updated),
        downloaded=len(outcome.downloaded),
        failed=len(outcome.failed),
        skipped=len(outcome.skipped),
        superseded=len(outcome.superseded),
        model_seconds=model_seconds,
        hosts_by_build=hosts_by_build(state.hosts),
        hosts_version=state.version,
        model=rollout_model(plan) if plan else None,
    )


def roll_back_region(
    s3_client, host_state_table, region: str, regional_bucket: str, request: WaveRequest, fleet: SwarmParameters
) -> RegionalResult:
    """Returns the region's hosts to the previous goal build (`request.buildId` here): hosts that hold it
    in their cache switch back in the activation time alone, whatever the artifact's size; hosts that do
    not fetch it again from the region's bucket, where it still is."""
    state, outcome = host_store.change(
        host_state_table, fleet.hosts, lambda hosts: apply_rollback(hosts, request.buildId, request.seq)
    )
    model_seconds = deployments.ACTIVATION_SECONDS if outcome.activated else 0.0
    if outcome.downloaded and request.buildId:
        size = s3_client.head_object(Bucket=regional_bucket, Key=request.artifactKey)["ContentLength"]
        holding = hosts_by_build(state.hosts).get(request.buildId, 0) - len(outcome.downloaded)
        model_seconds = max(model_seconds, _swarm_for(fleet, size, len(outcome.downloaded), holding)[1])
    return RegionalResult(
        region=region,
        updated=len(outcome.activated) + len(outcome.downloaded),
        downloaded=len(outcome.downloaded),
        failed=0,
        skipped=0,
        superseded=len(outcome.superseded),
        model_seconds=model_seconds,
        hosts_by_build=hosts_by_build(state.hosts),
        hosts_version=state.version,
    )
