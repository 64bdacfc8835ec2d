"""Peer to peer for real, small (`make bench-p2p` is the large one): six code-deploy-agents in one region of
the deployed stack fetch a padded application from each other (bench.p2p.run), each link capped, two of them
killed mid-transfer (SIGKILL) and started again. Every agent completes, the restarted ones resume from the
pieces they had verified, and the bucket serves at most two artifacts' worth."""

from __future__ import annotations

from pathlib import Path

from bench import p2p

MIB = 1024 * 1024


def test_a_fleet_fetches_from_each_other_and_survives_churn(stack_outputs, tmp_path: Path):
    # Given 6 agents at 1 MB/s each way, 2 of them (a third) killed 40 % into the transfer, restarted after 2 s
    settings = p2p.P2PSettings(agents=6, artifact_bytes=8 * MIB, rate=1_000_000, churn_percent=34, timeout_seconds=300)

    found = p2p.run(stack_outputs, settings, tmp_path)

    # Then every agent completed (run() raises otherwise), the two restarted ones from what they had on disk
    assert found["agents"] == 6 and len(found["completions"]) == 6
    assert found["restartedAgents"] == 2
    assert min(found["restartedResumedBytes"]) > 0
    # and only the two origins read the bucket: at most what they received in all, two artifacts and the
    # few blocks the engine fetched twice; the rest went from agent to agent
    assert found["agentsReadingTheBucket"] <= 2
    assert 0 < found["bucketEgressBytes"] <= 2.05 * found["artifactBytes"]
    assert found["p50Seconds"] >= found["physicalSeconds"] * 0.9  # no agent beats its own link
