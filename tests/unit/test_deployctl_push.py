"""deployctl push against a fake API: what it zips (sorted, modes kept, the same bytes every time), what it
files the build under, the requests it makes in order, and its one-line refusals."""

from __future__ import annotations

import hashlib
import io
import json
import stat
import subprocess
import zipfile
from pathlib import Path

import pytest
from rich.console import Console

from code_deploy.builds import upload
from deployctl import cli, push
from deployctl.api import Api, ApiError, Target, _s3_error
from tests.utils import REPO

BUILD_ID = "build-20261206T014143Z-ea02032f"
UPLOAD_ID = "d5b2f6658bda47d2c685c76d6a6ee3e0"


@pytest.fixture(autouse=True)
def no_instance_metadata(monkeypatch):
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


class FakeApi(Api):
    """The API as deployctl push uses it: grants an upload, takes its PUT, queues a build; each POST /builds
    answer from `submissions` in turn (an ApiError is raised), a build's view from `views`."""

    def __init__(self, submissions: list | None = None, views: list[dict] | None = None, max_bytes: int = 1 << 20):
        super().__init__(Target())
        self.calls: list[str] = []
        self.uploaded = b""
        self.submitted: list[tuple[str, str | None, str | None]] = []
        self.submissions = submissions or []
        self.views = views or []
        self.max_bytes = max_bytes

    def request_upload(self) -> dict:
        self.calls.append("POST /builds/uploads")
        return {
            "uploadId": UPLOAD_ID,
            "uploadUrl": f"http://127.0.0.1:4566/staging/uploads/{UPLOAD_ID}.zip?X-Amz-Signature=x",
            "method": "PUT",
            "expiresAt": "2026-12-06T01:56:43.000Z",
            "maxBytes": self.max_bytes,
        }

    def put_upload(self, upload_url: str, archive, size: int) -> None:
        self.calls.append("PUT uploadUrl")
        self.uploaded = archive.read()
        assert len(self.uploaded) == size

    def submit_build(self, commit: str, upload: str | None = None, idempotency_key: str | None = None) -> dict:
        self.calls.append("POST /builds")
        self.submitted.append((commit, upload, idempotency_key))
        answer = self.submissions.pop(0) if self.submissions else None
        if isinstance(answer, Exception):
            raise answer
        return {"buildId": BUILD_ID, "commit": commit, "status": "QUEUED", "statusUrl": f"/builds/{BUILD_ID}"}

    def get_build(self, build_id: str) -> dict:
        return self.views.pop(0) if len(self.views) > 1 else self.views[0]


