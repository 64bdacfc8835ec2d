"""Builds: what a valid commit is, how build ids and artifact keys are made, and the build's lifecycle."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import PurePosixPath
from urllib.parse import unquote_plus

# A git object name: abbreviated (7+) or full SHA-1 (40) or SHA-256 (64) hex.
COMMIT_PATTERN = r"^[0-9a-f]{7,64}$"
COMMIT_RULE = "7 to 64 lowercase hex digits"
_COMMIT_RE = re.compile(COMMIT_PATTERN)

BUILD_ID_PATTERN = r"^build-[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}$"
BUILD_ID_RULE = "build-<UTC time as YYYYMMDDTHHMMSSZ>-<8 lowercase hex digits>, e.g. build-20260101T000000Z-0a1b2c3d"
_BUILD_ID_RE = re.compile(BUILD_ID_PATTERN)

ARTIFACT_PREFIX = "builds/"

# An upload of an application's directory (deployctl push): POST /builds/uploads names it.
UPLOAD_ID_PATTERN = r"^[0-9a-f]{32}$"
UPLOAD_ID_RULE = "32 lowercase hex digits, as POST /builds/uploads gives it"


class BuildStatus(StrEnum):
    QUEUED = "QUEUED"
    BUILDING = "BUILDING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


def is_valid_commit(commit: str) -> bool:
    return bool(_COMMIT_RE.fullmatch(commit))


def is_valid_build_id(build_id: str) -> bool:
    return bool(_BUILD_ID_RE.fullmatch(build_id))


def utc_now() -> str:
    """ISO-8601 UTC timestamp with milliseconds, sortable as a string."""
    return utc_text(datetime.now(UTC))


def utc_text(moment: datetime) -> str:
    """A UTC time as utc_now writes it."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_build_id(now: datetime | None = None) -> str:
    """A build id that sorts by creation time and cannot collide between concurrent requests."""
    now = now or datetime.now(UTC)
    return f"build-{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(4)}"


def artifact_key(build_id: str) -> str:
    return f"{ARTIFACT_PREFIX}{build_id}.zip"


def build_id_for_artifact(key: str, metadata: dict[str, str]) -> str:
    """The build an object in a builds bucket belongs to.

    Artifacts made by the build worker carry their build id in the object's metadata (CopyObject keeps
    it in every regional copy). An artifact uploaded by hand has none: its file name, without the
    extension, stands for the build, so `test-file.zip` rolls out as build `test-file`.
    """
    if metadata.get("build-id"):
        return metadata["build-id"]
    return PurePosixPath(key).stem or key


def decoded_s3_key(raw_key: str) -> str:
    """S3 event notifications carry object keys URL-encoded, with spaces as '+'."""
    return unquote_plus(raw_key)
