"""How a build spreads through one region's hosts, peer to peer.

A few seed hosts pull the artifact from the regional bucket; from then on, every host that has the
artifact serves it to up to `fanout` hosts that do not, one round at a time, so the count of hosts
holding it grows by a factor of (1 + fanout) a round and the bucket serves only the seeds.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

BUCKET_SOURCE_PREFIX = "s3://"


@dataclass(frozen=True)
class RolloutParameters:
    hosts: int
    seeds: int = 3
    fanout: int = 4

    def __post_init__(self) -> None:
        if self.hosts < 0:
            raise ValueError("hosts must be zero or more")
        if self.seeds < 1 or self.fanout < 1:
            raise ValueError("seeds and fanout must be at least 1")


@dataclass(frozen=True)
class HostDeployment:
    host_index: int
    host_id: str
    source: str  # "s3://<bucket>" for a seed, else the id of the peer it got the artifact from
    round: int  # 0 for seeds


def host_id(region: str, host_index: int) -> str:
    return f"{region}-host-{host_index:06d}"


def plan_rollout(region: str, bucket: str, params: RolloutParameters) -> Iterator[HostDeployment]:
    """Yields every host of the region once, in the order it receives the artifact."""
    seeds = min(params.seeds, params.hosts)
    for index in range(seeds):
        yield HostDeployment(index, host_id(region, index), f"{BUCKET_SOURCE_PREFIX}{bucket}", 0)
    have, round_number = seeds, 0
    while have < params.hosts:
        round_number += 1
        # Hosts that had the artifact at the start of this round serve it; newcomers serve next round.
        servers, newcomers = have, min(have * params.fanout, params.hosts - have)
        for offset in range(newcomers):
            index = have + offset
            server = offset % servers
            yield HostDeployment(index, host_id(region, index), host_id(region, server), round_number)
        have += newcomers


def rounds_needed(params: RolloutParameters) -> int:
    have, rounds = min(params.seeds, params.hosts), 0
    while have < params.hosts:
        have += min(have * params.fanout, params.hosts - have)
        rounds += 1
    return rounds
