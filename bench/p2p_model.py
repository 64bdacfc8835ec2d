"""The swarm model, calibrated against a real fleet (bench/p2p.py), with what the ideal model leaves out.

The domain's model (code_deploy.swarm) plays an ideal swarm: every host starts at once, moves a piece a
round at its full link, and never leaves. A real fleet differs in three ways, each modelled here:

- **Start**: an agent sees the goal at its next poll, so starts spread uniformly over the poll interval
  (with its +-20 % jitter).
- **Engine efficiency**: a real engine does not keep every link busy all the time (choking rounds, request
  queues, a rate limiter's ticks). One factor, the share of a link's rate the swarm achieves, is fitted on
  one fleet (the calibration run) so the model's median matches it; the model is then checked on another
  fleet size, which it was not fitted on.
- **Churn**: a host killed mid-transfer is down for its restart, then resumes from its verified pieces:
  its completion is later by that downtime (pieces it held were already passed on; the swarm barely
  notices).

The piece-level simulation lives here with the benchmark; the closed form the plan uses stays in the domain.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass

from code_deploy.builds.torrent import torrent_piece_bytes
from code_deploy.swarm import SwarmParameters, simulate_swarm
from code_deploy_agent import p2p
from code_deploy_agent.agent import POLL_JITTER
from tools.fleet import POLL_SECONDS  # the local fleet's agents' poll interval

ORIGIN_SLOTS = p2p.ORIGIN_SLOTS  # the swarm's seeds from the bucket
UNCHOKED_PEERS = p2p.ENGINE_SETTINGS["unchoke_slots_limit"]  # a host's upload fan-out
SAMPLES = 400


@dataclass(frozen=True)
class Calibration:
    agents: int
    efficiency: float  # the share of a link's rate the real swarm achieves
    startup_seconds: float  # the fastest real host's time over the ideal fastest: the engine's start, first peers

    def summary(self) -> dict[str, float]:
        return asdict(self)


def ideal_finish_seconds(agents: int, artifact_bytes: int, rate: float) -> list[float]:
    """Each host's completion in the ideal swarm (every host at `rate`, all starting together), sorted."""
    params = SwarmParameters(
        hosts=agents,
        artifact_bytes=artifact_bytes,
        seeds=min(ORIGIN_SLOTS, agents),
        fanout=max(2, min(UNCHOKED_PEERS, agents - 1)) if agents > 2 else 2,
        piece_bytes=torrent_piece_bytes(artifact_bytes),
        host_bandwidth=rate,
        bucket_egress=rate * ORIGIN_SLOTS,
    )
    result = simulate_swarm(params)
    return sorted(result.finish_seconds(host) for host in range(agents))


def _starts(count: int, seed: int) -> list[float]:
    """When each host starts, after the first: a poll's uniform phase (the first to poll starts at 0)."""
    rng = random.Random(seed)
    starts = sorted(rng.uniform(0, POLL_SECONDS * (1 + POLL_JITTER)) for _ in range(count))
    return [start - starts[0] for start in starts]


def _curve(ideal: list[float], efficiency: float, startup: float, churned_share: float, downtime: float) -> list[float]:
    """SAMPLES hosts: a start in the poll, the startup, an ideal host's transfer slowed by the engine's
    efficiency; the churned share of them later by their downtime."""
    rng = random.Random(7)
    starts = _starts(SAMPLES, 11)
    churned = set(rng.sample(range(SAMPLES), round(churned_share * SAMPLES)))
    completions = []
    for index in range(SAMPLES):
        transfer = ideal[rng.randrange(len(ideal))] / efficiency
        completions.append(starts[index] + startup + transfer + (downtime if index in churned else 0.0))
    return sorted(completions)


def _quantile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


def calibrate(calibration_run: dict) -> Calibration:
    """The efficiency (and startup) that make the model's median and its fastest host the calibration
    run's: startup from the fastest real host against the ideal fastest, efficiency by bisection on the
    median."""
    agents, artifact, rate = (
        calibration_run["agents"],
        calibration_run["artifactBytes"],
        calibration_run["rateBytesPerSecond"],
    )
    ideal = ideal_finish_seconds(agents, artifact, rate)
    real = calibration_run["completions"]
    startup = max(0.0, real[0] - ideal[0])
    low, high = 0.05, 1.0
    for _ in range(40):
        middle = (low + high) / 2
        if _quantile(_curve(ideal, middle, startup, 0.0, 0.0), 0.5) > calibration_run["p50Seconds"]:
            low = middle
        else:
            high = middle
    return Calibration(agents=agents, efficiency=round(high, 4), startup_seconds=round(startup, 3))


@dataclass(frozen=True)
class Churn:
    """Hosts killed mid-transfer and started again after `restart_after_seconds`."""

    percent: float = 0.0
    restart_after_seconds: float = 0.0

    def downtime(self, calibration: Calibration) -> float:
        """A churned host's lost time: until its restart, then its startup again and a poll to see the goal
        (half an interval on average); the pieces it had verified it keeps."""
        return self.restart_after_seconds + calibration.startup_seconds + POLL_SECONDS * (1 + POLL_JITTER) / 2


def modelled(
    agents: int, artifact_bytes: int, rate: float, calibration: Calibration, churn: Churn = Churn()
) -> tuple[float, float, list[float]]:
    """The calibrated model's p50 and p99 for a fleet, and its completion curve (sorted seconds)."""
    ideal = ideal_finish_seconds(agents, artifact_bytes, rate)
    curve = _curve(
        ideal, calibration.efficiency, calibration.startup_seconds, churn.percent / 100, churn.downtime(calibration)
    )
    return _quantile(curve, 0.5), _quantile(curve, 0.99), curve
