"""An application pushed as a directory (`deployctl push`): a zip its client PUTs into the staging bucket
through a presigned URL, and what the API and the build worker check of it before it is a build's artifact.

The staging bucket is not the global builds bucket, whose every new object starts a replication: an upload
reaches the global bucket only through the build worker, checked, hashed and recorded with its build, so
nothing unrecorded is ever replicated. What the checks hold an upload to is what the host agent will do
with it (code_deploy_agent.hooks): `deploy.yaml` at the top, `version: 1`, its `hooks` mapping lifecycle
events to lists of `{run, timeout}`, every script it runs in the zip.
"""

from __future__ import annotations

import os
import secrets
import zipfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import PurePosixPath
from typing import Any, BinaryIO

from botocore.exceptions import ClientError

from code_deploy.builds.artifact import HOOKS_FILE
from code_deploy.errors import NotFound, Unworkable

UPLOADS_PREFIX = "uploads/"
UPLOAD_URL_SECONDS = 15 * 60
LIFECYCLE_EVENTS = ("application_stop", "before_install", "after_install", "application_start", "validate_service")
MAX_HOOK_TIMEOUT_SECONDS = 3600  # the agent's own limit
# deploy.yaml names a few scripts: a larger one is not a hooks file, and is not read into memory.
MAX_HOOKS_FILE_BYTES = 64 * 1024


class UploadRefused(Unworkable):
    """The upload cannot become a build (too large, no usable deploy.yaml ...): the message says why.
    Not transient: the same bytes are refused again, so a build is failed at once, never retried."""


class UploadNotFound(NotFound):
    def __init__(self, upload_id: str):
        super().__init__(f"no upload {upload_id}: PUT it to the uploadUrl first")
        self.upload_id = upload_id


def new_upload_id() -> str:
    """An id no one can guess: whoever knows it may make a build of what was PUT under it."""
    return secrets.token_hex(16)


def staged_key(upload_id: str) -> str:
    return f"{UPLOADS_PREFIX}{upload_id}.zip"


@dataclass(frozen=True)
class Staging:
    """Where uploads wait for their build (the template's staging bucket), and how large one may be."""

    bucket: str
    max_bytes: int


@dataclass(frozen=True)
class UploadGrant:
    upload_id: str
    url: str
    expires_at: datetime


def grant_upload(s3_client, staging: Staging, now: datetime) -> UploadGrant:
    """A new upload: a URL that lets its holder PUT one object, the upload's zip, for 15 minutes. A plain
    PUT, no AWS credentials: the URL carries the API's signature. It cannot limit the size; the API's
    POST /builds and the build worker refuse what is over the limit."""
    upload_id = new_upload_id()
    url = s3_client.generate_presigned_url(
        "put_object",
        Params={"Bucket": staging.bucket, "Key": staged_key(upload_id)},
        ExpiresIn=UPLOAD_URL_SECONDS,
    )
    return UploadGrant(upload_id, url, now + timedelta(seconds=UPLOAD_URL_SECONDS))


def _is_missing(error: ClientError) -> bool:
    return error.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound")


def staged_size(s3_client, staging: Staging, upload_id: str) -> int:
    """The staged upload's size; UploadNotFound when nothing was PUT under it (or it expired, after a day)."""
    try:
        head = s3_client.head_object(Bucket=staging.bucket, Key=staged_key(upload_id))
    except ClientError as error:
        if _is_missing(error):
            raise UploadNotFound(upload_id) from None
        raise
    return int(head["ContentLength"])


def check_size(upload_id: str, size: int, max_bytes: int) -> None:
    if size > max_bytes:
        raise UploadRefused(f"upload {upload_id} is {size:,} bytes; the limit is {max_bytes:,} bytes (MaxUploadBytes)")


def check_staged(s3_client, staging: Staging, upload_id: str) -> int:
    """The API's check before a build of an upload is recorded: it is there, and not too large. Its size."""
    size = staged_size(s3_client, staging, upload_id)
    check_size(upload_id, size, staging.max_bytes)
    return size


def fetch_staged(s3_client, staging: Staging, upload_id: str, into: BinaryIO) -> int:
    """Streams the staged zip into a file (boto3's managed transfer: ranged GETs in parallel, never the
    whole object in memory) once its size is known to be within the limit; the bytes written."""
    check_staged(s3_client, staging, upload_id)
    try:
        s3_client.download_fileobj(staging.bucket, staged_key(upload_id), into)
    except ClientError as error:
        if _is_missing(error):
            raise UploadNotFound(upload_id) from None
        raise
    # Not into.tell(): the managed transfer writes its parts from several threads, each at its offset, so
    # the position is the end of whichever part was written last, not the end of the file.
    size = into.seek(0, os.SEEK_END)
    check_size(upload_id, size, staging.max_bytes)  # replaced by a larger one since the HEAD
    return size


