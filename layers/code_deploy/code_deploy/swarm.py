"""A region's rollout as a peer-to-peer swarm, modelled at the level of pieces, as Kraken, Murder and
BitTorrent deploys do it: the artifact is cut into pieces, a few seed hosts pull pieces from the regional
bucket, and every host passes on the pieces it has to its neighbours before it has the whole file.

Time goes in rounds of one piece-time: the time one host takes to move one piece at its bandwidth. In a
round each host uploads at most one piece (its bandwidth) and downloads at most one, only to and from its
`fanout` neighbours in a fixed overlay, and only pieces it held when the round began. The bucket serves the
seeds, as many pieces a round as its egress allows. Each host asks its neighbours for the first piece it
lacks at or after its own offset in the file, so neighbours fetch different pieces and trade them.

`simulate_swarm` plays this exactly (small and medium scale); `pipelined_broadcast_seconds` is the closed
form for large scale: about (pieces + log2 hosts) piece-times, the pipelined broadcast's bound.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

MIB = 1024 * 1024
DEFAULT_PIECE_BYTES = 4 * MIB  # Kraken's default piece size
BUCKET = -1  # the source id of the regional bucket in transfers


@dataclass(frozen=True)
class SwarmParameters:
    hosts: int
    artifact_bytes: int
    seeds: int = 3
    fanout: int = 4
    piece_bytes: int = DEFAULT_PIECE_BYTES
    host_bandwidth: float = 125_000_000.0  # bytes/s: 1 Gbit/s
    bucket_egress: float = 12_500_000_000.0  # bytes/s: 100 Gbit/s

    def __post_init__(self) -> None:
        if self.hosts < 1 or self.artifact_bytes < 1 or self.piece_bytes < 1:
            raise ValueError("hosts, artifact_bytes and piece_bytes must be positive")
        if self.seeds < 1:
            raise ValueError("seeds must be at least 1")
        if self.fanout < 2:
            raise ValueError("fanout must be at least 2: a host with one neighbour cannot relay in a swarm")
        if self.host_bandwidth <= 0 or self.bucket_egress <= 0:
            raise ValueError("bandwidths must be positive")

    @property
    def pieces(self) -> int:
        return math.ceil(self.artifact_bytes / self.piece_bytes)

    @property
    def piece_seconds(self) -> float:
        """One round: one piece at one host's bandwidth."""
        return self.piece_bytes / self.host_bandwidth

    @property
    def seed_count(self) -> int:
        return min(self.seeds, self.hosts)

    @property
    def bucket_pieces_per_round(self) -> int:
        return max(1, math.floor(self.bucket_egress * self.piece_seconds / self.piece_bytes))


@dataclass(frozen=True)
class Transfer:
    round: int
    source: int  # a host, or BUCKET
    destination: int
    piece: int


@dataclass
class SwarmResult:
    params: SwarmParameters
    rounds: int
    first_source: list[int]  # per host: where its first piece came from (a host or BUCKET)
    completed_round: list[int]  # per host: the round its last piece arrived in
    transfers: list[Transfer] = field(default_factory=list)  # only when recorded

    @property
    def seconds(self) -> float:
        return self.rounds * self.params.piece_seconds

    def finish_seconds(self, host: int) -> float:
        return self.completed_round[host] * self.params.piece_seconds


