"""Fetching an artifact from the region's other hosts, the bucket only their origin (docs/p2p.md).

The engine is libtorrent (a maintained BitTorrent engine: rarest-first, piece verification, web seeds,
rate limits). What this module adds is what a deployment system needs around it:

- **Trust.** The torrent lies beside the artifact in the region's bucket; it is believed only when its
  info hash is the goal's (from the build's record). The engine checks every piece against the torrent's
  hashes, and the whole file must still have the goal's sha256 before anything of it is installed.
- **Finding peers without a server of our own.** The region's swarm directory (a DynamoDB table with a
  TTL, `PeerDirectory`): an agent announces itself under its shard of the swarm, and finds peers by
  querying from a random point of a few shards; it connects to peers of its own zone (or rack) first, as
  they are cheaper and closer, and to a few of others, so the zones' swarms are one. No DHT, no local
  discovery, no peer exchange: a host talks to the peers the region lists.
- **A small origin.** Only the agents that win one of the swarm's ORIGIN_SLOTS (a conditional write)
  read from the bucket, as the engine's web seed; every other host gets every byte from its peers. A host
  that makes no progress for STARVED_SECONDS (its peers gone) reads from the bucket too, so no host waits
  for ever.
- **Caps on every link.** Upload and download are capped for every peer, loopback ones included (a local
  fleet stands for hosts with NICs of a given speed), and connections are limited as on a real host.
- **Resuming.** The engine writes pieces into the file as they verify; an agent stopped mid-transfer
  finds them at its next start (the engine checks what is on disk) and fetches only the rest.

After its download a host seeds the artifact for SEED_LINGER_SECONDS, announced as a seed, then stops
seeding and deletes its copy (the release it installed is what a rollback uses).
"""

from __future__ import annotations

import hashlib
import logging
import random
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

from code_deploy_agent.download import ArtifactRefused, Downloaded, DownloadStopped
from code_deploy_agent.host_item import ARTIFACT_MISSING, CHECKSUM
from code_deploy_agent.region import Goal, RegionLink
from code_deploy_agent.state import AgentPaths, write_json_atomically

ORIGIN_SLOTS = 2  # agents of a swarm that read from the bucket: its egress stays near one to two artifacts
PEER_SHARDS = 32  # a swarm's keys in the directory, so no key of a 100,000-host swarm is hot
# A host announces itself when it starts a download (renewed while it lasts) and once more when it has the
# whole artifact, to seed for SEED_LINGER_SECONDS (the waves after its own find it there); then it leaves.
# Two or three writes a host a deployment: the capacity model counts them (capacity/agents.py).
ANNOUNCE_SECONDS = 120.0  # a downloading host renews its announcement (and origin slot) this often
EXPIRES_AFTER_SECONDS = 300.0  # an announcement not renewed is gone (TTL, and the queries skip it)
SEED_LINGER_SECONDS = 600.0
FIND_PEERS_SECONDS = 5.0  # while downloading with fewer than WANTED_PEERS connected
WANTED_PEERS = 30
PEERS_PER_QUERY = 25
STARVED_SECONDS = 15.0
PRESIGNED_URL_SECONDS = 3600
STEP_SECONDS = 0.25
STATS_FILE = "swarm.json"  # in the agent's directory: what it sent and received, for the benchmark's egress count
SHUTDOWN_SECONDS = 10.0
LISTEN_SECONDS = 10.0
HASH_CHUNK_BYTES = 1024 * 1024

# The engine's settings, chosen by measurement (docs/p2p.md): few unchoked peers, each served fast,
# spread a piece sooner than many served slowly; short request queues keep a capped link's latency low.
ENGINE_SETTINGS: dict[str, Any] = {
    "enable_dht": False,
    "enable_lsd": False,
    "enable_upnp": False,
    "enable_natpmp": False,
    "unchoke_slots_limit": 4,
    "max_out_request_queue": 50,
    "tick_interval": 50,
    "connections_limit": 60,
    "aio_threads": 1,
    "hashing_threads": 1,
    "request_timeout": 10,
    "peer_connect_timeout": 3,
    "alert_mask": 0,
    # A web seed request spans pieces up to this: small enough that a stopped origin wastes little of the
    # bucket's egress, big enough that a capped link stays busy.
    "urlseed_max_request_bytes": 1024 * 1024,
}


class P2PUnavailable(Exception):
    """The swarm cannot be used for this artifact (no torrent in the goal): fetch it from the bucket."""


@dataclass(frozen=True)
class Peer:
    host_id: str
    address: str
    port: int
    zone: str
    seed: bool = False