def delete_staged(s3_client, staging: Staging, upload_id: str) -> None:
    """Once its build is decided (S3 answers a delete of a missing key with success: safe to repeat)."""
    s3_client.delete_object(Bucket=staging.bucket, Key=staged_key(upload_id))


# --- what a zip must hold -------------------------------------------------------------------------------


def check_archive(archive_file: BinaryIO) -> None:
    """Refuses (UploadRefused) a file that is not a zip, an entry the agent would not unpack where its name
    says, or a hooks file the agent could not run."""
    try:
        with zipfile.ZipFile(archive_file) as archive:
            entries = archive.infolist()
            for entry in entries:
                path = PurePosixPath(entry.filename)
                if path.is_absolute() or ".." in path.parts:
                    raise UploadRefused(f"{entry.filename}: not a path inside the upload")
            files = {str(PurePosixPath(entry.filename)): entry for entry in entries if not entry.is_dir()}
            hooks_file = files.get(HOOKS_FILE)
            if hooks_file is None:
                raise UploadRefused(
                    f"{HOOKS_FILE} is missing: the upload's top directory must hold its hooks file (docs/agent.md)"
                )
            if hooks_file.file_size > MAX_HOOKS_FILE_BYTES:
                raise UploadRefused(f"{HOOKS_FILE}: {hooks_file.file_size:,} bytes; a hooks file is at most 64 KiB")
            text = archive.read(hooks_file).decode("utf-8")
    except (zipfile.BadZipFile, zipfile.LargeZipFile) as error:
        raise UploadRefused(f"not a zip file: {error}") from None
    except UnicodeDecodeError:
        raise UploadRefused(f"{HOOKS_FILE}: not UTF-8 text") from None
    check_hooks_file(text, set(files))


def check_hooks_file(text: str, files: set[str]) -> None:
    """deploy.yaml as the agent reads it; every script it runs one of `files` (the upload's paths)."""
    import yaml  # deferred: only an upload's check reads YAML, and no cold start pays for it

    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise UploadRefused(f"{HOOKS_FILE}: does not parse as YAML: {_first_line(error)}") from None
    if not isinstance(document, dict) or document.get("version") != 1:
        raise UploadRefused(f"{HOOKS_FILE}: must be a mapping with version: 1")
    hooks = document.get("hooks")
    if hooks is None:
        return  # no hooks: the agent only unpacks the release and switches to it
    if not isinstance(hooks, dict):
        raise UploadRefused(f"{HOOKS_FILE}: hooks: must map lifecycle events to lists of {{run, timeout}}")
    for event, steps in hooks.items():
        where = f"{HOOKS_FILE}: hooks.{event}"
        if event not in LIFECYCLE_EVENTS:
            raise UploadRefused(f"{where}: not a lifecycle event (known: {', '.join(LIFECYCLE_EVENTS)})")
        if not isinstance(steps, list):
            raise UploadRefused(f"{where}: must be a list of {{run, timeout}}")
        for number, step in enumerate(steps):
            _check_step(step, f"{where}[{number}]", files)


def _check_step(step: Any, where: str, files: set[str]) -> None:
    if not isinstance(step, dict) or set(step) - {"run", "timeout"}:
        raise UploadRefused(f"{where}: must be {{run: <script>, timeout: <seconds>}}")
    script = step.get("run")
    if not isinstance(script, str) or not script.strip():
        raise UploadRefused(f"{where}.run: must name a script")
    path = PurePosixPath(script)
    if path.is_absolute() or ".." in path.parts:
        raise UploadRefused(f"{where}.run: {script} is not a path inside the upload")
    if str(path) not in files:
        raise UploadRefused(f"{where}.run: {script} is not in the upload")
    timeout = step.get("timeout")
    if timeout is not None and (
        isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout <= MAX_HOOK_TIMEOUT_SECONDS
    ):
        raise UploadRefused(f"{where}.timeout: must be seconds in (0, {MAX_HOOK_TIMEOUT_SECONDS}]")


def _first_line(error: Exception) -> str:
    return " ".join(str(error).split())[:200]
