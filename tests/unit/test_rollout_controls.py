# ruff: noqa: F811 - the fixtures `tables` and `invoke` are test_rollout.py's, imported and used by name
"""Freezes, fast rollback, approvals, alarm gates, deployment events and who did what, step by step as the
rollout workflow and the API call them, over moto (the helpers of test_rollout.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.exceptions import ClientError

from code_deploy.deployments import accept as acceptance
from code_deploy.deployments import freeze, signals, workflow
from code_deploy.deployments import model as deployment_model
from code_deploy.deployments import store as deployment_store
from code_deploy.deployments.store import Act, ActionNotAllowed
from code_deploy.deployments.view import deployment_view
from tests.unit.conftest import HOSTS_PER_REGION, REGIONS, STACK
from tests.unit.test_rollout import (  # noqa: F401 - the fixtures, used by name
    NEW,
    OLD,
    OPERATOR,
    StepFunctions,
    accept,
    act,
    finish,
    goals,
    hosts,
    invoke,
    run,
    run_region,
    tables,
)

Status = deployment_model.DeploymentStatus
RELEASE_MANAGER = "arn:aws:iam::123456789012:user/release-manager"


class Recorded:
    """The signals as a test sees them: the alarms it says are firing, the events and metrics published."""

    def __init__(self, firing: tuple[str, ...] = ()):
        self.firing = list(firing)
        self.events: list[dict] = []
        self.failure_rates: list[tuple[str, float]] = []

    def signals(self) -> signals.Signals:
        return signals.Signals(
            alarms_firing=lambda names, regions: [name for name in names if name in self.firing],
            publish=self.events.append,
            wave_failure=lambda region, percent: self.failure_rates.append((region, percent)),
        )

    def kinds(self) -> list[str]:
        return [event["event"] for event in self.events]


# --- fast rollback ------------------------------------------------------------------------------------------


def test_a_rollback_of_a_running_deployment_takes_every_region_back_at_once_skipping_bakes(tables, invoke):
    # Given every host on OLD, and NEW half way through: one region baking an hour after its first wave
    sfn = StepFunctions()
    run(tables, invoke, accept(tables, OLD))
    deployment_id = accept(tables, NEW, waves=[50, 100], bake_seconds=3600)
    workflow.start(tables, deployment_id)
    assert workflow.wave(tables, invoke, deployment_id, REGIONS[0], 0)["next"] == "BAKE"
    workflow.wait(tables, sfn, deployment_id, REGIONS[0], "BAKE", "token-bake")
    # When it is rolled back
    answered = act(tables, sfn, deployment_id, "rollback")
    # Then the answer is ROLLING_BACK (not final), the baking region is woken and rolls back at its next step
    assert (answered.status, answered.status.finished) == (Status.ROLLING_BACK, False)
    assert sfn.woken == ["token-bake"]
    assert workflow.bake(tables, deployment_id, REGIONS[0], 0)["next"] == "ROLLBACK"
    for region in REGIONS:
        run_region(tables, invoke, deployment_id, region)
    deployment = finish(tables, invoke, deployment_id)
    # and it ends ROLLED_BACK, every host on OLD, the request recorded with who asked
    assert (deployment.status, deployment.reason) == (Status.ROLLED_BACK, "rolled back by request")
    assert hosts(tables) == {region: {OLD: HOSTS_PER_REGION} for region in REGIONS}
    assert [(a["action"], a["by"]) for a in deployment.actions] == [("rollback", OPERATOR)]
    assert deployment.history[-2].by == OPERATOR


def test_a_rollback_of_a_deployment_that_succeeded_undoes_it_in_an_execution_of_its_own(tables, invoke):
    # Given NEW deployed everywhere, over OLD
    run(tables, invoke, accept(tables, OLD))
    deployment_id = accept(tables, NEW, waves=[50, 100])
    assert run(tables, invoke, deployment_id).status == Status.SUCCEEDED
    sfn = boto3.client("stepfunctions")
    # When it is rolled back
    answered = act(tables, sfn, deployment_id, "rollback")
    # Then it is ROLLING_BACK at once, and an execution named after it runs its undo from the workflow's end
    assert answered.status == Status.ROLLING_BACK
    executions = sfn.list_executions(stateMachineArn=acceptance_arn())["executions"]
    undo = next(execution for execution in executions if execution["name"] == f"{deployment_id}-rollback")
    assert json.loads(sfn.describe_execution(executionArn=undo["executionArn"])["input"]) == {
        "deploymentId": deployment_id,
        "undo": True,
    }
    # a second request is refused: it is rolling back already
    with pytest.raises(ActionNotAllowed, match="already rolling back"):
        act(tables, sfn, deployment_id, "rollback")
    # and the undo (FinishDeployment, then UndoRegions) takes every region back at once, ROLLED_BACK
    deployment = finish(tables, invoke, deployment_id)
    assert deployment.status == Status.ROLLED_BACK
    assert {rollout.status for rollout in deployment.regions.values()} == {"ROLLED_BACK"}
    assert goals(tables) == {region: OLD for region in REGIONS}
    assert hosts(tables) == {region: {OLD: HOSTS_PER_REGION} for region in REGIONS}


def acceptance_arn() -> str:
    from tests.unit.test_rollout import rollout_arn

    return rollout_arn()


def test_a_rollback_of_a_deployment_that_holds_no_region_any_more_is_refused(tables, invoke):
    first = accept(tables, OLD)
    run(tables, invoke, first)
    run(tables, invoke, accept(tables, NEW))
    with pytest.raises(ActionNotAllowed, match="later deployments took them all"):
        act(tables, StepFunctions(), first, "rollback")


# --- freezes ------------------------------------------------------------------------------------------------


def deploy_through_the_api_path(tables, build: str, requester: acceptance.Requester) -> str:
    """accept.deploy_build's freeze check, then the acceptance (the build's copies are not checked here)."""
    frozen = freeze.current(tables.regions)
    if frozen and not requester.freeze_override:
        raise freeze.Frozen(frozen.refusal())
    return accept(tables, build, requester=requester)


def test_a_freeze_refuses_new_deployments_quoting_its_reason_unless_overridden_and_recorded(tables, invoke):
    run(tables, invoke, accept(tables, OLD))
    frozen = freeze.freeze(tables.regions, "end-of-year freeze", Act(RELEASE_MANAGER, "2026-12-06T00:00:00Z"))
    assert (frozen.scope, frozen.by) == ("*", RELEASE_MANAGER)
    # a deployment through the API path is refused, the message quoting the reason and who froze
    rollouts = acceptance.Rollouts(tables, StepFunctions(), acceptance_arn(), None)  # type: ignore[arg-type]
    spec = deployment_model.spec_from_request(NEW, REGIONS)
    with pytest.raises(freeze.Frozen, match=r'frozen: "end-of-year freeze" \(by .*release-manager'):
        acceptance.deploy_build(rollouts, None, None, spec, requester=acceptance.Requester(by=OPERATOR))  # type: ignore[arg-type]
    # with an override and its reason it is accepted, and both are recorded with who asked
    requester = acceptance.Requester(by=OPERATOR, freeze_override="security fix CVE-2026-1")
    deployment_id = deploy_through_the_api_path(tables, NEW, requester)
    deployment = deployment_store.get(tables.deployments, deployment_id)
    assert deployment.created_by == OPERATOR
    assert deployment.freeze_override is not None
    assert (deployment.freeze_override["reason"], deployment.freeze_override["by"]) == (
        "security fix CVE-2026-1",
        OPERATOR,
    )
    # and it runs through the freeze
    assert run(tables, invoke, deployment_id).status == Status.SUCCEEDED


def test_a_freeze_pauses_running_deployments_at_their_next_step_and_lifting_it_lets_them_go_on(tables, invoke):
    sfn, recorded = StepFunctions(), Recorded()
    run(tables, invoke, accept(tables, OLD))
    deployment_id = accept(tables, NEW, waves=[50, 100])
    workflow.start(tables, deployment_id)
    assert workflow.wave(tables, invoke, deployment_id, REGIONS[0], 0)["next"] == "WAVE"
    # When deployments are frozen
    freeze.freeze(tables.regions, "incident 42", Act(RELEASE_MANAGER, "2026-12-06T00:00:00Z"))
    # Then the deployment pauses at its next step, noted on the freeze, and says so
    step = workflow.wave(tables, invoke, deployment_id, REGIONS[0], 1, recorded.signals())
    assert step["next"] == "PAUSED"
    deployment = deployment_store.get(tables.deployments, deployment_id)
    assert (deployment.status, deployment.reason) == (Status.PAUSED, 'frozen: "incident 42"')
    assert deployment_view(deployment).pausedByFreeze
    assert freeze.read(tables.regions).paused == (deployment_id,)
    assert recorded.kinds() == ["PAUSED"]
    workflow.wait(tables, sfn, deployment_id, REGIONS[0], "PAUSED", "token-frozen")
    # When the freeze is lifted, the deployment resumes and its waiting region is woken
    lifted = freeze.lift(tables, sfn, Act(RELEASE_MANAGER, "2026-12-06T01:00:00Z"))
    assert lifted is not None and freeze.current(tables.regions) is None
    assert sfn.woken == ["token-frozen"]
    deployment = deployment_store.get(tables.deployments, deployment_id)
    assert deployment.status == Status.IN_PROGRESS and (deployment.paused_by_freeze, deployment.reason) == (None, None)
    assert (deployment.history[-1].reason, deployment.history[-1].by) == ("the freeze ended", RELEASE_MANAGER)
    for region in REGIONS:
        run_region(tables, invoke, deployment_id, region)
    assert finish(tables, invoke, deployment_id).status == Status.SUCCEEDED


def test_a_freeze_that_ends_by_itself_lets_the_deployments_it_paused_go_on_at_their_next_look(tables, invoke):
    run(tables, invoke, accept(tables, OLD))
    deployment_id = accept(tables, NEW)
    workflow.start(tables, deployment_id)
    soon = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    freeze.freeze(tables.regions, "release night", Act(RELEASE_MANAGER, "t"), until=soon)
    # the paused region waits until the freeze's end, not a day
    step = workflow.wave(tables, invoke, deployment_id, REGIONS[0], 0)
    assert step["next"] == "PAUSED" and 3590 <= step["waitSeconds"] <= 3600
    # once it has ended, the region's next look resumes the deployment and the wave runs
    later = datetime.now(UTC) + timedelta(hours=2)
    assert freeze.current(tables.regions, now=later) is None
    freeze.freeze(tables.regions, "release night", Act(RELEASE_MANAGER, "t"), until="2020-01-01T00:00:00Z")
    assert workflow.wave(tables, invoke, deployment_id, REGIONS[0], 0)["next"] == "END"
    assert deployment_store.get(tables.deployments, deployment_id).status == Status.IN_PROGRESS


# --- approvals ----------------------------------------------------------------------------------------------


def test_a_wave_that_requires_approval_waits_for_it_and_records_the_approver(tables, invoke):
    sfn = StepFunctions()
    run(tables, invoke, accept(tables, OLD))
    deployment_id = accept(tables, NEW, waves=[10, 100], approval_waves=[2])
    workflow.start(tables, deployment_id)
    assert workflow.wave(tables, invoke, deployment_id, REGIONS[0], 0)["next"] == "WAVE"
    # wave 2 waits for its approval, in one wait of a day at most
    step = workflow.wave(tables, invoke, deployment_id, REGIONS[0], 1)
    assert (step["next"], step["waitSeconds"]) == ("APPROVAL", deployment_model.MAX_BAKE_SECONDS)
    assert deployment_view(deployment_store.get(tables.deployments, deployment_id)).awaitingApproval == 2
    workflow.wait(tables, sfn, deployment_id, REGIONS[0], "APPROVAL", "token-approval")
    assert sfn.woken == []
    # approving wakes it, records who approved which wave, and the wave runs
    approved = act(tables, sfn, deployment_id, "approve", by=RELEASE_MANAGER)
    assert sfn.woken == ["token-approval"]
    assert [(a["action"], a["wave"], a["by"]) for a in approved.actions] == [("approve", 2, RELEASE_MANAGER)]
    assert run_region(tables, invoke, deployment_id, REGIONS[0])[-1] == "END"
    # nothing is left to approve
    with pytest.raises(ActionNotAllowed, match="no wave left to approve"):
        act(tables, sfn, deployment_id, "approve")


def test_approval_waves_must_be_waves_of_the_deployment():
    with pytest.raises(deployment_model.InvalidDeployment, match="approvalRequired"):
        deployment_model.spec_from_request(NEW, REGIONS, waves=[50, 100], approval_waves=[3])


# --- alarm gates --------------------------------------------------------------------------------------------


def test_a_named_alarm_in_alarm_fails_the_first_gate_and_rolls_back_naming_the_alarm(tables, invoke):
    recorded = Recorded(firing=("checkout-5xx",))
    run(tables, invoke, accept(tables, OLD))
    deployment_id = accept(tables, NEW, waves=[50, 100], alarms=["checkout-5xx", "latency"])
    workflow.start(tables, deployment_id, recorded.signals())
    step = workflow.wave(tables, invoke, deployment_id, REGIONS[0], 0, recorded.signals())
    assert step["next"] == "ROLLBACK"
    deployment = deployment_store.get(tables.deployments, deployment_id)
    assert deployment.reason == f"{REGIONS[0]} wave 1: alarm checkout-5xx in ALARM"
    assert recorded.failure_rates == [(REGIONS[0], 0.0)]
    for region in REGIONS:
        run_region(tables, invoke, deployment_id, region)
    assert workflow.finish(tables, deployment_id, recorded.signals())["status"] == "ROLLED_BACK"
    assert recorded.kinds() == ["STARTED", "ROLLED_BACK"]
    assert recorded.events[-1]["reason"].startswith(f"{REGIONS[0]} wave 1: alarm checkout-5xx in ALARM")


def test_an_alarm_during_a_bake_wakes_it_and_with_on_gate_failure_pause_holds_the_deployment(tables, invoke):
    sfn, recorded = StepFunctions(), Recorded()
    run(tables, invoke, accept(tables, OLD))
    deployment_id = accept(tables, NEW, waves=[50, 100], bake_seconds=3600, alarms=["errors"], on_gate_failure="pause")
    workflow.start(tables, deployment_id, recorded.signals())
    assert workflow.wave(tables, invoke, deployment_id, REGIONS[0], 0, recorded.signals())["next"] == "BAKE"
    assert recorded.kinds() == ["STARTED", "WAVE_PASSED"]
    workflow.wait(tables, sfn, deployment_id, REGIONS[0], "BAKE", "token-bake", recorded.signals())
    assert sfn.woken == []
    # When the alarm goes into ALARM, its action wakes the bake waiting under it
    recorded.firing.append("errors")
    assert workflow.waits.wake_for_alarm(sfn, tables.deployments, "errors") == 1
    assert sfn.woken == ["token-bake"]
    # Then the gate fails, and the deployment is held PAUSED, naming the alarm
    step = workflow.bake(tables, deployment_id, REGIONS[0], 0, recorded.signals())
    assert step["next"] == "PAUSED"
    deployment = deployment_store.get(tables.deployments, deployment_id)
    assert (deployment.status, deployment.reason) == (Status.PAUSED, f"{REGIONS[0]} wave 1 bake: alarm errors in ALARM")
    assert recorded.kinds()[-1] == "PAUSED"
    # a resume lets the region past the held gate, to its next wave
    recorded.firing.clear()
    act(tables, sfn, deployment_id, "resume")
    assert workflow.wave(tables, invoke, deployment_id, REGIONS[0], 0, recorded.signals())["next"] == "WAVE"
    assert workflow.wave(tables, invoke, deployment_id, REGIONS[0], 1, recorded.signals())["next"] == "BAKE"


def test_the_signals_over_aws_read_alarms_in_each_region_publish_events_and_the_failure_rate(stack):
    cloudwatch = boto3.client("cloudwatch", region_name=REGIONS[1])
    cloudwatch.put_metric_alarm(
        AlarmName="checkout-5xx",
        Namespace="shop",
        MetricName="5xx",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanThreshold",
    )
    outlets = signals.Outlets(f"arn:aws:sns:us-east-1:123456789012:{STACK}-deployment-events", STACK, "us-east-1")
    aws_signals = signals.from_aws(lambda service, region: boto3.client(service, region_name=region), outlets)
    assert aws_signals.alarms_firing(("checkout-5xx",), REGIONS) == []
    cloudwatch.set_alarm_state(AlarmName="checkout-5xx", StateValue="ALARM", StateReason="test")
    assert aws_signals.alarms_firing(("checkout-5xx", "other"), REGIONS) == ["checkout-5xx"]
    assert signals.unknown_alarms(
        lambda region: boto3.client("cloudwatch", region_name=region), ("checkout-5xx", "nope"), ("us-east-1", *REGIONS)
    ) == ["nope"]
    aws_signals.wave_failure(REGIONS[0], 12.5)
    metrics = boto3.client("cloudwatch").list_metrics(Namespace=STACK)["Metrics"]
    assert {metric["MetricName"] for metric in metrics} == {signals.WAVE_FAILURE_METRIC}
    aws_signals.publish({"schema": 1, "event": "STARTED", "deploymentId": "deploy-x"})


class RefusingStepFunctions(StepFunctions):
    def start_execution(self, **kwargs):
        raise ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "down"}}, "StartExecution")


def test_a_rollback_whose_execution_does_not_start_is_taken_back_and_may_be_retried(tables, invoke):
    run(tables, invoke, accept(tables, OLD))
    deployment_id = accept(tables, NEW)
    assert run(tables, invoke, deployment_id).status == Status.SUCCEEDED
    with pytest.raises(ClientError):
        act(tables, RefusingStepFunctions(), deployment_id, "rollback")
    assert deployment_store.get(tables.deployments, deployment_id).status == Status.SUCCEEDED
    assert act(tables, boto3.client("stepfunctions"), deployment_id, "rollback").status == Status.ROLLING_BACK