class PeerDirectory(Protocol):
    """The region's swarm directory (the peers table): announcements and origin slots, each expiring."""

    def announce(self, key: str, sort_key: str, peer: Peer, expires_at: int) -> None: ...

    def leave(self, key: str, sort_key: str) -> None: ...

    def find(self, key: str, start: str, limit: int) -> list[Peer]:
        """Up to `limit` peers announced under `key`, from sort key `start` on, wrapping around."""
        ...

    def claim_origin(self, key: str, slot: int, host_id: str, *, now: int, expires_at: int) -> bool:
        """Whether host_id holds the slot now: it was free, expired, or already its own (conditional write)."""
        ...

    def release_origin(self, key: str, slot: int, host_id: str) -> None:
        """Frees the slot if host_id holds it (a conditional delete), so another host can claim it at once."""
        ...


def swarm_shard_key(info_hash: str, shard: int) -> str:
    return f"{info_hash}#{shard:02d}"


def origin_key(info_hash: str) -> str:
    return f"{info_hash}#origin"


def host_sort_key(host_id: str) -> str:
    """`<8 hex of the host id's hash>#<hostId>`: a query from a random 8-hex point reads a random window."""
    return f"{hashlib.sha256(host_id.encode()).hexdigest()[:8]}#{host_id}"


def host_shard(host_id: str) -> int:
    return int(hashlib.sha256(host_id.encode()).hexdigest()[8:16], 16) % PEER_SHARDS


@dataclass(frozen=True)
class SwarmSettings:
    """This host in the swarm: where peers reach it and how fast its link is (0: no cap)."""

    host_id: str
    zone: str
    address: str  # the address peers connect to; the engine listens and connects from it
    port: int = 0  # 0: any free port (announced as the one the engine got)
    download_bytes_per_second: float = 0.0
    upload_bytes_per_second: float = 0.0


@dataclass
class _Transfer:
    """One fetch's bookkeeping: where the bytes came from."""

    started: float
    resumed_bytes: int = 0
    origin_bytes: int = 0
    origin: bool = False
    web_seed_totals: dict[str, int] | None = None

    def count_web_seeds(self, handle: Any, lt: Any) -> None:
        """Adds what the web seed connections read since the last look (the bucket's egress for this host)."""
        totals = self.web_seed_totals if self.web_seed_totals is not None else {}
        for info in handle.get_peer_info():
            if info.connection_type in (lt.peer_info.web_seed, lt.peer_info.http_seed):
                key = f"{info.ip}/{info.local_endpoint}"
                seen = totals.get(key, 0)
                if info.total_download >= seen:
                    self.origin_bytes += info.total_download - seen
                totals[key] = info.total_download
        self.web_seed_totals = totals


