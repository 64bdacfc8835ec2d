"""The simulated hosts of a region: which build each runs, which it keeps cached, and which deployment
last changed it. Plain Python over plain values; `host_store` keeps it in the region's table.

A host holds its last two builds (the one it runs and the one before it), so going back to the
previous build downloads nothing: it only switches which build runs. Every change a deployment makes
to a host carries the deployment's `seq` (its place in the region's order of goal changes), and a host
never takes a change older than the one it has: whatever order two deployments' writes land in, the
later deployment wins on every host.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Host:
    current: str | None = None  # the build it runs (None: never deployed to)
    previous: str | None = None  # the build it ran before, still in its cache
    seq: int = 0  # the goal change that last changed it

    def holds(self, build_id: str) -> bool:
        return build_id in (self.current, self.previous)

    def switched_to(self, build_id: str, seq: int) -> Host:
        """Runs `build_id` now and keeps the build it ran as the previous one."""
        return Host(build_id, self.current, seq)


@dataclass
class WaveOutcome:
    """What one wave did to its hosts."""

    updated: list[int]  # switched to the build (downloaded it, or had it cached)
    downloaded: list[int]  # of `updated`, those that fetched the artifact (the swarm)
    failed: list[int]  # tried and failed: they keep running what they ran
    skipped: list[int]  # already on the build
    superseded: list[int]  # a later deployment changed them: left alone
    holding_before: int  # hosts of the region that held the build before the wave (they serve pieces)


def apply_wave(
    hosts: list[Host], indexes: Iterable[int], build_id: str, seq: int, failing: set[int]
) -> tuple[list[Host], WaveOutcome]:
    """The region's hosts after a wave of deployment `seq` switched hosts `indexes` to `build_id`;
    the hosts in `failing` fail their update (fault injection)."""
    after = list(hosts)
    outcome = WaveOutcome([], [], [], [], [], sum(1 for host in hosts if host.current == build_id))
    for index in indexes:
        host = hosts[index]
        if host.seq > seq:
            outcome.superseded.append(index)
        elif host.current == build_id:
            outcome.skipped.append(index)
        elif index in failing:
            outcome.failed.append(index)
        else:
            if not host.holds(build_id):
                outcome.downloaded.append(index)
            outcome.updated.append(index)
            after[index] = host.switched_to(build_id, seq)
    return after, outcome


@dataclass
class RollbackOutcome:
    activated: list[int]  # had the target cached: switched back, nothing downloaded
    downloaded: list[int]  # did not hold it: fetched it again (an ordinary deployment of it)
    superseded: list[int]


def apply_rollback(hosts: list[Host], target_build: str | None, seq: int) -> tuple[list[Host], RollbackOutcome]:
    """The region's hosts after deployment `seq` returned every host it may still change to
    `target_build`, the region's previous goal. Hosts that cached it switch back at once."""
    after = list(hosts)
    outcome = RollbackOutcome([], [], [])
    for index, host in enumerate(hosts):
        if host.seq > seq:
            outcome.superseded.append(index)
        elif host.current == target_build:
            continue
        elif host.previous == target_build:
            outcome.activated.append(index)
            after[index] = Host(target_build, host.current, seq)
        else:
            outcome.downloaded.append(index)
            after[index] = host.switched_to(target_build, seq) if target_build else Host(None, host.current, seq)
    return after, outcome


def hosts_by_build(hosts: Iterable[Host]) -> dict[str, int]:
    """How many hosts run each build (hosts never deployed to are not counted)."""
    return dict(Counter(host.current for host in hosts if host.current is not None))
