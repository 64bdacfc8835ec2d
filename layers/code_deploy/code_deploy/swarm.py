"""A region's rollout as a peer-to-peer swarm, modelled at the level of pieces, as Kraken, Murder and
BitTorrent deploys do it: the artifact is cut into pieces, a few seed hosts pull pieces from the regional
bucket, and every host passes on the pieces it has to its neighbours before it has the whole file.

Time goes in rounds of one piece-time: the time one host takes to move one piece at its bandwidth. In a
round each host uploads at most one piece (its bandwidth) and downloads at most one, only to and from its
`fanout` neighbours in a fixed overlay, and only pieces it held when the round began. The bucket serves the
seeds, as many pieces a round as its egress allows. Hosts are paired with neighbours that have a piece
they lack (as many pairs as the overlay allows), and each pair moves the rarest piece on offer.

`simulate_swarm` plays this exactly (small and medium scale); `pipelined_broadcast_seconds` is the closed
form for large scale: about (pieces + log2 hosts) piece-times, the pipelined broadcast's bound, and
`pipelined_plan` the per-host plan that goes with it. `plan_region` picks one of the two by size.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import random
from dataclasses import dataclass, field
from enum import StrEnum

MIB = 1024 * 1024
DEFAULT_PIECE_BYTES = 4 * MIB  # Kraken's default piece size
DEFAULT_HOST_BANDWIDTH = 125_000_000.0  # bytes/s: 1 Gbit/s
DEFAULT_BUCKET_EGRESS = 12_500_000_000.0  # bytes/s: 100 Gbit/s out of the regional bucket
BUCKET = -1  # the source id of the regional bucket in transfers
# How many host-pieces (hosts x pieces) the exact simulation plays: about a second of CPU. Beyond it,
# e.g. a region of 100,000 hosts, the closed form's plan stands in for it (the two agree within 10%
# where both run: tests/unit/test_swarm.py).
SIMULATION_BUDGET = 250_000
# Augmenting paths longer than this many downloaders are not looked for: on every case of
# tests/unit/test_swarm.py and bench/p2p_report.py the plans came out the same as with paths of any
# length, in 60% of the time.
AUGMENTING_PATH_DEPTH = 3


@dataclass(frozen=True)
class SwarmParameters:
    hosts: int
    artifact_bytes: int
    seeds: int = 3
    fanout: int = 4
    piece_bytes: int = DEFAULT_PIECE_BYTES
    host_bandwidth: float = DEFAULT_HOST_BANDWIDTH
    bucket_egress: float = DEFAULT_BUCKET_EGRESS

    def __post_init__(self) -> None:
        if self.hosts < 1 or self.artifact_bytes < 1 or self.piece_bytes < 1:
            raise ValueError("hosts, artifact_bytes and piece_bytes must be positive")
        if self.seeds < 1:
            raise ValueError("seeds must be at least 1")
        if self.fanout < 2:
            raise ValueError("fanout must be at least 2: a host with one neighbour cannot relay in a swarm")
        if self.host_bandwidth <= 0 or self.bucket_egress <= 0:
            raise ValueError("bandwidths must be positive")

    def with_artifact(self, artifact_bytes: int) -> SwarmParameters:
        """The same hosts and network carrying another artifact (each rollout brings its own)."""
        return dataclasses.replace(self, artifact_bytes=max(artifact_bytes, 1))

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


class PlanMethod(StrEnum):
    SIMULATED = "simulated"  # played piece by piece
    CLOSED_FORM = "closed-form"  # the pipelined broadcast's plan


@dataclass
class SwarmResult:
    params: SwarmParameters
    rounds: int
    first_source: list[int]  # per host: where its first piece came from (a host or BUCKET)
    completed_round: list[int]  # per host: the round its last piece arrived in
    transfers: list[Transfer] = field(default_factory=list)  # only when recorded
    method: PlanMethod = PlanMethod.SIMULATED

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

    Each round the bucket feeds the seeds, then every other host is paired with a neighbour that has a
    piece it lacks and a free upload: as many pairs as the overlay allows (a maximum matching, found by
    augmenting paths, the hosts furthest behind first). Each pair moves the rarest piece the uploader
    offers, as BitTorrent's rarest-first does, so pieces spread evenly and neighbours keep having
    something to trade. Ties are broken by a seeded shuffle, so a plan is reproducible.
    """
    rng = random.Random(seed)
    n, pieces = params.hosts, params.pieces
    everything = (1 << pieces) - 1
    have = [0] * n
    copies = [0] * pieces  # how many hosts hold each piece
    first_source = [BUCKET] * n
    completed = [0] * n
    peers_of = overlay(n, params.fanout, seed)
    transfers: list[Transfer] = []
    done = 0
    round_number = 0
    while done < n:
        round_number += 1
        if round_number > max_rounds:
            raise RuntimeError(f"no complete rollout after {max_rounds} rounds")
        held = have[:]  # what each host may serve this round: what it had when the round began
        rarest_first = sorted(range(pieces), key=lambda piece: (copies[piece], rng.random()))
        arrivals: list[tuple[int, int, int]] = []  # (destination, source, piece)
        # The bucket feeds the seeds first, up to its egress, the pieces fewest hosts have.
        bucket_budget = params.bucket_pieces_per_round
        fed_by_bucket = set()
        for seed_host in range(params.seed_count):
            if bucket_budget == 0:
                break
            wanted = everything & ~have[seed_host] & ~_arriving(arrivals)
            piece = _rarest(wanted, rarest_first) or _rarest(everything & ~have[seed_host], rarest_first)
            if piece is not None:
                arrivals.append((seed_host, BUCKET, piece))
                fed_by_bucket.add(seed_host)
                bucket_budget -= 1
        # Every other host (and a seed the bucket could not serve) pulls one piece from a neighbour.
        pulling = [host for host in range(n) if host not in fed_by_bucket and have[host] != everything]
        pulling.sort(key=lambda host: (have[host].bit_count(), rng.random()))  # furthest behind first
        for host, peer in _pair_with_uploaders(pulling, peers_of, held, have).items():
            arrivals.append((host, peer, _rarest(held[peer] & ~have[host], rarest_first)))
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


