"""Fetching an artifact: ranged reads piece by piece, resumed after a kill, and refused whenever the bucket's
copy is not what the goal vouches for (a tampered piece, a tampered whole with a piece list to match)."""

from __future__ import annotations

import hashlib
import json
import random
import threading

import pytest

from code_deploy_agent.download import ArtifactRefused, DownloadStopped, fetch_artifact, partial_path, progress_path
from code_deploy_agent.pieces import PieceList, PieceListRejected, piece_hashes, piece_root
from code_deploy_agent.region import Goal
from code_deploy_agent.state import AgentPaths
from tests.unit.agent.fixtures.fake_region import FakeRegion, SimulatedKill
from tests.unit.agent.fixtures.harness import GROUP

PIECE_BYTES = 4096


def padded_app(build_id: str) -> dict[str, bytes]:
    """Incompressible padding: an artifact of a dozen pieces."""
    return {"assets/blob.bin": random.Random(build_id).randbytes(12 * PIECE_BYTES)}


def test_a_download_killed_after_k_pieces_resumes_with_only_the_rest(host_on_b1, region):
    # Given a download of b2 killed after 4 ranged reads
    build = host_on_b1.publish("b2", padded_app("b2"))
    pieces = -(-build.artifact_bytes // build.piece_bytes)
    assert pieces > 8
    region.range_reads.clear()
    region.kill_after_range_reads = 4
    with pytest.raises(SimulatedKill):
        host_on_b1.deploy(build, "d2")
    progress = json.loads(progress_path(AgentPaths(host_on_b1.dir), "b2").read_text())
    assert progress["verified"] == [0, 1, 2, 3]
    assert host_on_b1.current() == "b1"
    assert host_on_b1.health() == "b1"  # the download comes first: the old release never stopped

    # When a new agent starts and polls
    region.range_reads.clear()
    region.kill_after_range_reads = None
    report = host_on_b1.agent().poll_once()

    # Then it fetched only the pieces it did not have, and installed the build
    assert report.status == "DEPLOYED"
    assert [first for _, first, _ in region.range_reads] == [index * PIECE_BYTES for index in range(4, pieces)]
    assert report.download_bytes == build.artifact_bytes - 4 * PIECE_BYTES
    assert host_on_b1.health() == "b2"


def test_a_resumed_download_fetches_again_a_piece_torn_on_disk(host_on_b1, region):
    build = host_on_b1.publish("b2", padded_app("b2"))
    region.range_reads.clear()
    region.kill_after_range_reads = 3
    with pytest.raises(SimulatedKill):
        host_on_b1.deploy(build, "d2")
    partial = partial_path(AgentPaths(host_on_b1.dir), "b2")
    with open(partial, "r+b") as file:  # piece 1 garbled by the crash
        file.seek(PIECE_BYTES + 10)
        file.write(b"torn")

    region.range_reads.clear()
    region.kill_after_range_reads = None
    report = host_on_b1.agent().poll_once()

    assert report.status == "DEPLOYED"
    pieces = -(-build.artifact_bytes // build.piece_bytes)
    assert [first // PIECE_BYTES for _, first, _ in region.range_reads] == [1, *range(3, pieces)]


def test_a_tampered_piece_is_refused_and_nothing_changes(host_on_b1, region):
    build = host_on_b1.publish("b2", padded_app("b2"))
    artifact = bytearray(region.objects[build.artifact_key])
    artifact[5 * PIECE_BYTES + 7] ^= 0xFF
    region.objects[build.artifact_key] = bytes(artifact)

    report = host_on_b1.deploy(build, "d2")

    assert (report.status, report.reason) == ("FAILED", "checksum")
    assert "piece 5" in report.output_tail
    assert host_on_b1.releases() == ["b1"]
    assert host_on_b1.current() == "b1"
    assert host_on_b1.health() == "b1"
    assert list((host_on_b1.dir / "downloads").iterdir()) == []


def test_a_tampered_whole_with_its_own_piece_list_cannot_vouch_for_itself(host_on_b1, region):
    # The bucket's artifact and piece list both replaced, consistently: the goal's pieceRoot still refuses them
    build = host_on_b1.publish("b2", padded_app("b2"))
    forged = bytearray(region.objects[build.artifact_key])
    forged[100] ^= 0xFF
    forged = bytes(forged)
    region.objects[build.artifact_key] = forged
    region.objects[build.pieces_key] = json.dumps(
        {"pieceBytes": PIECE_BYTES, "pieces": piece_hashes(forged, PIECE_BYTES)}
    ).encode()
    region.range_reads.clear()

    report = host_on_b1.deploy(build, "d2")

    assert (report.status, report.reason) == ("FAILED", "checksum")
    assert region.range_reads == []  # refused before a single piece was read
    assert host_on_b1.releases() == ["b1"]
    assert host_on_b1.health() == "b1"


def test_a_whole_that_does_not_hash_to_the_goals_sha256_is_refused(host_on_b1, region):
    build = host_on_b1.publish("b2")
    region.set_goal(GROUP, build, "d2")
    region.change_goal(GROUP, sha256=hashlib.sha256(b"another build").hexdigest())

    report = host_on_b1.agents[-1].poll_once()

    assert (report.status, report.reason) == ("FAILED", "checksum")
    assert "sha256" in report.output_tail
    assert host_on_b1.releases() == ["b1"]
    assert host_on_b1.health() == "b1"


def test_a_missing_piece_list_fails_with_artifact_missing(host_on_b1, region):
    build = host_on_b1.publish("b2")
    del region.objects[build.pieces_key]

    report = host_on_b1.deploy(build, "d2")

    assert (report.status, report.reason) == ("FAILED", "artifact-missing")


def _goal(region: FakeRegion, data: bytes) -> Goal:
    build = region.publish("b9", data, piece_bytes=PIECE_BYTES)
    return Goal.from_item(region.set_goal(GROUP, build, "d9"))


def test_an_object_of_another_size_is_refused_before_reading_it(tmp_path, region):
    goal = _goal(region, b"x" * 10_000)
    region.objects[goal.artifact_key] += b"appended"
    paths = AgentPaths(tmp_path)

    with pytest.raises(ArtifactRefused, match=r"checksum: .* has 10008 bytes"):
        fetch_artifact(region, goal, paths, threading.Event())
    assert region.range_reads == []


def test_a_stopping_agent_leaves_its_verified_pieces_for_the_next_start(tmp_path, region):
    goal = _goal(region, random.Random(1).randbytes(10 * PIECE_BYTES + 5))
    paths = AgentPaths(tmp_path)
    stop = threading.Event()
    stop.set()

    with pytest.raises(DownloadStopped):
        fetch_artifact(region, goal, paths, stop)
    downloaded = fetch_artifact(region, goal, paths, threading.Event())

    assert downloaded.path.read_bytes() == region.objects[goal.artifact_key]
    assert downloaded.bytes_fetched == goal.artifact_bytes
    assert len(region.range_reads) == 11  # the last piece is 5 bytes long


def test_the_piece_root_is_the_hash_of_the_raw_digests_in_order():
    data = b"a" * 10 + b"b" * 10 + b"c" * 3
    hashes = piece_hashes(data, 10)

    assert hashes == [hashlib.sha256(part).hexdigest() for part in (b"a" * 10, b"b" * 10, b"c" * 3)]
    assert piece_root(hashes) == hashlib.sha256(b"".join(bytes.fromhex(digest) for digest in hashes)).hexdigest()


def test_a_piece_list_is_believed_only_when_it_matches_the_goal():
    data = bytes(range(10))
    hashes = piece_hashes(data, 4)
    raw = json.dumps({"pieceBytes": 4, "pieces": hashes}).encode()

    pieces = PieceList.parse(raw, piece_bytes=4, root=piece_root(hashes), artifact_bytes=10)

    assert len(pieces.pieces) == 3
    for kwargs, message in [
        ({"piece_bytes": 5, "root": piece_root(hashes), "artifact_bytes": 10}, "4-byte pieces, the goal 5"),
        ({"piece_bytes": 4, "root": "00" * 32, "artifact_bytes": 10}, "is not the goal's"),
        ({"piece_bytes": 4, "root": piece_root(hashes), "artifact_bytes": 20}, "3 pieces listed"),
    ]:
        with pytest.raises(PieceListRejected, match=message):
            PieceList.parse(raw, **kwargs)
    with pytest.raises(PieceListRejected, match="not a piece list"):
        PieceList.parse(b"<html>", piece_bytes=4, root=piece_root(hashes), artifact_bytes=10)


class RecordedWaits(threading.Event):
    """A stop event that is never set and records how long each wait on it asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.waits: list[float] = []

    def wait(self, timeout: float | None = None) -> bool:
        self.waits.append(timeout or 0.0)
        return False


def test_a_capped_download_waits_until_its_bytes_fit_the_rate(tmp_path, region, monkeypatch):
    # Given a clock that stands still, so each wait is what the bytes read so far need at the cap
    monkeypatch.setattr("code_deploy_agent.download.time.monotonic", lambda: 100.0)
    goal = _goal(region, random.Random(2).randbytes(4 * PIECE_BYTES))
    stop = RecordedWaits()

    fetch_artifact(region, goal, AgentPaths(tmp_path), stop, bytes_per_second=PIECE_BYTES / 2)

    assert stop.waits == [2.0, 4.0, 6.0, 8.0]  # two seconds a piece


def test_an_uncapped_download_never_waits(tmp_path, region):
    goal = _goal(region, random.Random(3).randbytes(4 * PIECE_BYTES))
    stop = RecordedWaits()

    fetch_artifact(region, goal, AgentPaths(tmp_path), stop)

    assert stop.waits == []