def _loopback(url: str) -> bool:
    host = urlparse(url).hostname or ""
    return host == "localhost" or host.startswith("127.") or host == "::1"


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as artifact:
        while chunk := artifact.read(HASH_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


class Swarm:
    """One host's place in its region's swarms: an engine session (started at the first fetch), the
    artifact it seeds, and its announcements, renewed by a thread of its own until close()."""

    def __init__(
        self,
        settings: SwarmSettings,
        region: RegionLink,
        directory: PeerDirectory,
        log: logging.Logger,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.region = region
        self.directory = directory
        self.log = log
        self.clock = clock
        self._session: Any = None
        self._lt: Any = None
        self._seeding: tuple[str, Any, Path] | None = None  # info hash, handle, directory of its file
        self._announced: set[str] = set()
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._renewer: threading.Thread | None = None
        self._origin_slot: tuple[str, int] | None = None
        self._stats_file: Path | None = None
        self._announced_at = 0.0
        self._transfer: _Transfer | None = None
        self._times: dict[str, float] = {}  # this fetch's startedAt, completedAt (epoch seconds), resumedBytes

    # -- the engine ---------------------------------------------------------------------------------

    def _engine(self, url_for_origin: str) -> Any:
        if self._session is None:
            import libtorrent as lt  # here: an agent that never uses the swarm does not load the engine

            self._lt = lt
            settings = ENGINE_SETTINGS | {
                "listen_interfaces": f"{self.settings.address}:{self.settings.port}",
                "outgoing_interfaces": self.settings.address,
                "download_rate_limit": int(self.settings.download_bytes_per_second),
                "upload_rate_limit": int(self.settings.upload_bytes_per_second),
                # The engine refuses web seeds on local addresses with a query string (SSRF mitigation).
                # Emulator gap: the region's bucket is on 127.0.0.1 locally; on AWS it is S3's endpoint and
                # the mitigation stays on.
                "ssrf_mitigation": not _loopback(url_for_origin),
            }
            # No default plugins: no peer exchange (ut_pex) or metadata exchange; peers come from the
            # directory. smart_ban bans a peer that sends a piece that fails its hash.
            session = lt.session(settings, 0)
            session.add_extension("smart_ban")
            # Every peer is in the global class, so the caps apply to it: by default the engine exempts
            # local network and loopback peers, which is all of a local fleet.
            every_address = lt.ip_filter()
            every_address.add_rule("0.0.0.0", "255.255.255.255", 1 << lt.session.global_peer_class_id)
            session.set_peer_class_filter(every_address)
            # The engine opens its listening socket in the background: peers must be told the port it got.
            deadline = time.monotonic() + LISTEN_SECONDS
            while session.listen_port() == 0 and time.monotonic() < deadline:
                time.sleep(STEP_SECONDS / 10)
            if session.listen_port() == 0:
                raise P2PUnavailable(f"the engine could not listen on {self.settings.address}")
            self._session = session
            self._renewer = threading.Thread(target=self._keep_announcing, name="swarm-announce", daemon=True)
            self._renewer.start()
        return self._session

    def close(self) -> None:
        """Leaves every swarm, frees its origin slot (the swarm's next host takes it at once, rather than
        starving until it expires), and stops the engine (what it has on disk stays, for a restart to resume)."""
        self._closed.set()
        with self._lock:
            for key in list(self._announced):
                self._leave(key)
            if self._origin_slot is not None:
                info_hash, slot = self._origin_slot
                try:
                    self.directory.release_origin(origin_key(info_hash), slot, self.settings.host_id)
                except Exception as error:  # it expires anyway
                    self.log.warning("releasing origin slot %s: %s", slot, error)
            if self._session is not None:
                self._write_stats()
                self._shut_down(self._session)
                self._session = None

    @staticmethod
    def _shut_down(session: Any) -> None:
        """Removes the torrents and waits for the engine to have written what it verified (a dropped
        session may lose pieces still in its write queue, which a restart would fetch again)."""
        session.pause()
        for handle in session.get_torrents():
            session.remove_torrent(handle)
        deadline = time.monotonic() + SHUTDOWN_SECONDS
        while session.get_torrents() and time.monotonic() < deadline:
            time.sleep(STEP_SECONDS / 5)

    # -- the directory ------------------------------------------------------------------------------

    def _announce(self, info_hash: str, *, seed: bool) -> None:
        key = swarm_shard_key(info_hash, host_shard(self.settings.host_id))
        peer = Peer(self.settings.host_id, self.settings.address, self._session.listen_port(), self.settings.zone, seed)
        expires_in = SEED_LINGER_SECONDS if seed else EXPIRES_AFTER_SECONDS
        try:
            self.directory.announce(key, host_sort_key(self.settings.host_id), peer, int(self.clock() + expires_in))
            self._announced.add(key)
            self._announced_at = self.clock()
        except Exception as error:  # the directory unreachable: peers still find this host by their own queries
            self.log.warning("announcing in %s: %s", key, error)

    def _leave(self, key: str) -> None:
        try:
            self.directory.leave(key, host_sort_key(self.settings.host_id))
        except Exception as error:  # it expires anyway
            self.log.warning("leaving %s: %s", key, error)
        self._announced.discard(key)

    def _claim_origin(self, info_hash: str) -> bool:
        now = int(self.clock())
        for slot in range(ORIGIN_SLOTS):
            try:
                if self.directory.claim_origin(
                    origin_key(info_hash),
                    slot,
                    self.settings.host_id,
                    now=now,
                    expires_at=now + int(EXPIRES_AFTER_SECONDS),
                ):
                    self._origin_slot = (info_hash, slot)
                    return True
            except Exception as error:
                self.log.warning("claiming origin slot %s: %s", slot, error)
        return False

    def _find_peers(self, info_hash: str) -> list[Peer]:
        """Peers from a random window of this host's shard, then of other shards in random order until
        there are enough to choose from; those of this host's zone (or rack) first, and a few of others, so
        zones are joined but most bytes stay near."""
        own = host_shard(self.settings.host_id)
        others = [shard for shard in range(PEER_SHARDS) if shard != own]
        random.shuffle(others)
        found: dict[str, Peer] = {}
        for shard in [own, *others]:
            for peer in self._query(swarm_shard_key(info_hash, shard)):
                found.setdefault(peer.host_id, peer)
            if len(found) >= 2 * WANTED_PEERS:
                break
        found.pop(self.settings.host_id, None)
        near = [peer for peer in found.values() if peer.zone == self.settings.zone]
        far = [peer for peer in found.values() if peer.zone != self.settings.zone]
        far_share = max(1, WANTED_PEERS // 5)
        chosen = near[: WANTED_PEERS - min(far_share, len(far))]
        return chosen + far[: WANTED_PEERS - len(chosen)]

    def _query(self, key: str) -> list[Peer]:
        try:
            return self.directory.find(key, f"{random.getrandbits(32):08x}", PEERS_PER_QUERY)
        except Exception as error:
            self.log.warning("finding peers in %s: %s", key, error)
            return []

    def _keep_announcing(self) -> None:
        """Renews a download's announcement (and origin slot) while it lasts; ends a seeding that has lasted
        SEED_LINGER_SECONDS."""
        while not self._closed.wait(min(ANNOUNCE_SECONDS, SEED_LINGER_SECONDS) / 4):
            with self._lock:
                if self._seeding is None or self._session is None:
                    continue
                info_hash = self._seeding[0]
                completed = self._times.get("completedAt")
                if completed is not None:
                    if self.clock() - completed >= SEED_LINGER_SECONDS:
                        self._write_stats()
                        self.log.info("seeded %s for %.0f s: leaving its swarm", info_hash, SEED_LINGER_SECONDS)
                        self._stop_seeding()
                    continue
                if self.clock() - self._announced_at >= ANNOUNCE_SECONDS:
                    self._announce(info_hash, seed=False)
                    if self._origin_slot and self._origin_slot[0] == info_hash:
                        self._claim_origin(info_hash)

    # -- a fetch ------------------------------------------------------------------------------------

    def _torrent(self, goal: Goal) -> Any:
        raw = self.region.read_object(goal.torrent_key)
        if raw is None:
            raise ArtifactRefused(ARTIFACT_MISSING, f"no torrent at {goal.torrent_key}")
        lt = self._lt
        try:
            info = lt.torrent_info(lt.bdecode(raw))
        except (RuntimeError, TypeError) as error:
            raise ArtifactRefused(CHECKSUM, f"{goal.torrent_key} is not a torrent: {error}") from error
        info_hash = str(info.info_hashes().v1)
        if info_hash != goal.info_hash:
            raise ArtifactRefused(CHECKSUM, f"torrent info hash {info_hash} is not the goal's {goal.info_hash}")
        if info.total_size() != goal.artifact_bytes or info.num_files() != 1:
            raise ArtifactRefused(
                CHECKSUM, f"torrent describes {info.total_size()} bytes, the goal {goal.artifact_bytes}"
            )
        return info

    def _write_stats(self) -> None:
        """The seeded torrent's totals so far, in the agent's directory (`swarm.json`), for the benchmark. What
        this host read from the bucket is at most what it received (`readBucket`: it had the web seed) and at
        least what the web seed's connection counted while it was looked at (`webSeedBytes`; the connection
        closes when the download completes, its last bytes uncounted)."""
        if self._seeding is None or self._stats_file is None:
            return
        info_hash, handle, _ = self._seeding
        status = handle.status()
        write_json_atomically(
            self._stats_file,
            {
                "infoHash": info_hash,
                "receivedBytes": status.total_payload_download,
                "redundantBytes": status.total_redundant_bytes,
                "sentBytes": status.total_payload_upload,
                "complete": "completedAt" in self._times,
                "readBucket": self._transfer is not None and self._transfer.origin,
                "webSeedBytes": self._transfer.origin_bytes if self._transfer is not None else 0,
            }
            | self._times,
        )

    def _stop_seeding(self) -> None:
        """Stops seeding the artifact and deletes its copy; its announcement is left to expire (a delete
        more a host a deployment would cost as much as the announcement)."""
        if self._seeding is None:
            return
        info_hash, handle, directory = self._seeding
        self._announced = {key for key in self._announced if not key.startswith(info_hash)}
        self._session.remove_torrent(handle)
        shutil.rmtree(directory, ignore_errors=True)
        self._seeding = None
        self._origin_slot = None

    def fetch(self, goal: Goal, paths: AgentPaths, stop: threading.Event) -> Downloaded:
        """The goal's artifact, complete and verified, from the swarm; ArtifactRefused as the bucket's
        download refuses one; DownloadStopped when stop is set (the verified pieces stay on disk)."""
        if not goal.info_hash or not goal.torrent_key:
            raise P2PUnavailable(f"build {goal.build_id} has no torrent")
        origin_url = self.region.presigned_url(goal.artifact_key, PRESIGNED_URL_SECONDS)
        self._stats_file = paths.root / STATS_FILE
        self._times = {"startedAt": time.time()}
        with self._lock:
            session = self._engine(origin_url)
            lt = self._lt
            info = self._torrent(goal)
            if self._seeding is not None and self._seeding[0] == goal.info_hash:
                _, handle, directory = self._seeding
            else:
                self._stop_seeding()
                directory = paths.downloads / goal.build_id
                directory.mkdir(parents=True, exist_ok=True)
                params = lt.add_torrent_params()
                params.ti = info
                params.save_path = str(directory)
                handle = session.add_torrent(params)
                self._seeding = (goal.info_hash, handle, directory)
        transfer = _Transfer(started=time.monotonic())
        self._transfer = transfer
        self._wait_checked(handle, stop)
        transfer.resumed_bytes = handle.status().total_wanted_done
        self._times["resumedBytes"] = transfer.resumed_bytes
        if transfer.resumed_bytes:
            self.log.info("resuming %s with %s bytes verified on disk", goal.build_id, transfer.resumed_bytes)
        with self._lock:
            transfer.origin = self._claim_origin(goal.info_hash)
            if transfer.origin:
                handle.add_url_seed(origin_url)
                self.log.info("origin of the swarm of %s: reading it from the bucket", goal.build_id)
            self._announce(goal.info_hash, seed=False)
        try:
            self._download(goal, handle, transfer, stop, origin_url)
        except ArtifactRefused:
            with self._lock:
                self._stop_seeding()
            raise
        self._times["completedAt"] = time.time()
        path = directory / info.name()  # one file, named as the torrent names it
        if _sha256_of(path) != goal.sha256:
            with self._lock:
                self._stop_seeding()
            raise ArtifactRefused(CHECKSUM, f"{goal.artifact_key} does not hash to the goal's sha256")
        with self._lock:
            self._announce(goal.info_hash, seed=True)
            self._write_stats()
            if transfer.origin:
                handle.remove_url_seed(origin_url)  # a complete copy needs the bucket no more
        payload = handle.status().total_payload_download
        return Downloaded(
            path,
            time.monotonic() - transfer.started,
            transfer.origin_bytes,
            peer_bytes=max(0, payload - transfer.origin_bytes),
            resumed_bytes=transfer.resumed_bytes,
        )

    def _wait_checked(self, handle: Any, stop: threading.Event) -> None:
        """Until the engine has checked what is on disk already (a restarted agent's verified pieces)."""
        checking = (self._lt.torrent_status.checking_files, self._lt.torrent_status.checking_resume_data)
        while handle.status().state in checking or handle.status().state == self._lt.torrent_status.queued_for_checking:
            if stop.wait(STEP_SECONDS):
                raise DownloadStopped("stopped while checking the pieces on disk")

    def _download(self, goal: Goal, handle: Any, transfer: _Transfer, stop: threading.Event, origin_url: str) -> None:
        next_find = 0.0
        progress_at, progress = time.monotonic(), -1
        while True:
            status = handle.status()
            if transfer.origin or transfer.origin_bytes:
                transfer.count_web_seeds(handle, self._lt)
            if status.is_seeding:
                return
            now = time.monotonic()
            if status.total_wanted_done != progress:
                progress_at, progress = now, status.total_wanted_done
            elif status.total_failed_bytes and now - progress_at > STARVED_SECONDS and transfer.origin:
                # Pieces keep failing their hashes and the bucket gives nothing better: its copy is not the
                # build's (a peer's bad pieces alone would not stop the bucket's good ones)
                raise ArtifactRefused(
                    CHECKSUM,
                    f"{status.total_failed_bytes} bytes of {goal.artifact_key} failed their hashes, "
                    f"no progress for {now - progress_at:.0f} s",
                )
            elif now - progress_at > STARVED_SECONDS and not transfer.origin:
                self.log.warning("no progress for %.0f s: reading %s from the bucket", now - progress_at, goal.build_id)
                handle.add_url_seed(origin_url)
                transfer.origin = True
            if now >= next_find and status.num_peers < WANTED_PEERS:
                peers = self._find_peers(goal.info_hash)
                for peer in peers:
                    handle.connect_peer((peer.address, peer.port))
                next_find = now + FIND_PEERS_SECONDS
            if stop.wait(STEP_SECONDS):
                raise DownloadStopped(
                    f"stopped with {status.total_wanted_done} of {status.total_wanted} bytes of {goal.build_id}"
                )
