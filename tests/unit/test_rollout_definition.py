"""The rollout workflow's wiring, read from the templates: the waits that nest inside each other."""

from code_deploy import aws
from tests.utils import REPO
from tools.check_asl import load_template

TEMPLATE = load_template(REPO / "template.yaml")
REGIONAL_TEMPLATE = load_template(REPO / "regional.yaml")


def function_timeout(template: dict, function: str) -> int:
    """A function's Timeout, or the template's Globals' when it sets none."""
    properties = template["Resources"][function]["Properties"]
    return int(properties.get("Timeout", template["Globals"]["Function"]["Timeout"]))


def test_each_wait_of_a_wave_outlasts_the_one_inside_it():
    # The deployment step invokes the region's sync and waits for its answer: the client must wait
    # longer than the sync may run (else it gives up on a sync still changing hosts, and the step's
    # retry runs a second one beside it), and the step's Lambda longer than the client waits.
    sync = function_timeout(REGIONAL_TEMPLATE, "RegionalSyncFunction")
    step = function_timeout(TEMPLATE, "DeploymentStepFunction")
    client = aws.SYNC_INVOKE_CONNECT_TIMEOUT_SECONDS + aws.SYNC_INVOKE_READ_TIMEOUT_SECONDS
    assert sync < aws.SYNC_INVOKE_READ_TIMEOUT_SECONDS
    assert client < step, f"the step's Lambda ({step} s) ends before its invoke gives up ({client} s)"
