"""Which build a host should run under its group's goal.

The control plane computes the very same thing to know which hosts a wave holds (and so which hosts'
reports it waits for): a host is in the waves so far when its rank in the deployment is below the goal's
cumulativePercent. The rank is a hash of the deployment id and the host id, so each deployment orders the
hosts afresh, every agent finds its place alone, and a wave that grows only adds hosts.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from fractions import Fraction

RANK_SPACE = 2**64


def _rank_bits(deployment_id: str, host_id: str) -> int:
    digest = hashlib.sha256(f"{deployment_id}\0{host_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def host_rank(deployment_id: str, host_id: str) -> float:
    """The host's place in the deployment, in [0, 100): `int.from_bytes(sha256(f"{deploymentId}\\0{hostId}")
    [:8], "big") / 2**64 * 100`."""
    return _rank_bits(deployment_id, host_id) / RANK_SPACE * 100


def in_waves(deployment_id: str, host_id: str, cumulative_percent: Decimal | float | int | str) -> bool:
    """rank < cumulativePercent, compared exactly (`bits * 100 < cumulativePercent * 2**64`): a float rank
    rounds the top few ranks up to 100.0, and 100 must take every host. A float percent counts as
    the decimal it prints as (10.1 is 10.1, not the binary fraction next to it)."""
    return _rank_bits(deployment_id, host_id) * 100 < Fraction(Decimal(str(cumulative_percent))) * RANK_SPACE


def target_build(
    deployment_id: str,
    host_id: str,
    cumulative_percent: Decimal | float | int | str,
    build_id: str,
    previous_build_id: str | None,
) -> str | None:
    """The goal's build for a host inside the waves so far, else the goal's previous build; None (leave the
    host as it is) when it is outside and the goal names no previous build."""
    if in_waves(deployment_id, host_id, cumulative_percent):
        return build_id
    return previous_build_id