def _pair_with_uploaders(
    pulling: list[int], peers_of: list[list[int]], held: list[int], have: list[int]
) -> dict[int, int]:
    """A maximum matching of downloading hosts to neighbours with something for them, each uploader
    serving one host (Kuhn's augmenting paths, short ones, started from a greedy matching in `pulling`'s
    order, so the hosts first in line are the ones sure to be served when not everyone can be)."""
    uploader_of: dict[int, int] = {}  # downloader -> uploader
    downloader_of: dict[int, int] = {}  # uploader -> downloader
    offers = {host: [peer for peer in peers_of[host] if held[peer] & ~have[host]] for host in pulling}
    for host in pulling:
        for peer in offers[host]:
            if peer not in downloader_of:
                uploader_of[host], downloader_of[peer] = peer, host
                break
    unmatched = [host for host in pulling if host not in uploader_of and offers[host]]
    while unmatched:
        visited: set[int] = set()  # uploaders already tried in this pass: a failed search stays failed
        still_unmatched = [
            host for host in unmatched if not _augment(host, offers, downloader_of, uploader_of, visited)
        ]
        if len(still_unmatched) == len(unmatched):
            break
        unmatched = still_unmatched
    return uploader_of


def _augment(
    host: int,
    offers: dict[int, list[int]],
    downloader_of: dict[int, int],
    uploader_of: dict[int, int],
    visited: set[int],
) -> bool:
    """Finds an augmenting path from `host`, through at most AUGMENTING_PATH_DEPTH downloaders, and flips
    it, so one more host downloads this round and every host matched before still does."""
    stack = [(host, iter(offers[host]))]
    path: list[tuple[int, int]] = []  # (downloader, uploader) edges taken down the stack
    while stack:
        downloader, candidates = stack[-1]
        for peer in candidates:
            if peer in visited:
                continue
            visited.add(peer)
            holder = downloader_of.get(peer)
            path.append((downloader, peer))
            if holder is None:
                for taker, giver in path:
                    uploader_of[taker], downloader_of[giver] = giver, taker
                return True
            if len(stack) < AUGMENTING_PATH_DEPTH:
                stack.append((holder, iter(offers[holder])))
                break
            path.pop()
        else:
            stack.pop()
            if path:
                path.pop()
    return False


def _arriving(arrivals: list[tuple[int, int, int]]) -> int:
    """The pieces already on their way from the bucket this round (seeds fetch different ones)."""
    mask = 0
    for _, _, piece in arrivals:
        mask |= 1 << piece
    return mask


def _join_cohorts(params: SwarmParameters) -> list[int]:
    """How many hosts get their first piece in each round of a pipelined broadcast: the seeds in round
    1, from the bucket; then every host that has a piece passes one to a newcomer each round, as long
    as it has a free link in the overlay: a seed to `fanout` newcomers, any other host to fanout - 1
    (one of its links goes to the host that fed it). So the swarm about doubles every round (exactly,
    for a large fanout), and the depth is about log2(hosts / seeds)."""
    seeds, fanout = params.seed_count, params.fanout
    cohorts, holding = [seeds], seeds
    while holding < params.hosts:
        this_round = len(cohorts) + 1
        # cohort k (0-based) joined in round k + 1 and serves in the fanout - 1 rounds after it
        serving = sum(cohorts[max(1, this_round - fanout) : this_round - 1])
        serving += seeds if this_round - 1 <= fanout else 0
        newcomers = min(serving, params.hosts - holding)
        cohorts.append(newcomers)
        holding += newcomers
    return cohorts


def pipelined_broadcast_seconds(params: SwarmParameters) -> float:
    """The closed form for large swarms: pieces stream from the bucket to the seeds one a round and on
    down a pipeline whose depth grows as log2 of the hosts per seed, so the last host finishes after
    about (pieces + log2(hosts / seeds)) piece-times; never faster than the bucket hands out every piece."""
    return _closed_form_rounds(params) * params.piece_seconds


