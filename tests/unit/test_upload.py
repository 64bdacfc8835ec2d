"""What an uploaded application (deployctl push) must be before it is a build: the rules of
code_deploy.builds.upload, on zips made here, without AWS."""

from __future__ import annotations

import hashlib
import io

import pytest

from code_deploy.builds import upload
from code_deploy.builds.artifact import PieceList, hash_file
from tests.utils import APPLICATION_HOOKS, application_zip, zipped


def refusal(archive: bytes) -> str:
    with pytest.raises(upload.UploadRefused) as refused:
        upload.check_archive(io.BytesIO(archive))
    return str(refused.value)


def test_a_good_application_passes():
    upload.check_archive(io.BytesIO(application_zip()))
    # and so does one without hooks, which the agent only unpacks
    upload.check_archive(io.BytesIO(application_zip(**{"deploy.yaml": "version: 1\n"})))


def test_a_zip_without_its_hooks_file_is_refused():
    assert refusal(application_zip(**{"deploy.yaml": None})) == (
        "deploy.yaml is missing: the upload's top directory must hold its hooks file (docs/agent.md)"
    )
    # nor is one in a subdirectory the hooks file
    assert refusal(zipped({"app/deploy.yaml": APPLICATION_HOOKS})).startswith("deploy.yaml is missing")


def test_a_hooks_file_that_does_not_parse_is_refused():
    message = refusal(application_zip(**{"deploy.yaml": "version: 1\nhooks: [unclosed\n"}))
    assert message.startswith("deploy.yaml: does not parse as YAML: ")
    assert "\n" not in message


@pytest.mark.parametrize(
    ("hooks_file", "message"),
    [
        ("version: 2\n", "deploy.yaml: must be a mapping with version: 1"),
        ("- version: 1\n", "deploy.yaml: must be a mapping with version: 1"),
        ("version: 1\nhooks: [hooks/start.sh]\n", "deploy.yaml: hooks: must map lifecycle events to lists"),
        (
            "version: 1\nhooks:\n  on_deploy: [{run: hooks/start.sh}]\n",
            "deploy.yaml: hooks.on_deploy: not a lifecycle event (known: application_stop, before_install, "
            "after_install, application_start, validate_service)",
        ),
        ("version: 1\nhooks:\n  application_start: {run: hooks/start.sh}\n", "hooks.application_start: must be a list"),
        ("version: 1\nhooks:\n  application_start: [{script: x}]\n", "hooks.application_start[0]: must be {run:"),
        ("version: 1\nhooks:\n  application_start: [{run: ''}]\n", "hooks.application_start[0].run: must name a"),
        (
            "version: 1\nhooks:\n  application_start: [{run: ../etc/passwd}]\n",
            "hooks.application_start[0].run: ../etc/passwd is not a path inside the upload",
        ),
        (
            "version: 1\nhooks:\n  application_start: [{run: hooks/start.sh, timeout: 0}]\n",
            "hooks.application_start[0].timeout: must be seconds in (0, 3600]",
        ),
        (
            "version: 1\nhooks:\n  application_start: [{run: hooks/start.sh, timeout: true}]\n",
            "hooks.application_start[0].timeout: must be seconds in (0, 3600]",
        ),
    ],
)
def test_a_hooks_file_the_agent_could_not_run_is_refused_saying_where(hooks_file, message):
    assert message in refusal(application_zip(**{"deploy.yaml": hooks_file}))


def test_a_hook_whose_script_is_not_in_the_upload_is_refused():
    assert refusal(application_zip(**{"hooks/validate.sh": None})) == (
        "deploy.yaml: hooks.validate_service[0].run: hooks/validate.sh is not in the upload"
    )
    # a directory of that name is not the script either
    assert "is not in the upload" in refusal(application_zip(**{"hooks/validate.sh": None, "hooks/validate.sh/": ""}))


def test_a_script_named_with_a_leading_dot_slash_is_the_same_file():
    hooks_file = "version: 1\nhooks:\n  application_start: [{run: ./hooks/start.sh}]\n"
    upload.check_archive(io.BytesIO(application_zip(**{"deploy.yaml": hooks_file})))


def test_what_is_not_a_zip_or_would_unpack_elsewhere_is_refused():
    assert refusal(b"hello").startswith("not a zip file: ")
    assert refusal(application_zip(**{"../outside.txt": "x"})) == "../outside.txt: not a path inside the upload"
    assert refusal(application_zip(**{"/etc/cron.d/x": "x"})) == "/etc/cron.d/x: not a path inside the upload"


def test_a_hooks_file_too_large_to_be_one_is_refused():
    hooks_file = APPLICATION_HOOKS + "#" * upload.MAX_HOOKS_FILE_BYTES
    assert "a hooks file is at most 64 KiB" in refusal(application_zip(**{"deploy.yaml": hooks_file}))


def test_an_upload_over_the_limit_is_refused_with_its_size_and_the_limit():
    upload.check_size("0" * 32, 1024, 1024)
    with pytest.raises(upload.UploadRefused) as refused:
        upload.check_size("0" * 32, 1025, 1024)
    assert str(refused.value) == f"upload {'0' * 32} is 1,025 bytes; the limit is 1,024 bytes (MaxUploadBytes)"


def test_an_upload_is_hashed_a_piece_at_a_time_as_a_built_artifact_is():
    content = bytes(range(256)) * 41  # 10,496 bytes: 10 pieces of 1,024 and a short one
    sha256, pieces = hash_file(io.BytesIO(content), 1024)
    assert sha256 == hashlib.sha256(content).hexdigest()
    assert pieces == PieceList.of(content, 1024)
    assert hash_file(io.BytesIO(b""), 1024)[1] == PieceList.of(b"", 1024)


def test_upload_ids_are_unguessable_and_staged_under_uploads():
    ids = {upload.new_upload_id() for _ in range(100)}
    assert len(ids) == 100
    upload_id = ids.pop()
    assert upload.staged_key(upload_id) == f"uploads/{upload_id}.zip"


class PartsOutOfOrder:
    """An S3 client whose managed download writes the object's parts as boto3's threads may: each at its
    offset, the last part first."""

    def __init__(self, content: bytes, part_bytes: int) -> None:
        self.content = content
        self.part_bytes = part_bytes

    def head_object(self, Bucket: str, Key: str) -> dict:  # noqa: N803 (boto3's names)
        return {"ContentLength": len(self.content)}

    def download_fileobj(self, bucket: str, key: str, into) -> None:
        offsets = list(range(0, len(self.content), self.part_bytes))
        for offset in [offsets[-1], *offsets[:-1]]:
            into.seek(offset)
            into.write(self.content[offset : offset + self.part_bytes])


def test_a_staged_upload_fetched_in_parts_out_of_order_has_its_whole_size():
    content = bytes(range(256)) * 41
    staging = upload.Staging("staging", max_bytes=1 << 20)

    with io.BytesIO() as into:
        size = upload.fetch_staged(PartsOutOfOrder(content, 4096), staging, "0" * 32, into)

        assert size == len(content)
        into.seek(0)
        assert into.read() == content
