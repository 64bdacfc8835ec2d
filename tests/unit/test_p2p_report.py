"""The P2P model's report: the design problem's figures and the two plots docs/p2p-model.md shows."""

from bench import p2p_report


def test_at_the_design_scale_the_swarm_is_within_the_targets_and_the_bucket_is_not():
    design = p2p_report.design_scale()
    assert design["physicalLimitSeconds"] == 80.0
    assert design["swarmVsPhysical"] <= 1.5  # the target; Kraken reports about 1.7
    assert design["directFromBucketSeconds"] > 3600 * 20
    assert design["buildReplicateRolloutSeconds"] <= design["budgetSeconds"]


def test_the_report_writes_its_plots_and_the_simulation_agrees_with_the_closed_form(tmp_path):
    figures = p2p_report.report(tmp_path, quick=True)
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "p2p_time_vs_artifact_size.png",
        "p2p_time_vs_hosts.png",
    ]
    assert all(0.9 <= row["simulatedVsClosedForm"] <= 1.1 for row in figures["agreement"])
    assert any("design scale" in line for line in p2p_report.lines(figures))
