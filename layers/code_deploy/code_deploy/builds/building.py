"""A build from its request to its artifact: POST /builds records it QUEUED and queues it; the build
worker builds the artifact into the global bucket, and a failed attempt comes back later or, the last
one, fails the build. Each step is safe to run again: SQS delivers at least once.

A build of an upload (deployctl push) takes the same path with a zip its client PUT into the staging
bucket: the API records it only once the zip is there, the worker checks it, hashes it and publishes it
to the global bucket as it would an artifact it built."""

from __future__ import annotations

import io
import logging
import tempfile
from dataclasses import dataclass
from typing import Any, BinaryIO

from botocore.exceptions import ClientError

from code_deploy.builds import store, upload
from code_deploy.builds.artifact import DEFAULT_PIECE_BYTES, PieceList, build_artifact, hash_file, pieces_key
from code_deploy.builds.model import artifact_key, new_build_id, utc_now
from code_deploy.builds.torrent import Torrent, torrent_key

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BuildQueue:
    """Where a submitted build goes: the builds table records it, the build queue (an SQS client and the
    queue's URL) takes it to the worker."""

    builds_table: Any
    sqs_client: Any
    queue_url: str


def submit_build(
    queue: BuildQueue, commit: str, upload_id: str | None = None, requested_by: str | None = None
) -> store.BuildRecord:
    """Records a build as QUEUED (by `requested_by`, the caller's principal) and queues it for the build
    worker: a build of the commit, or of a staged upload (submit_upload_build checks it is there first)."""
    from code_deploy.builds.schema import BuildMessage  # deferred: pydantic, which a cold start may not need

    build_id = new_build_id()
    now = utc_now()
    record = store.create_build(queue.builds_table, build_id, commit, now, upload_id, requested_by)
    message = BuildMessage(buildId=build_id, commit=commit, upload=upload_id)
    try:
        queue.sqs_client.send_message(QueueUrl=queue.queue_url, MessageBody=message.model_dump_json(exclude_none=True))
    except ClientError as error:
        # Nothing half-written: a build that never reached the queue is recorded as FAILED, not left QUEUED.
        store.fail_build(queue.builds_table, build_id, utc_now(), f"could not queue the build: {error}")
        raise
    return record


def submit_upload_build(
    queue: BuildQueue,
    s3_client,
    staging: upload.Staging,
    *,
    commit: str,
    upload_id: str,
    requested_by: str | None = None,
) -> store.BuildRecord:
    """A build of a staged upload, recorded and queued only when the zip was PUT (UploadNotFound) and is
    within the size limit (UploadRefused): its other checks are the worker's, which reads it."""
    upload.check_staged(s3_client, staging, upload_id)
    return submit_build(queue, commit, upload_id, requested_by)


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
    refused: str = ""  # why an upload was refused: the build FAILED at once, and is not retried


def _already_uploaded(s3_client, bucket: str, key: str, sha256: str) -> bool:
    try:
        head = s3_client.head_object(Bucket=bucket, Key=key)
    except ClientError as error:
        if error.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
            return False
        raise
    return head.get("Metadata", {}).get("sha256") == sha256


@dataclass(frozen=True)
class Recipe:
    """How the worker builds: the artifact's payload size, which commits never build (simulated compile
    errors, for demos and tests), and the size of the pieces its hashes are made for."""

    payload_size: int
    failing_commit_prefix: str = ""
    piece_bytes: int = DEFAULT_PIECE_BYTES  # the pieces a host fetches and checks one by one


