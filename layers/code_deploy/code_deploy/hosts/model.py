"""The simulated hosts of a region: which build each runs, which it keeps cached, and which deployment
last changed it. Plain Python over plain values; `code_deploy.hosts.store` keeps it in the region's table.

A host holds its last two builds (the one it runs and the one before it), so going back to the
previous build downloads nothing: it only switches which build runs. Every change a deployment makes
to a host carries the deployment's `seq` (its place in the region's order of goal changes), and a host
never takes a change older than the one it has: whatever order two deployments' writes land in, the
later deployment wins on every host.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum


class Change(StrEnum):
    """How the goal change that last changed a host (its `seq`) changed it."""

    FETCHED = "fetched"  # switched to the build it runs, downloading it
    CACHED = "cached"  # switched to the build it runs, which it held in its cache (or to no build)
    FAILED = "failed"  # its update failed: it runs what it ran


@dataclass(frozen=True)
class Host:
    current: str | None = None  # the build it runs (None: never deployed to)
    previous: str | None = None  # the build it ran before, still in its cache
    seq: int = 0  # the goal change that last changed it
    # How `seq` changed it: a wave's outcome on its hosts is recorded with them, so a retry of the wave
    # (or of a rollback) finds which hosts it switched, which it downloaded to and which failed.
    change: Change | None = None

    def holds(self, build_id: str) -> bool:
        return build_id in (self.current, self.previous)

    def switched_to(self, build_id: str, seq: int) -> Host:
        """Runs `build_id` now and keeps the build it ran as the previous one."""
        return Host(build_id, self.current, seq, Change.CACHED if self.holds(build_id) else Change.FETCHED)

    def failed_update(self, seq: int) -> Host:
        """Goal change `seq` tried to update it and failed: it runs what it ran, and no earlier goal
        change may change it any more."""
        return Host(self.current, self.previous, seq, Change.FAILED)

    def to_update_by(self, build_id: str, seq: int) -> bool:
        """Whether goal change `seq` of `build_id` counts this host among those its waves update (whether
        it has updated it yet or not): every host but those an earlier goal change put on the build."""
        return not (self.current == build_id and self.seq < seq)

    def switched_by(self, build_id: str | None, seq: int) -> bool:
        """Whether goal change `seq` switched it to `build_id` (in this attempt of its step or an earlier one)."""
        return self.seq == seq and self.current == build_id and self.change in (Change.FETCHED, Change.CACHED)


@dataclass
class WaveOutcome:
    """What one wave did to its hosts (to those of one block of them, or of them all: `combined`)."""

    # Switched to the build by this deployment, in this attempt of the wave or an earlier one
    updated: list[int] = field(default_factory=list)
    downloaded: list[int] = field(default_factory=list)  # of `updated`, those that fetched the artifact (the swarm)
    failed: list[int] = field(default_factory=list)  # tried (in any attempt) and failed: they run what they ran
    skipped: list[int] = field(default_factory=list)  # already on the build before this deployment
    superseded: list[int] = field(default_factory=list)  # a later deployment changed them: left alone

    @classmethod
    def combined(cls, outcomes: Iterable[WaveOutcome]) -> WaveOutcome:
        """The outcomes of a wave's blocks, given in the blocks' order, as one (host indexes in order)."""
        whole = cls()
        for outcome in outcomes:
            for name in ("updated", "downloaded", "failed", "skipped", "superseded"):
                getattr(whole, name).extend(getattr(outcome, name))
        return whole

    @property
    def activated(self) -> list[int]:
        """Of `updated`, those that did not download the artifact: they had it cached and only switched."""
        downloaded = set(self.downloaded)
        return [host for host in self.updated if host not in downloaded]


def apply_wave(
    hosts: Sequence[Host], first: int, indexes: range, build_id: str, seq: int, failing: set[int]
) -> tuple[list[Host], WaveOutcome]:
    """Hosts `first`, `first` + 1 ... of the region (a block of them) after a wave of deployment `seq`
    switched those of them in `indexes` to `build_id`; the hosts in `failing` fail their update (fault
    injection). A host's change depends on that host alone, so a region's blocks change one by one."""
    after = list(hosts)
    outcome = WaveOutcome()
    for index in range(max(first, indexes.start), min(first + len(hosts), indexes.stop)):
        host = hosts[index - first]
        if host.seq > seq:
            outcome.superseded.append(index)
        elif host.seq == seq and host.change == Change.FAILED:  # failed in an earlier attempt: not tried again
            outcome.failed.append(index)
        elif host.switched_by(build_id, seq):  # by an earlier attempt of the wave, whose outcome stands
            outcome.updated.append(index)
            if host.change == Change.FETCHED:
                outcome.downloaded.append(index)
        elif host.current == build_id:
            outcome.skipped.append(index)
        elif index in failing:
            outcome.failed.append(index)
            after[index - first] = host.failed_update(seq)
        else:
            if not host.holds(build_id):
                outcome.downloaded.append(index)
            outcome.updated.append(index)
            after[index - first] = host.switched_to(build_id, seq)
    return after, outcome


@dataclass
class RollbackOutcome:
    activated: list[int] = field(default_factory=list)  # had the target cached (or it is no build): nothing downloaded
    downloaded: list[int] = field(default_factory=list)  # did not hold it: fetched it again (a deployment of it)
    superseded: list[int] = field(default_factory=list)

    @classmethod
    def combined(cls, outcomes: Iterable[RollbackOutcome]) -> RollbackOutcome:
        whole = cls()
        for outcome in outcomes:
            whole.activated.extend(outcome.activated)
            whole.downloaded.extend(outcome.downloaded)
            whole.superseded.extend(outcome.superseded)
        return whole


def apply_rollback(
    hosts: Sequence[Host], first: int, target_build: str | None, seq: int
) -> tuple[list[Host], RollbackOutcome]:
    """Hosts `first`, `first` + 1 ... of the region (a block of them) after deployment `seq` returned
    every host it may still change to `target_build`, the region's previous goal. Hosts that cached it
    switch back at once."""
    after = list(hosts)
    outcome = RollbackOutcome()
    for offset, host in enumerate(hosts):
        index = first + offset
        if host.seq > seq:
            outcome.superseded.append(index)
        elif host.switched_by(target_build, seq):  # by an earlier attempt of the rollback, whose outcome stands
            (outcome.downloaded if host.change == Change.FETCHED else outcome.activated).append(index)
        elif host.current == target_build:
            continue
        elif target_build is None or host.previous == target_build:
            outcome.activated.append(index)
            after[offset] = Host(target_build, host.current, seq, Change.CACHED)
        else:
            outcome.downloaded.append(index)
            after[offset] = host.switched_to(target_build, seq)
    return after, outcome


def hosts_by_build(hosts: Iterable[Host]) -> dict[str, int]:
    """How many hosts run each build (hosts never deployed to are not counted)."""
    return dict(Counter(host.current for host in hosts if host.current is not None))
