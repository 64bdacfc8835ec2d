"""A smaller `make load`: builds submitted at once all reach every host, none lost, none duplicated."""

from tools.load import run

CONCURRENT_BUILDS = 10


def test_concurrent_builds_all_deploy_once(stack_outputs):
    report = run(CONCURRENT_BUILDS, timeout=600)
    print("\n".join(report.lines()))
    assert report.ok, report.problems
    assert len(report.deployed) == CONCURRENT_BUILDS
