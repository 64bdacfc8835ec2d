"""A smaller `make load`: builds submitted at once each reach every host or are overtaken by a later one
(AutoDeploy: the later deployment wins), none lost, none duplicated, every host on one build at the end."""

from tools.load import run

CONCURRENT_BUILDS = 10


def test_concurrent_builds_all_deploy_once(stack_outputs):
    report = run(CONCURRENT_BUILDS, timeout=600)
    print("\n".join(report.lines()))
    assert report.ok, report.problems
    assert len(report.deployed) + len(report.superseded) == CONCURRENT_BUILDS
    assert report.deployed
