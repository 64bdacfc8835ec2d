"""The rollout workflow's wiring, read from the templates and its definition: the waits that nest inside
each other, and the definition's states (every task retried and caught, every step's answer routed,
every substitution supplied). The definition is read, never changed here."""

import json
import re

from code_deploy import aws
from tests.utils import REPO, load_handler
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


# --- statemachine/roll_out_deployment.asl.json -------------------------------------------------------------

DEFINITION = json.loads((REPO / "statemachine" / "roll_out_deployment.asl.json").read_text())
# The region's loop answers one of these in `next` (code_deploy.deployments.workflow).
STEP_ANSWERS = {"WAVE", "HOSTS", "BAKE", "PAUSED", "APPROVAL", "ROLLBACK", "END"}


def states_within(states: dict, catchers: tuple[str, ...] = ()):
    """Every state, nested ones too, with the names of the enclosing states that catch its errors."""
    for name, state in states.items():
        yield name, state, catchers
        if "ItemProcessor" in state:
            inner = (*catchers, name) if state.get("Catch") else catchers
            yield from states_within(state["ItemProcessor"]["States"], inner)


STATES = list(states_within(DEFINITION["States"]))
TASKS = {name: (state, catchers) for name, state, catchers in STATES if state["Type"] == "Task"}
CATCH_TARGETS = {catch["Next"] for _, state, _ in STATES for catch in state.get("Catch", [])}


def step_action(task: dict) -> str | None:
    """The deployment step a Lambda task asks for (its payload's `action`)."""
    if task["Resource"] != "arn:aws:states:::lambda:invoke":
        return None
    return task["Arguments"]["Payload"]["action"]


def test_every_task_retries_transient_errors():
    assert len(TASKS) >= 7
    for name, (task, _) in TASKS.items():
        # A callback wait retries its task's failures only: its timeout (the wait's end) is caught, not retried.
        transient = (["States.ALL"], ["States.TaskFailed"])
        retries = [retry for retry in task.get("Retry", []) if retry["ErrorEquals"] in transient]
        assert retries and retries[0]["MaxAttempts"] >= 2, f"{name} does not retry"


def test_every_task_is_caught_by_itself_or_an_enclosing_state():
    # A step that keeps failing must end the deployment FAILED (DeploymentFailed), not leave it running;
    # the failure path itself is exempt (where would it go?).
    uncaught = [
        name
        for name, (task, catchers) in TASKS.items()
        if not task.get("Catch") and not catchers and name not in CATCH_TARGETS
    ]
    assert not uncaught, f"no Catch for {uncaught}"


def test_every_task_that_waits_for_a_regions_sync_has_a_timeout_beyond_its_lambdas():
    # A wave or a rollback waits for the region's sync; the task must give up at some point, but not
    # before the step's Lambda has (or its retry would run beside a step still changing hosts).
    step = function_timeout(TEMPLATE, "DeploymentStepFunction")
    waiting = {name: task for name, (task, _) in TASKS.items() if step_action(task) in ("wave", "rollback")}
    assert set(waiting) == {"Wave", "RollBack", "UndoRegion"}
    for name, task in waiting.items():
        assert task.get("TimeoutSeconds", 0) > step, f"{name}: TimeoutSeconds {task.get('TimeoutSeconds')}"


def test_the_health_gate_goes_somewhere_for_every_answer_of_a_step():
    choices = [(name, state) for name, state, _ in STATES if state["Type"] == "Choice"]
    gate = dict(choices)["HealthGate"]
    routed = {re.search(r"next = '(\w+)'", choice["Condition"]).group(1): choice["Next"] for choice in gate["Choices"]}
    region_states = DEFINITION["States"]["RegionWaves"]["ItemProcessor"]["States"]["Regions"]["ItemProcessor"]
    # END (the region is done) is the default; every other answer has its own branch
    assert set(routed) | {"END"} == STEP_ANSWERS
    assert region_states["States"][gate["Default"]]["Type"] == "Succeed"
    assert routed == {
        "WAVE": "Wave",
        "HOSTS": "AwaitHosts",
        "BAKE": "Waiting",
        "PAUSED": "Waiting",
        "APPROVAL": "Waiting",
        "ROLLBACK": "RollBack",
    }


def test_every_step_the_workflow_asks_for_is_one_the_function_knows():
    steps = load_handler("deployment_step").STEPS
    asked = {step_action(task) for task, _ in TASKS.values()} - {None}
    assert asked <= set(steps), asked - set(steps)


def test_every_substitution_is_one_the_template_supplies():
    placeholders = set(re.findall(r"\$\{(\w+)\}", json.dumps(DEFINITION)))
    supplied = set(TEMPLATE["Resources"]["RolloutStateMachine"]["Properties"]["DefinitionSubstitutions"])
    assert placeholders == supplied
