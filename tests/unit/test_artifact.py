import hashlib
import io
import zipfile

import pytest

from code_deploy.builds.artifact import MANIFEST_NAME, PAYLOAD_NAME, build_artifact, read_manifest

COMMIT = "9fceb02d0ae598e95dc970b74767f19372d61af8"


def test_artifact_is_a_zip_with_a_manifest_describing_the_payload():
    artifact = build_artifact(COMMIT, "build-1", "2026-01-01T00:00:00.000Z", 4096)

    with zipfile.ZipFile(io.BytesIO(artifact.content)) as archive:
        assert sorted(archive.namelist()) == sorted([MANIFEST_NAME, PAYLOAD_NAME])
        payload = archive.read(PAYLOAD_NAME)
    manifest = read_manifest(artifact.content)
    assert manifest == artifact.manifest
    assert manifest["commit"] == COMMIT
    assert manifest["buildId"] == "build-1"
    assert manifest["createdAt"] == "2026-01-01T00:00:00.000Z"
    assert len(payload) == manifest["payloadSize"] == 4096
    assert manifest["sha256"] == artifact.payload_sha256 == hashlib.sha256(payload).hexdigest()


def test_same_build_gives_the_same_bytes_so_retries_are_harmless():
    first = build_artifact(COMMIT, "build-1", "2026-01-01T00:00:00.000Z", 1000)
    again = build_artifact(COMMIT, "build-1", "2026-01-01T00:00:00.000Z", 1000)
    other = build_artifact(COMMIT, "build-2", "2026-01-01T00:00:00.000Z", 1000)
    assert first.content == again.content
    assert first.payload_sha256 != other.payload_sha256


def test_a_tampered_payload_is_detected():
    artifact = build_artifact(COMMIT, "build-1", "2026-01-01T00:00:00.000Z", 64)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(MANIFEST_NAME, zipfile.ZipFile(io.BytesIO(artifact.content)).read(MANIFEST_NAME))
        archive.writestr(PAYLOAD_NAME, b"not the payload")
    with pytest.raises(ValueError, match="sha256"):
        read_manifest(buffer.getvalue())