def run_build(builds_table, s3_client, bucket: str, build_id: str, commit: str, recipe: Recipe) -> BuildResult:
    """Builds the artifact for a queued build and uploads it to the global builds bucket.

    Safe to run again for the same build: a finished build is not rebuilt, and an attempt that died
    after its upload finds the identical artifact in place and does not upload a second version
    (which would start a second replication).
    """
    try:
        record = store.start_building(builds_table, build_id, utc_now())
    except store.BuildAlreadyFinished:
        return _finished_earlier(builds_table, build_id)
    if record.commit != commit:
        raise ValueError(f"message commit {commit} does not match build {build_id}'s commit {record.commit}")
    if recipe.failing_commit_prefix and commit.startswith(recipe.failing_commit_prefix):
        raise SimulatedBuildFailure(
            f"simulated compile error: commits starting with {recipe.failing_commit_prefix!r} never build"
        )
    # The artifact depends only on the build record, so a retried build makes the same bytes.
    artifact = build_artifact(commit, build_id, record.queued_at, recipe.payload_size)
    key = artifact_key(build_id)
    pieces = PieceList.of(artifact.content, recipe.piece_bytes)
    torrent = Torrent.of(io.BytesIO(artifact.content), torrent_name(build_id))
    location = store.ArtifactLocation(
        bucket,
        key,
        artifact.payload_sha256,
        len(artifact.content),
        artifact.payload_size,
        artifact_sha256=artifact.sha256,
        piece_bytes=pieces.piece_bytes,
        piece_root=pieces.root,
        pieces_key=pieces_key(key),
        info_hash=torrent.info_hash,
        torrent_key=torrent_key(key),
    )
    _publish(s3_client, location, Companions(pieces, torrent), io.BytesIO(artifact.content), build_id, commit)
    store.finish_build(builds_table, build_id, utc_now(), location)
    return BuildResult(build_id, key, artifact.payload_sha256, len(artifact.content))


def _finished_earlier(builds_table, build_id: str) -> BuildResult:
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


def torrent_name(build_id: str) -> str:
    """The file a host's engine writes the artifact to, as its torrent names it."""
    return f"{build_id}.zip"


@dataclass(frozen=True)
class Companions:
    """What travels beside an artifact in every bucket, so a host can check it piece by piece."""

    pieces: PieceList
    torrent: Torrent


def _publish(
    s3_client, artifact: store.ArtifactLocation, companions: Companions, content: BinaryIO, build_id: str, commit: str
) -> None:
    """Puts an artifact into the global bucket (where `artifact` says, its sha256 in its metadata), unless
    an earlier attempt put the same one there (a second version would start a second replication)."""
    bucket, key = artifact.bucket, artifact.key
    if _already_uploaded(s3_client, bucket, key, artifact.sha256):
        return
    # The piece list and the torrent first: the artifact's arrival starts its replication, which copies
    # them with it.
    s3_client.put_object(
        Bucket=bucket, Key=pieces_key(key), Body=companions.pieces.to_json().encode(), ContentType="application/json"
    )
    s3_client.put_object(
        Bucket=bucket, Key=torrent_key(key), Body=companions.torrent.metainfo, ContentType="application/x-bittorrent"
    )
    content.seek(0)
    s3_client.upload_fileobj(
        content,
        bucket,
        key,
        ExtraArgs={
            "ContentType": "application/zip",
            "Metadata": {"commit": commit, "build-id": build_id, "sha256": artifact.sha256},
        },
    )


@dataclass(frozen=True)
class UploadBuild:
    """A queued build of a staged upload, as its message names it."""

    build_id: str
    commit: str
    upload_id: str