def application(directory: Path) -> Path:
    """An application's directory, with what push leaves out beside it."""
    (directory / "hooks").mkdir(parents=True)
    (directory / "deploy.yaml").write_text("version: 1\nhooks:\n  application_start: [{run: hooks/start.sh}]\n")
    (directory / "hooks" / "start.sh").write_text("#!/bin/sh\necho started\n")
    (directory / "hooks" / "start.sh").chmod(0o755)
    (directory / "server.py").write_text("print('hi')\n")
    (directory / "__pycache__").mkdir()
    (directory / "__pycache__" / "server.cpython-313.pyc").write_bytes(b"\0")
    (directory / ".git").mkdir()
    (directory / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    return directory


def run(api: FakeApi, *args: str) -> tuple[int, str]:
    output = io.StringIO()
    original = cli.Api
    cli.Api = lambda target: api  # type: ignore[assignment]
    try:
        code = cli.main(["push", *args], console=Console(file=output, width=160))
    finally:
        cli.Api = original  # type: ignore[assignment]
    return code, output.getvalue()


def test_push_zips_uploads_and_queues_a_build_of_the_upload(tmp_path, monkeypatch):
    # Given an application's directory, outside git
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    directory = application(tmp_path / "app")
    api = FakeApi()
    # When it is pushed
    code, output = run(api, str(directory))
    # Then it asked for an upload, PUT the zip, then queued a build of the upload with an Idempotency-Key
    assert code == cli.EXIT_OK
    assert api.calls == ["POST /builds/uploads", "PUT uploadUrl", "POST /builds"]
    with zipfile.ZipFile(io.BytesIO(api.uploaded)) as archive:
        entries = {entry.filename: entry for entry in archive.infolist()}
    # sorted, without .git or __pycache__, the hook still executable
    assert list(entries) == ["deploy.yaml", "hooks/start.sh", "server.py"]
    assert stat.S_IMODE(entries["hooks/start.sh"].external_attr >> 16) == 0o755
    assert stat.S_IMODE(entries["server.py"].external_attr >> 16) == 0o644
    # filed under the zip's content hash, outside git
    sha256 = hashlib.sha256(api.uploaded).hexdigest()
    [(commit, upload_id, key)] = api.submitted
    assert (commit, upload_id) == (sha256[:40], UPLOAD_ID) and key
    assert f"pushed {directory}: 3 files, {len(api.uploaded):,} bytes zipped" in output
    assert f"queued {BUILD_ID} (commit {sha256[:40]}); follow it with: deployctl watch {BUILD_ID}" in output


def test_the_same_directory_zips_to_the_same_bytes(tmp_path):
    directory = application(tmp_path / "app")
    first, second = io.BytesIO(), io.BytesIO()
    assert push.package(directory, first) == push.package(directory, second)
    assert first.getvalue() == second.getvalue()


def test_a_directory_in_git_is_filed_under_its_head(tmp_path):
    directory = application(tmp_path / "repo" / "app")
    repo = tmp_path / "repo"
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (directory / ".git" / "HEAD").unlink()
    (directory / ".git").rmdir()
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "app"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    api = FakeApi()
    assert run(api, str(directory))[0] == cli.EXIT_OK
    assert api.submitted[0][0] == head
    # and --commit says otherwise
    api = FakeApi()
    assert run(api, str(directory), "--commit", "abcdef1")[0] == cli.EXIT_OK
    assert api.submitted[0][0] == "abcdef1"


def test_a_directory_without_deploy_yaml_is_refused_before_any_request(tmp_path, capsys):
    directory = application(tmp_path / "app")
    (directory / "deploy.yaml").unlink()
    api = FakeApi()
    code, _ = run(api, str(directory))
    err = capsys.readouterr().err
    assert code == cli.EXIT_ERROR
    assert err == (
        f"deployctl: {directory} has no deploy.yaml: an application's directory holds its hooks file at its top "
        "(its format: docs/agent.md; an example: examples/hello)\n"
    )
    assert api.calls == []
    assert run(FakeApi(), str(tmp_path / "nowhere"))[0] == cli.EXIT_ERROR
    assert "nowhere: not a directory" in capsys.readouterr().err


def test_a_zip_over_the_stacks_limit_is_not_uploaded(tmp_path, capsys):
    api = FakeApi(max_bytes=100)
    code, _ = run(api, str(application(tmp_path / "app")))
    assert code == cli.EXIT_ERROR
    assert "bytes; the stack takes at most 100 (its MaxUploadBytes)" in capsys.readouterr().err
    assert api.calls == ["POST /builds/uploads"]


def test_a_build_request_answered_busy_is_retried_with_the_same_idempotency_key(tmp_path, monkeypatch):
    monkeypatch.setattr(cli.time, "sleep", lambda seconds: None)
    api = FakeApi(submissions=[ApiError(503, "busy"), ApiError(429, "slow down")])
    code, _ = run(api, str(application(tmp_path / "app")))
    assert code == cli.EXIT_OK
    keys = {key for _, _, key in api.submitted}
    assert len(api.submitted) == 3 and len(keys) == 1
    # but a refusal is not retried
    api = FakeApi(submissions=[ApiError(422, "POST /builds answered 422: commit: must be ...")])
    assert run(api, str(application(tmp_path / "other")), "--commit", "XYZ")[0] == cli.EXIT_ERROR
    assert len(api.submitted) == 1


def test_push_wait_follows_the_build_and_json_prints_the_final_view(tmp_path):
    final = {
        "buildId": BUILD_ID,
        "commit": "0" * 40,
        "status": "SUCCEEDED",
        "deploymentStatus": "DEPLOYED",
        "queuedAt": "2026-12-06T01:41:43.964Z",
        "replication": {"status": "SUCCEEDED"},
        "regions": [],
        "statusHistory": [],
    }
    api = FakeApi(views=[final])
    code, output = run(api, str(application(tmp_path / "app")), "--wait", "--json")
    assert code == cli.EXIT_OK
    assert json.loads(output) == final


def test_json_without_wait_is_the_accepted_build_and_the_upload(tmp_path):
    api = FakeApi()
    code, output = run(api, str(application(tmp_path / "app")), "--json")
    answer = json.loads(output)
    assert code == cli.EXIT_OK
    assert answer["buildId"] == BUILD_ID
    assert answer["upload"] == {
        "uploadId": UPLOAD_ID,
        "sizeBytes": len(api.uploaded),
        "sha256": hashlib.sha256(api.uploaded).hexdigest(),
    }


@pytest.mark.parametrize("example", ["hello", "flaky"])
def test_the_examples_push_as_uploads_the_build_worker_takes(example):
    # Given a sample application zipped as push zips it
    archive = io.BytesIO()
    push.package(REPO / "examples" / example, archive)
    # Then the worker's checks take it, and its hooks (hello's linked files among them) are executable
    upload.check_archive(archive)
    with zipfile.ZipFile(archive) as zipped:
        modes = {entry.filename: stat.S_IMODE(entry.external_attr >> 16) for entry in zipped.infolist()}
    hooks = {name: mode for name, mode in modes.items() if name.startswith("hooks/")}
    assert {"hooks/start.sh", "hooks/stop.sh", "hooks/validate.sh"} <= hooks.keys()
    assert set(hooks.values()) == {0o755}


def test_an_s3_refusal_of_the_put_is_one_line():
    expired = b"<?xml version='1.0'?><Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>"
    assert _s3_error(expired) == "AccessDenied: Request has expired"
    assert _s3_error(b"") == "no message"