def _closed_form_rounds(params: SwarmParameters) -> float:
    # The last host gets its first piece in round `depth` and the others one a round after it; one more
    # round of margin for a random overlay, where a host's neighbours are not always the ones in need.
    depth = len(_join_cohorts(params))
    pipelined = params.pieces + depth
    bucket_bound = params.pieces * params.piece_bytes / params.bucket_egress / params.piece_seconds + depth
    return max(pipelined, bucket_bound)


def pipelined_plan(params: SwarmParameters) -> SwarmResult:
    """The closed form's plan, for swarms too large to play piece by piece: hosts join the pipeline in
    the cohorts of `_join_cohorts`, each newcomer fed its first piece by a host that joined before it
    and has a free link; the rest of its pieces stream in behind the first, one a round, so the last host
    finishes when the closed form says."""
    seeds, fanout = params.seed_count, params.fanout
    cohorts = _join_cohorts(params)
    first_source, joined = [BUCKET] * params.hosts, [1] * params.hosts
    cohort_start = [0]
    for size in cohorts:
        cohort_start.append(cohort_start[-1] + size)
    for round_index in range(1, len(cohorts)):  # round_index + 1 is the round played
        servers = list(range(seeds)) if round_index <= fanout else []
        for cohort in range(max(1, round_index + 1 - fanout), round_index):
            servers.extend(range(cohort_start[cohort], cohort_start[cohort + 1]))
        newcomers = range(cohort_start[round_index], cohort_start[round_index + 1])
        for server, newcomer in zip(servers, newcomers, strict=False):
            first_source[newcomer], joined[newcomer] = server, round_index + 1
    streaming = math.ceil(_closed_form_rounds(params)) - len(cohorts)  # from the first piece to the last
    completed = [round_joined + streaming for round_joined in joined]
    return SwarmResult(params, max(completed), first_source, completed, method=PlanMethod.CLOSED_FORM)


def plan_region(params: SwarmParameters, seed: int = 0) -> SwarmResult:
    """A region's rollout plan: simulated exactly when it fits the budget, else the closed form's, with
    the hosts shuffled by `seed` (which hosts are seeds, who feeds whom).

    A plan depends on the artifact only through its count of pieces, so the swarm is played once per
    shape and kept: a warm function plans every region's rollout of same-sized artifacts from one play
    (60 ms for 1,000 hosts x 17 pieces, a fifth of writing their records), each region's hosts shuffled
    its own way in a millisecond."""
    shape = dataclasses.replace(params, artifact_bytes=params.pieces * params.piece_bytes)
    return _relabelled(_plan_shape(shape), params, seed)


@functools.lru_cache(maxsize=16)
def _plan_shape(params: SwarmParameters) -> SwarmResult:
    if params.hosts * params.pieces <= SIMULATION_BUDGET:
        return simulate_swarm(params)
    return pipelined_plan(params)


def _relabelled(plan: SwarmResult, params: SwarmParameters, seed: int) -> SwarmResult:
    """The same plan with host h renamed to host new_name[h]: an isomorphic swarm."""
    new_name = list(range(params.hosts))
    random.Random(seed).shuffle(new_name)
    first_source, completed = [BUCKET] * params.hosts, [0] * params.hosts
    for host, source in enumerate(plan.first_source):
        first_source[new_name[host]] = BUCKET if source == BUCKET else new_name[source]
        completed[new_name[host]] = plan.completed_round[host]
    return SwarmResult(params, plan.rounds, first_source, completed, method=plan.method)


def direct_from_bucket_seconds(params: SwarmParameters) -> float:
    """Every host pulling the whole artifact from the bucket: bound by the bucket's egress, and by a
    host's own bandwidth."""
    return max(
        params.hosts * params.artifact_bytes / params.bucket_egress, params.artifact_bytes / params.host_bandwidth
    )


def physical_limit_seconds(params: SwarmParameters) -> float:
    """No host can have the artifact faster than its own link can carry it."""
    return params.artifact_bytes / params.host_bandwidth


@dataclass(frozen=True)
class SwarmFigures:
    """What the P2P swarm model said of a rollout (kept with the build's rollout summary in the region)."""

    method: str
    pieces: int
    piece_bytes: int
    rounds: int
    seconds: float
    physical_limit_seconds: float
    direct_from_bucket_seconds: float


def figures(plan: SwarmResult) -> SwarmFigures:
    """The figures of the swarm's plan that a rollout's summary keeps."""
    params = plan.params
    return SwarmFigures(
        method=plan.method.value,
        pieces=params.pieces,
        piece_bytes=params.piece_bytes,
        rounds=plan.rounds,
        seconds=plan.seconds,
        physical_limit_seconds=physical_limit_seconds(params),
        direct_from_bucket_seconds=direct_from_bucket_seconds(params),
    )
