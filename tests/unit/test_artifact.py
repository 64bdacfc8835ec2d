import hashlib
import io
import json
import os
import socket
import subprocess
import urllib.request
import zipfile

import pytest
import yaml

from code_deploy.builds.artifact import (
    APPLICATION_FILES,
    MANIFEST_NAME,
    PAYLOAD_NAME,
    PieceList,
    build_artifact,
    is_piece_list,
    piece_root,
    pieces_key,
    read_manifest,
)

COMMIT = "9fceb02d0ae598e95dc970b74767f19372d61af8"


def test_artifact_is_a_zip_with_a_manifest_describing_the_payload():
    artifact = build_artifact(COMMIT, "build-1", "2026-01-01T00:00:00.000Z", 4096)

    with zipfile.ZipFile(io.BytesIO(artifact.content)) as archive:
        assert sorted(archive.namelist()) == sorted([MANIFEST_NAME, PAYLOAD_NAME, *APPLICATION_FILES])
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


def test_the_hooks_file_names_scripts_the_artifact_holds_and_they_are_executable():
    artifact = build_artifact(COMMIT, "build-1", "2026-01-01T00:00:00.000Z", 16)
    with zipfile.ZipFile(io.BytesIO(artifact.content)) as archive:
        hooks = yaml.safe_load(archive.read("deploy.yaml"))["hooks"]
        scripts = {step["run"] for steps in hooks.values() for step in steps}
        assert scripts <= set(archive.namelist())
        assert all(archive.getinfo(script).external_attr >> 16 & 0o111 for script in scripts)
    assert set(hooks) == {"application_stop", "application_start", "validate_service"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_application_starts_answers_health_with_its_build_and_stops(tmp_path):
    # Given the artifact unpacked as a host's agent would (modes kept), and a port of its own
    artifact = build_artifact(COMMIT, "build-1", "2026-01-01T00:00:00.000Z", 16)
    with zipfile.ZipFile(io.BytesIO(artifact.content)) as archive:
        for info in archive.infolist():
            target = tmp_path / info.filename
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(archive.read(info))
            target.chmod(info.external_attr >> 16 & 0o777)
    env = os.environ | {"APP_PORT": str(free_port()), "BUILD_ID": "build-1", "HOST_ID": "host-a"}

    def hook(name: str) -> subprocess.CompletedProcess:
        return subprocess.run([f"./hooks/{name}.sh"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=30)

    try:
        # When its start and validate hooks run
        assert hook("start").returncode == 0
        validated = hook("validate")
        # Then it answers /health with its build and commit
        assert validated.returncode == 0, validated.stderr
        health = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{env['APP_PORT']}/health", timeout=5).read())
        assert health == {"status": "ok", "buildId": "build-1", "commit": COMMIT, "host": "host-a"}
        # And a validate hook expecting another build fails, saying what it got
        other = subprocess.run(
            ["./hooks/validate.sh"], cwd=tmp_path, env=env | {"BUILD_ID": "build-2"}, capture_output=True, text=True
        )
        assert other.returncode == 1 and "did not answer build build-2" in other.stderr
    finally:
        # And its stop hook stops it
        assert hook("stop").returncode == 0
    assert not (tmp_path / "server.pid").exists()


def test_a_piece_list_vouches_for_each_piece_and_its_root_for_the_list():
    content = bytes(range(256)) * 10  # 2,560 bytes: 2 whole pieces of 1,024 and a short one
    pieces = PieceList.of(content, 1024)
    assert pieces.pieces == tuple(hashlib.sha256(content[i : i + 1024]).hexdigest() for i in (0, 1024, 2048))
    assert (
        pieces.root
        == hashlib.sha256(b"".join(hashlib.sha256(content[i : i + 1024]).digest() for i in (0, 1024, 2048))).hexdigest()
    )
    assert json.loads(pieces.to_json()) == {"pieceBytes": 1024, "pieces": list(pieces.pieces)}
    # A changed piece changes the root
    tampered = PieceList.of(content[:-1] + b"x", 1024)
    assert tampered.pieces[:2] == pieces.pieces[:2] and piece_root(tampered.pieces) != pieces.root


def test_a_piece_list_lies_beside_its_artifact_and_is_known_by_its_name():
    assert pieces_key("builds/build-1.zip") == "builds/build-1.zip.pieces.json"
    assert is_piece_list(pieces_key("builds/build-1.zip")) and not is_piece_list("builds/build-1.zip")
