"""The build artifact: a real zip holding a payload and a manifest that describes it."""

from __future__ import annotations

import hashlib
import io
import json
import random
import zipfile
from dataclasses import dataclass

MANIFEST_NAME = "manifest.json"
PAYLOAD_NAME = "payload.bin"


@dataclass(frozen=True)
class Artifact:
    content: bytes  # the zip file
    payload_sha256: str
    payload_size: int
    manifest: dict


def simulated_payload(commit: str, build_id: str, size: int) -> bytes:
    """Stands in for the compiled binary. Seeded by commit and build id so that a retried build
    (an SQS message delivered again) produces the very same bytes."""
    return random.Random(f"{commit}:{build_id}").randbytes(size)


def build_artifact(commit: str, build_id: str, created_at: str, payload_size: int) -> Artifact:
    payload = simulated_payload(commit, build_id, payload_size)
    payload_sha256 = hashlib.sha256(payload).hexdigest()
    manifest = {
        "commit": commit,
        "buildId": build_id,
        "createdAt": created_at,
        "payload": PAYLOAD_NAME,
        "payloadSize": payload_size,
        "sha256": payload_sha256,
    }
    buffer = io.BytesIO()
    # A fixed date_time keeps the zip byte-identical across retries of the same build.
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr(
            zipfile.ZipInfo(MANIFEST_NAME, date_time=(2020, 1, 1, 0, 0, 0)),
            json.dumps(manifest, indent=2, sort_keys=True),
        )
        archive.writestr(zipfile.ZipInfo(PAYLOAD_NAME, date_time=(2020, 1, 1, 0, 0, 0)), payload)
    return Artifact(buffer.getvalue(), payload_sha256, payload_size, manifest)


def read_manifest(zip_bytes: bytes) -> dict:
    """The manifest of an artifact, after checking the payload against the sha256 it declares."""
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as archive:
        manifest = json.loads(archive.read(MANIFEST_NAME))
        payload = archive.read(manifest["payload"])
    if hashlib.sha256(payload).hexdigest() != manifest["sha256"]:
        raise ValueError("artifact payload does not match the sha256 in its manifest")
    return manifest
