"""A smaller `make load SERVICES=20 DEPLOYMENTS=200`: services' deployments at once, each ending in a final
state, none lost, no host on another service's build, each service's goals its last deployment's."""

from tools.load_services import run

SERVICES, DEPLOYMENTS = 2, 6


def test_services_deploy_at_once_each_to_its_own_hosts(stack_outputs):
    report = run(SERVICES, DEPLOYMENTS, timeout=900)
    print("\n".join(report.lines()))
    assert report.ok, report.problems
    assert report.accepted == len(report.final) == DEPLOYMENTS
