"""The agents' peer to peer download (code_deploy_agent.p2p) with the real engine: a few swarms in this
process, each on a loopback address of its own, the bucket served over HTTP as the web seed."""

from __future__ import annotations

import hashlib
import io
import logging
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from code_deploy.builds.torrent import Torrent, bencode, torrent_key
from code_deploy_agent import p2p
from code_deploy_agent.download import ArtifactRefused, DownloadStopped
from code_deploy_agent.host_item import CHECKSUM
from code_deploy_agent.p2p import ORIGIN_SLOTS, Swarm, SwarmSettings
from code_deploy_agent.region import Goal
from code_deploy_agent.state import AgentPaths
from tests.unit.agent.fixtures.swarm import BucketServer, MemoryDirectory, SwarmRegion

MIB = 1024 * 1024
ARTIFACT_BYTES = 3 * MIB
RATE = 1 * MIB  # a second or more of transfer each, so the swarm has time to share
log = logging.getLogger("test.p2p")


@pytest.fixture
def region() -> Iterator[SwarmRegion]:
    region = SwarmRegion()
    region.server = BucketServer(region)
    yield region
    region.server.close()


@pytest.fixture
def directory() -> MemoryDirectory:
    return MemoryDirectory(time.time)


def publish(region: SwarmRegion, build_id: str, artifact: bytes) -> Goal:
    """The artifact, its piece list and its torrent in the bucket (as the build worker leaves them), and the
    goal the control plane would write."""
    build = region.publish(build_id, artifact)
    torrent = Torrent.of(io.BytesIO(artifact), f"{build_id}.zip")
    region.objects[torrent_key(build.artifact_key)] = torrent.metainfo
    item = region.set_goal("web", build, "d-1") | {
        "infoHash": torrent.info_hash,
        "torrentKey": torrent_key(build.artifact_key),
    }
    return Goal.from_item(item)


def swarm(region, directory, number: int, **caps: float) -> Swarm:
    settings = SwarmSettings(
        host_id=f"host-{number:03d}",
        zone="zone-a" if number % 2 else "zone-b",
        address=f"127.77.{number % 2}.{number}",
        download_bytes_per_second=caps.get("down", RATE),
        upload_bytes_per_second=caps.get("up", RATE),
    )
    return Swarm(settings, region, directory, log)


def test_hosts_fetch_from_each_other_and_only_the_origins_read_the_bucket(region, directory, tmp_path):
    artifact = os.urandom(ARTIFACT_BYTES)
    goal = publish(region, "b1", artifact)
    swarms = [swarm(region, directory, number) for number in range(1, 7)]
    try:
        with ThreadPoolExecutor(len(swarms)) as pool:
            fetches = [
                pool.submit(one.fetch, goal, AgentPaths(tmp_path / one.settings.host_id), threading.Event())
                for one in swarms
            ]
            downloaded = [fetch.result(timeout=120) for fetch in fetches]
    finally:
        for one in swarms:
            one.close()
    for one in downloaded:
        assert hashlib.sha256(one.path.read_bytes()).digest() == hashlib.sha256(artifact).digest()
    # The two origins freed their slots as they stopped
    assert len(directory.released) == ORIGIN_SLOTS and not directory.origin_holders()
    origins = set(directory.released)
    # The bucket sent at most two artifacts; the hosts that are not origins read none of it
    assert region.server.bytes_sent <= 2 * ARTIFACT_BYTES
    for one, fetched in zip(swarms, downloaded, strict=True):
        if one.settings.host_id not in origins:
            assert fetched.bytes_fetched == 0 and fetched.peer_bytes >= ARTIFACT_BYTES
    assert sum(fetched.peer_bytes for fetched in downloaded) >= (len(swarms) - ORIGIN_SLOTS) * ARTIFACT_BYTES


def test_a_torrent_that_is_not_the_goals_is_refused(region, directory, tmp_path):
    goal = publish(region, "b1", os.urandom(MIB))
    forged = Torrent.of(io.BytesIO(os.urandom(MIB)), "b1.zip")
    region.objects[goal.torrent_key] = forged.metainfo
    one = swarm(region, directory, 1)
    try:
        with pytest.raises(ArtifactRefused) as refused:
            one.fetch(goal, AgentPaths(tmp_path), threading.Event())
    finally:
        one.close()
    assert refused.value.reason == CHECKSUM and "is not the goal's" in refused.value.detail
    assert region.server.bytes_sent == 0


def stop_once_verified(one: Swarm, verified_bytes: int, stop: threading.Event) -> None:
    """Stops the fetch once the engine has verified that many bytes (a kill mid-transfer)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        seeding = one._seeding
        if seeding is not None and seeding[1].status().total_wanted_done >= verified_bytes:
            break
        time.sleep(0.05)
    stop.set()


def test_a_stopped_fetch_resumes_from_the_pieces_it_verified(region, directory, tmp_path):
    artifact = os.urandom(ARTIFACT_BYTES)
    goal = publish(region, "b1", artifact)
    paths = AgentPaths(tmp_path)
    stop = threading.Event()
    first = swarm(region, directory, 1)
    threading.Thread(target=stop_once_verified, args=(first, MIB, stop), daemon=True).start()
    with pytest.raises(DownloadStopped):
        first.fetch(goal, paths, stop)
    first.close()
    sent_before = region.server.bytes_sent
    again = swarm(region, directory, 1)
    try:
        downloaded = again.fetch(goal, paths, threading.Event())
    finally:
        again.close()
    assert downloaded.resumed_bytes > 0
    assert downloaded.path.read_bytes() == artifact
    # Only the rest came from the bucket this time
    assert region.server.bytes_sent - sent_before <= ARTIFACT_BYTES - downloaded.resumed_bytes


def test_bencode_is_bep3():
    assert bencode({"b": 1, "a": [b"x", "yz"]}) == b"d1:al1:x2:yze1:bi1ee"
    with pytest.raises(TypeError):
        bencode(1.5)


def test_the_info_hash_is_the_engines(tmp_path: Path):
    import libtorrent as lt

    torrent = Torrent.of(io.BytesIO(os.urandom(300 * 1024)), "b1.zip")
    info = lt.torrent_info(lt.bdecode(torrent.metainfo))
    assert str(info.info_hashes().v1) == torrent.info_hash
    assert info.piece_length() == 128 * 1024 and info.num_pieces() == 3


def test_a_bucket_whose_copy_fails_its_hashes_is_refused(region, directory, tmp_path, monkeypatch):
    # Given the goal's torrent, but a regional copy of the artifact that is not the build's
    goal = publish(region, "b1", os.urandom(MIB))
    region.objects[goal.artifact_key] = os.urandom(MIB)
    monkeypatch.setattr(p2p, "STARVED_SECONDS", 2.0)
    one = swarm(region, directory, 1)
    try:
        with pytest.raises(ArtifactRefused) as refused:
            one.fetch(goal, AgentPaths(tmp_path), threading.Event())
    finally:
        one.close()
    # Then the fetch is refused as a checksum failure, and nothing of it is kept
    assert refused.value.reason == CHECKSUM and "failed their hashes" in refused.value.detail
    assert not (tmp_path / "downloads" / "b1").exists()