def overlay(hosts: int, fanout: int, seed: int = 0) -> list[list[int]]:
    """Who may trade with whom: a union of fanout // 2 random cycles through all hosts, so every host
    has at most `fanout` neighbours, each link both ways, and any piece is O(log hosts) hops from
    anywhere (random regular graphs are expanders). Seeded, so a plan is reproducible."""
    rng = random.Random(seed)
    links: list[set[int]] = [set() for _ in range(hosts)]
    for _ in range(fanout // 2):
        cycle = list(range(hosts))
        rng.shuffle(cycle)
        for position, host in enumerate(cycle):
            peer = cycle[(position + 1) % hosts]
            if peer != host:
                links[host].add(peer)
                links[peer].add(host)
    return [sorted(peers) for peers in links]


def _rarest(available: int, order: list[int]) -> int | None:
    """The first piece of `order` (rarest first) that `available` holds; None if it holds none."""
    if not available:
        return None
    for piece in order:
        if available >> piece & 1:
            return piece
    return None


def simulate_swarm(
    params: SwarmParameters, record: bool = False, seed: int = 0, max_rounds: int = 1_000_000
) -> SwarmResult:
    """Plays the swarm round by round until every host has every piece.

    Each round, hosts take their turn in a shuffled order (seeded, so a plan is reproducible) and pull
    the rarest piece it lacks that a neighbour with a free upload offers, as BitTorrent's rarest-first
    does: pieces spread evenly, so neighbours always have something to trade.
    """
    rng = random.Random(seed)
    n, pieces = params.hosts, params.pieces
    everything = (1 << pieces) - 1
    have = [0] * n
    copies = [0] * pieces  # how many hosts hold each piece
    first_source = [BUCKET] * n
    completed = [0] * n
    peers_of = overlay(n, params.fanout, seed)
    turn = list(range(n))
    transfers: list[Transfer] = []
    done = 0
    round_number = 0
    while done < n:
        round_number += 1
        if round_number > max_rounds:
            raise RuntimeError(f"no complete rollout after {max_rounds} rounds")
        held = have[:]  # what each host may serve this round: what it had when the round began
        rarest_first = sorted(range(pieces), key=lambda piece: (copies[piece], rng.random()))
        rank = {piece: position for position, piece in enumerate(rarest_first)}
        upload_used = [False] * n
        downloading = [False] * n
        arrivals: list[tuple[int, int, int]] = []  # (destination, source, piece)
        # The bucket feeds the seeds first, up to its egress, the pieces fewest hosts have.
        bucket_budget = params.bucket_pieces_per_round
        for seed_host in range(params.seed_count):
            if bucket_budget == 0:
                break
            wanted = everything & ~have[seed_host] & ~_arriving(arrivals)
            piece = _rarest(wanted, rarest_first) or _rarest(everything & ~have[seed_host], rarest_first)
            if piece is not None:
                arrivals.append((seed_host, BUCKET, piece))
                downloading[seed_host] = True
                bucket_budget -= 1
        # Every other host (and a seed the bucket could not serve) pulls one piece from a neighbour.
        rng.shuffle(turn)
        for host in turn:
            if downloading[host] or have[host] == everything:
                continue
            best: tuple[int, int, int] | None = None  # (rank, piece, peer): the rarest piece on offer
            for peer in peers_of[host]:
                if upload_used[peer]:
                    continue
                piece = _rarest(held[peer] & ~have[host], rarest_first)
                if piece is not None and (best is None or rank[piece] < best[0]):
                    best = (rank[piece], piece, peer)
            if best is not None:
                _, piece, peer = best
                arrivals.append((host, peer, piece))
                upload_used[peer] = True
                downloading[host] = True
        if not arrivals:
            raise RuntimeError("the swarm is stuck: no host can get a piece it lacks")
        for destination, source, piece in arrivals:
            if have[destination] == 0:
                first_source[destination] = source
            have[destination] |= 1 << piece
            copies[piece] += 1
            if have[destination] == everything:
                completed[destination] = round_number
                done += 1
            if record:
                transfers.append(Transfer(round_number, source, destination, piece))
    return SwarmResult(params, round_number, first_source, completed, transfers)


def _arriving(arrivals: list[tuple[int, int, int]]) -> int:
    """The pieces already on their way from the bucket this round (seeds fetch different ones)."""
    mask = 0
    for _, _, piece in arrivals:
        mask |= 1 << piece
    return mask


def pipelined_broadcast_seconds(params: SwarmParameters) -> float:
    """The closed form for large swarms: pieces stream down a pipeline whose depth grows as log2 of the
    hosts per seed, so the last host finishes after about (pieces + log2(hosts / seeds)) piece-times;
    never faster than the bucket can hand every piece to the seeds."""
    depth = math.ceil(math.log2(max(params.hosts / params.seed_count, 1))) + 1
    pipelined = (params.pieces + depth) * params.piece_seconds
    bucket_bound = params.pieces * params.piece_bytes / params.bucket_egress + depth * params.piece_seconds
    return max(pipelined, bucket_bound)


def direct_from_bucket_seconds(params: SwarmParameters) -> float:
    """Every host pulling the whole artifact from the bucket: bound by the bucket's egress, and by a
    host's own bandwidth."""
    return max(
        params.hosts * params.artifact_bytes / params.bucket_egress, params.artifact_bytes / params.host_bandwidth
    )


def physical_limit_seconds(params: SwarmParameters) -> float:
    """No host can have the artifact faster than its own link can carry it."""
    return params.artifact_bytes / params.host_bandwidth
