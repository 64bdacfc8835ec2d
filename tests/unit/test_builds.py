from datetime import UTC, datetime

import pytest

from code_deploy.builds.model import (
    artifact_key,
    build_id_for_artifact,
    is_valid_build_id,
    is_valid_commit,
    new_build_id,
)


@pytest.mark.parametrize("commit", ["abcdef1", "9fceb02d0ae598e95dc970b74767f19372d61af8", "a" * 64])
def test_accepts_git_object_names(commit):
    assert is_valid_commit(commit)


@pytest.mark.parametrize("commit", ["", "abc", "ABCDEF1", "abcdefg", "a" * 65, " abcdef1", "abcdef1\n", "../etc"])
def test_rejects_anything_else(commit):
    assert not is_valid_commit(commit)


def test_build_ids_sort_by_time_and_differ():
    # Given two build ids made a second apart, and two made in the same second
    earlier = new_build_id(datetime(2026, 1, 1, 0, 0, 0, tzinfo=UTC))
    later = new_build_id(datetime(2026, 1, 1, 0, 0, 1, tzinfo=UTC))
    same_second = {new_build_id(datetime(2026, 1, 1, tzinfo=UTC)) for _ in range(100)}
    # Then they sort by time, never collide, and match the API's pattern
    assert earlier < later
    assert len(same_second) == 100
    assert all(is_valid_build_id(build_id) for build_id in [earlier, later, *same_second])


def test_artifact_key_layout():
    assert artifact_key("build-20260101T000000Z-00000000") == "builds/build-20260101T000000Z-00000000.zip"


def test_build_id_comes_from_metadata_then_file_name():
    assert build_id_for_artifact("builds/x.zip", {"build-id": "build-1"}) == "build-1"
    assert build_id_for_artifact("test-file.zip", {}) == "test-file"
    assert build_id_for_artifact("nested/dir/my build.zip", {}) == "my build"
