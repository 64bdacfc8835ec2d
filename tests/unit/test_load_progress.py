"""make load's progress while it waits (tools/load.py): a line every PROGRESS_SECONDS saying where the
builds are, so a run that takes minutes does not look stuck."""

from __future__ import annotations

import io

from rich.console import Console

from tools.load import LoadReport, Progress


def test_progress_prints_where_the_builds_are_at_most_every_interval():
    # Given a run of 5 builds: 4 accepted, one deployed, one superseded, one failed
    report = LoadReport(submitted=5, accepted={f"c{i}": f"b{i}" for i in range(4)})
    report.deployed["b0"] = 1.0
    report.superseded["b1"] = 2.0
    report.failed["b2"] = "boom"
    out = io.StringIO()
    now = [100.0]
    progress = Progress(Console(file=out, width=200), started=100.0, every=10.0, clock=lambda: now[0])

    # When it is asked to show itself more often than its interval
    for at in (100.0, 105.0, 110.0, 112.0, 121.0):
        now[0] = at
        progress.show(report, pending=1)

    # Then it printed once an interval, each line with the counts
    lines = out.getvalue().splitlines()
    assert len(lines) == 3  # at 100 s, 110 s and 121 s
    assert lines[-1].split() == [
        "21",
        "s:",
        "accepted",
        "4/5,",
        "deployed",
        "1,",
        "superseded",
        "1,",
        "failed",
        "1,",
        "pending",
        "1",
    ]