def run_upload_build(
    builds_table, s3_client, bucket: str, build: UploadBuild, staging: upload.Staging, piece_bytes: int
) -> BuildResult:
    """Makes a staged upload a queued build's artifact: reads the zip, checks it (upload.check_archive),
    hashes it, puts its piece list and then it into the global bucket with a built artifact's metadata
    (its sha256 the whole zip's, as it has no manifest), records the build SUCCEEDED, deletes the upload.

    A refused upload fails the build at once with the reason: the same bytes would be refused again, so it
    is not retried. Safe to run again as run_build is: a decided build is left as it is, and an attempt that
    died after its upload finds the identical artifact in place.
    """
    try:
        record = store.start_building(builds_table, build.build_id, utc_now())
    except store.BuildAlreadyFinished:
        # An earlier delivery decided the build; it may have died before deleting the upload.
        upload.delete_staged(s3_client, staging, build.upload_id)
        return _finished_earlier(builds_table, build.build_id)
    if (record.commit, record.upload_id) != (build.commit, build.upload_id):
        raise ValueError(
            f"message commit {build.commit} and upload {build.upload_id} do not match build {build.build_id}'s "
            f"commit {record.commit} and upload {record.upload_id}"
        )
    key = artifact_key(build.build_id)
    try:
        with tempfile.TemporaryFile() as zip_file:
            size = upload.fetch_staged(s3_client, staging, build.upload_id, zip_file)
            upload.check_archive(zip_file)
            sha256, pieces = hash_file(zip_file, piece_bytes)
            torrent = Torrent.of(zip_file, torrent_name(build.build_id))
            # No manifest: the payload is the whole zip.
            location = store.ArtifactLocation(
                bucket,
                key,
                sha256,
                size,
                size,
                artifact_sha256=sha256,
                piece_bytes=pieces.piece_bytes,
                piece_root=pieces.root,
                pieces_key=pieces_key(key),
                info_hash=torrent.info_hash,
                torrent_key=torrent_key(key),
            )
            _publish(s3_client, location, Companions(pieces, torrent), zip_file, build.build_id, build.commit)
    except (upload.UploadRefused, upload.UploadNotFound) as refusal:
        reason = f"upload refused: {refusal}"
        if isinstance(refusal, upload.UploadNotFound):
            # The API saw it staged: it expired (a day after its PUT) or was deleted since.
            reason = f"upload refused: upload {build.upload_id} is no longer in the staging bucket"
        store.fail_build(builds_table, build.build_id, utc_now(), reason)
        upload.delete_staged(s3_client, staging, build.upload_id)
        return BuildResult(build.build_id, "", "", 0, refused=reason)
    store.finish_build(builds_table, build.build_id, utc_now(), location)
    upload.delete_staged(s3_client, staging, build.upload_id)
    return BuildResult(build.build_id, key, sha256, size)


@dataclass(frozen=True)
class FailedAttempt:
    last: bool  # the build is FAILED; its message goes on to the dead-letter queue
    retry_in_seconds: int  # when the message comes back (0 on the last attempt: straight to the DLQ)


@dataclass(frozen=True)
class Delivery:
    """One delivery of a build's message: its receipt, which receive it is, and how many there may be."""

    receipt_handle: str
    attempt: int  # SQS's receive count
    max_attempts: int  # the queue's maxReceiveCount: the last one fails the build


def handle_failed_attempt(
    builds_table, sqs_client, queue_url: str, build_id: str, delivery: Delivery, error: Exception
) -> FailedAttempt:
    """Records a failed build attempt and chooses when its message comes back: after 1, 2, 4 ... s, or
    at once on the last attempt, which marks the build FAILED with the reason. SQS counts the receives
    and moves the message to the dead-letter queue after the last one, where it stays for inspection
    or redrive; the caller still reports the message as failed."""
    reason = f"{type(error).__name__}: {error}"
    if delivery.attempt >= delivery.max_attempts:
        store.fail_build(
            builds_table,
            build_id,
            utc_now(),
            f"build failed after {delivery.attempt} attempts: {reason}",
            delivery.attempt,
            reason,
        )
        outcome = FailedAttempt(last=True, retry_in_seconds=0)
    else:
        store.note_build_attempt_failure(builds_table, build_id, delivery.attempt, reason)
        outcome = FailedAttempt(last=False, retry_in_seconds=build_retry_delay_seconds(delivery.attempt))
    sqs_client.change_message_visibility(
        QueueUrl=queue_url, ReceiptHandle=delivery.receipt_handle, VisibilityTimeout=outcome.retry_in_seconds
    )
    return outcome
