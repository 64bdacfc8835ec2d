"""Deployments carried out, step by step as the rollout workflow calls them (code_deploy.rollout), over
moto: each region's sync runs in-process in its region, as the workflow's Lambda invokes it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
from botocore.exceptions import ClientError

from code_deploy import aws as host_aws
from code_deploy.builds import store as build_store
from code_deploy.builds.model import BuildStatus
from code_deploy.builds.schema import BuildProgress
from code_deploy.builds.view import build_view
from code_deploy.deployments import accept as acceptance
from code_deploy.deployments import actions, workflow
from code_deploy.deployments import model as deployment_model
from code_deploy.deployments import store as deployment_store
from code_deploy.deployments.store import ActionNotAllowed
from code_deploy.deployments.view import deployment_view
from code_deploy.regions import RegionalBuckets
from tests.unit.conftest import BUCKET_PATTERN, FLEET, HOSTS_PER_REGION, REGIONS, STACK

OLD, NEW, THIRD = (f"build-20261122T000000Z-0000000{n}" for n in (1, 2, 3))
BUILT_OLD = build_store.BuildRecord(OLD, "0" * 40, BuildStatus.SUCCEEDED, "t0", ())


class StepFunctions:
    """The workflow's Step Functions as the waits see it: SendTaskSuccess on a token, which answers
    TaskTimedOut for a token already used (its task closed); the rest is moto's."""

    def __init__(self):
        self.client = boto3.client("stepfunctions")
        self.woken: list[str] = []

    def send_task_success(self, taskToken: str, output: str) -> dict:  # noqa: N803
        if taskToken in self.woken:
            raise ClientError({"Error": {"Code": "TaskTimedOut", "Message": "closed"}}, "SendTaskSuccess")
        self.woken.append(taskToken)
        return {}

    def __getattr__(self, name: str):
        return getattr(self.client, name)


@pytest.fixture
def tables(stack) -> deployment_store.Tables:
    for region in REGIONS:
        for build in (OLD, NEW, THIRD):
            boto3.client("s3", region_name=region).put_object(
                Bucket=stack.regional_bucket(region), Key=f"builds/{build}.zip", Body=b"x" * 4096
            )
    return deployment_store.Tables.of(
        boto3.resource("dynamodb"), f"{STACK}-deployments", f"{STACK}-regions", stack.builds_table
    )


@pytest.fixture
def invoke(regional_syncs):
    """Each region's sync, in its region."""
    return regional_syncs


OPERATOR = "arn:aws:iam::123456789012:user/operator"


def rollout_arn() -> str:
    machines = boto3.client("stepfunctions").list_state_machines()["stateMachines"]
    return next(machine["stateMachineArn"] for machine in machines if machine["name"].endswith("-roll-out"))


def accept(tables: deployment_store.Tables, build: str, sfn=None, requester=None, **request) -> str:
    spec = deployment_model.spec_from_request(build, REGIONS, **request)
    artifact = build_store.ArtifactLocation("global", f"builds/{build}.zip", "", 4096, 0)
    rollouts = acceptance.Rollouts(tables, sfn or boto3.client("stepfunctions"), rollout_arn(), FLEET)
    return acceptance.create_deployment(rollouts, spec, artifact, requester=requester).deployment_id


def act(tables, sfn, deployment_id: str, action: str, by: str | None = OPERATOR) -> deployment_store.Deployment:
    """An operator's action, as the API takes it."""
    return actions.act(tables, actions.RolloutWorkflow(sfn, rollout_arn()), deployment_id, action, by)


def run_region(tables, invoke, deployment_id: str, region: str, max_steps: int = 50) -> list[str]:
    """The rollout workflow's loop for one region (statemachine/roll_out_deployment.asl.json), without the waits."""
    steps, step = [], workflow.wave(tables, invoke, deployment_id, region, 0)
    for _ in range(max_steps):
        steps.append(step["next"])
        if step["next"] == "END":
            return steps
        if step["next"] in ("WAVE", "PAUSED"):
            step = workflow.wave(tables, invoke, deployment_id, region, step["wave"])
        elif step["next"] == "BAKE":
            step = workflow.bake(tables, deployment_id, region, step["wave"])
        elif step["next"] == "ROLLBACK":
            step = workflow.roll_back(tables, invoke, deployment_id, region)
    raise AssertionError(f"{region} did not end: {steps}")


def finish(tables, invoke, deployment_id: str) -> deployment_store.Deployment:
    """The workflow's end: the regions a stopped deployment must still undo roll back, then it ends."""
    for _ in range(5):
        answer = workflow.finish(tables, deployment_id)
        if answer.get("next") != "UNDO":
            return deployment_store.get(tables.deployments, deployment_id)
        for region in answer["regions"]:
            try:
                workflow.roll_back(tables, invoke, deployment_id, region)
            except Exception as error:  # the workflow's Catch: the undo is best-effort, region by region
                workflow.rollback_failed(tables, deployment_id, region, type(error).__name__, str(error))
    raise AssertionError(f"{deployment_id} did not end")


def run(tables, invoke, deployment_id: str) -> deployment_store.Deployment:
    start = workflow.start(tables, deployment_id)
    for region_wave in start["regionWaves"]:
        for region in region_wave:
            run_region(tables, invoke, deployment_id, region)
    return finish(tables, invoke, deployment_id)


def hosts(tables) -> dict[str, dict[str, int]]:
    goals = deployment_store.get_region_goals(tables.regions, REGIONS)
    return {region: goal.hosts_by_build for region, goal in goals.items()}


def test_a_deployment_in_waves_reaches_every_host(tables, invoke):
    deployment = run(tables, invoke, accept(tables, NEW, waves=[10, 50, 100]))
    assert deployment.status == deployment_model.DeploymentStatus.SUCCEEDED
    for region in REGIONS:
        region_rollout = deployment.regions[region]
        assert (region_rollout.status, region_rollout.wave, region_rollout.hosts_updated) == ("SUCCEEDED", 3, 200)
        assert len(region_rollout.seconds_by_wave) == 3
    assert hosts(tables) == {region: {NEW: HOSTS_PER_REGION} for region in REGIONS}
    # and the build's summary per region, as GET /builds/{id} reads it
    assert build_store.get_rollout_summaries(tables.builds, NEW)[REGIONS[0]].hosts_deployed == HOSTS_PER_REGION


def test_a_failing_wave_rolls_the_region_back_by_activation_alone_and_skips_later_region_waves(tables, invoke):
    run(tables, invoke, accept(tables, OLD))
    deployment_id = accept(
        tables,
        NEW,
        waves=[50, 100],
        region_waves=[[REGIONS[0]], list(REGIONS[1:])],
        simulation=deployment_model.Simulation(60, seed=3),
    )
    deployment = run(tables, invoke, deployment_id)
    assert deployment.status == deployment_model.DeploymentStatus.ROLLED_BACK
    assert deployment.reason.startswith(f"{REGIONS[0]} wave 1: ") and "> 5% allowed" in deployment.reason
    assert [deployment.regions[region].status for region in REGIONS] == ["ROLLED_BACK", "SKIPPED", "SKIPPED"]
    assert hosts(tables) == {region: {OLD: HOSTS_PER_REGION} for region in REGIONS}
    # and every region's goal is the older build again, those it never reached too
    goals = deployment_store.get_region_goals(tables.regions, REGIONS)
    assert {goal.goal_build_id for goal in goals.values()} == {OLD}


def test_the_later_deployment_wins_a_region(tables, invoke):
    first = accept(tables, OLD, waves=[50, 100])
    workflow.start(tables, first)
    assert workflow.wave(tables, invoke, first, REGIONS[0], 0)["next"] == "WAVE"  # half its hosts
    second = accept(tables, NEW)
    # the first sees the region taken at its next step, and ends SUPERSEDED there
    assert workflow.wave(tables, invoke, first, REGIONS[0], 1)["next"] == "END"
    for region in REGIONS[1:]:
        run_region(tables, invoke, first, region)
    workflow.finish(tables, first)
    assert deployment_store.get(tables.deployments, first).status == deployment_model.DeploymentStatus.SUPERSEDED
    # and the overtaken build says by which build, where (GET /builds/{id}: deploymentStatus SUPERSEDED)
    assert build_store.get_rollout_summaries(tables.builds, OLD)[REGIONS[0]].superseded_by == NEW
    assert run(tables, invoke, second).status == deployment_model.DeploymentStatus.SUCCEEDED
    assert hosts(tables) == {region: {NEW: HOSTS_PER_REGION} for region in REGIONS}


@pytest.fixture
def serializable_transactions(tables):
    """DynamoDB runs transactions on the same items one after the other (serializable); moto does not
    (two threads may both pass their conditions before either writes), so its transactions take a lock."""
    lock = threading.Lock()

    def take(**_) -> None:  # (a before-call handler's answer other than None would stand in for the response)
        lock.acquire()

    def give_back(**_) -> None:
        lock.release()

    events = tables.dynamodb_client.meta.events
    events.register("before-call.dynamodb.TransactWriteItems", take)
    for done in ("after-call", "after-call-error"):
        events.register(f"{done}.dynamodb.TransactWriteItems", give_back)


def at_once[Result](work: Callable[[str], Result], names: list[str]) -> list[Result]:
    """work(name) for each name, each in its own thread, released together."""
    start = threading.Barrier(len(names))

    def released(name: str) -> Result:
        start.wait()
        return work(name)

    with ThreadPoolExecutor(max_workers=len(names)) as pool:
        return list(pool.map(released, names))


def test_two_acceptances_from_the_same_read_cannot_both_win(tables, serializable_transactions):
    # Given two deployments built from one read of the regions' goals
    spec = deployment_model.spec_from_request(NEW, REGIONS)
    goals = deployment_store.get_region_goals(tables.regions, REGIONS)

    def candidate(deployment_id: str) -> deployment_store.Deployment:
        return deployment_store.Deployment(
            deployment_id,
            NEW,
            "k",
            1,
            spec,
            deployment_model.DeploymentStatus.QUEUED,
            "api",
            "t",
            "t",
            0.0,
            (),
            regions={
                r: deployment_store.RegionRollout(r, deployment_model.RegionRolloutStatus.PENDING, 0, None, 200, 1, 0.0)
                for r in REGIONS
            },
        )

    def accepted(deployment_id: str) -> bool:
        try:
            deployment_store.accept(
                tables.dynamodb_client,
                tables.deployments.name,
                tables.regions.name,
                candidate(deployment_id),
                goals,
                "t",
            )
            return True
        except deployment_store.GoalChanged:
            return False

    # When both commit at once
    outcomes = dict(zip(["a", "b"], at_once(accepted, ["a", "b"]), strict=True))
    # Then one wins every region, and the other is told its read is stale
    assert sorted(outcomes.values()) == [False, True]
    [winner] = [deployment_id for deployment_id, won in outcomes.items() if won]
    goals = deployment_store.get_region_goals(tables.regions, REGIONS)
    assert {goal.goal_deployment_id for goal in goals.values()} == {winner}


def test_of_two_deployments_accepted_at_once_the_later_wins_every_region(tables, serializable_transactions):
    # When two deployments are accepted at once, each reading the goals itself
    both = at_once(lambda build: accept(tables, build), [OLD, NEW])
    # Then both are accepted, one after the other in every region: the later holds every region's goal
    seqs = {
        deployment_id: {
            rollout.seq for rollout in deployment_store.get(tables.deployments, deployment_id).regions.values()
        }
        for deployment_id in both
    }
    assert sorted(seqs.values(), key=min) == [{1}, {2}]
    later = next(deployment_id for deployment_id, seq in seqs.items() if seq == {2})
    goals = deployment_store.get_region_goals(tables.regions, REGIONS)
    assert {goal.goal_deployment_id for goal in goals.values()} == {later}


def test_pause_resume_promote_and_abort_apply_only_where_they_can(tables, invoke):
    run(tables, invoke, accept(tables, OLD))
    deployment_id = accept(tables, NEW, waves=[50, 100], bake_seconds=600)
    workflow.start(tables, deployment_id)
    assert act(tables, StepFunctions(), deployment_id, "pause").status == deployment_model.DeploymentStatus.PAUSED
    assert workflow.wave(tables, invoke, deployment_id, REGIONS[0], 0)["next"] == "PAUSED"
    with pytest.raises(ActionNotAllowed, match="PAUSED"):
        act(tables, StepFunctions(), deployment_id, "pause")
    assert act(tables, StepFunctions(), deployment_id, "resume").status == deployment_model.DeploymentStatus.IN_PROGRESS
    assert workflow.wave(tables, invoke, deployment_id, REGIONS[0], 0)["next"] == "BAKE"
    assert workflow.bake(tables, deployment_id, REGIONS[0], 0)["next"] == "BAKE"  # 600 s to go
    act(tables, StepFunctions(), deployment_id, "promote")
    assert workflow.bake(tables, deployment_id, REGIONS[0], 0)["next"] == "WAVE"  # promoted: no more bakes
    act(tables, StepFunctions(), deployment_id, "abort")
    assert workflow.wave(tables, invoke, deployment_id, REGIONS[0], 1)["next"] == "ROLLBACK"
    workflow.roll_back(tables, invoke, deployment_id, REGIONS[0])
    # a step retried after the region ended changes nothing (no second rollback, no second notice)
    assert workflow.wave(tables, invoke, deployment_id, REGIONS[0], 1)["next"] == "END"
    for region in REGIONS[1:]:
        run_region(tables, invoke, deployment_id, region)
    workflow.finish(tables, deployment_id)
    deployment = deployment_store.get(tables.deployments, deployment_id)
    assert (deployment.status, deployment.reason) == (deployment_model.DeploymentStatus.ABORTED, "aborted by request")
    assert hosts(tables) == {region: {OLD: HOSTS_PER_REGION} for region in REGIONS}
    for action in ("pause", "resume", "promote", "abort"):
        with pytest.raises(ActionNotAllowed):
            act(tables, StepFunctions(), deployment_id, action)


def test_a_region_whose_hosts_a_later_deployment_took_during_the_wave_ends_superseded(tables, invoke):
    # Given a deployment of OLD whose wave in the last region finds every host there already taken by a
    # later deployment of NEW (accepted and rolled out there while OLD's wave was on its way)
    first = accept(tables, OLD)
    workflow.start(tables, first)
    taken = REGIONS[-1]
    later: list[str] = []

    def later_deployment_first(region: str, request: dict) -> dict:
        if region == taken and request["deploymentId"] == first and not later:
            later.append(accept(tables, NEW, regions=[taken]))
            workflow.start(tables, later[0])
            run_region(tables, invoke, later[0], taken)
        return invoke(region, request)

    # When the first deployment runs to its end
    for region in REGIONS:
        run_region(tables, later_deployment_first, first, region)
    workflow.finish(tables, first)

    # Then the region is SUPERSEDED by the later build, and so are the deployment and the build
    deployment = deployment_store.get(tables.deployments, first)
    assert deployment.regions[taken].status == deployment_model.RegionRolloutStatus.SUPERSEDED
    assert deployment.regions[taken].hosts_updated == 0
    assert deployment.status == deployment_model.DeploymentStatus.SUPERSEDED
    summaries = build_store.get_rollout_summaries(tables.builds, OLD)
    assert (summaries[taken].hosts_deployed, summaries[taken].superseded_by) == (0, NEW)
    view = build_view(BUILT_OLD, summaries, None, RegionalBuckets(REGIONS, BUCKET_PATTERN), HOSTS_PER_REGION)
    assert view.deploymentStatus == BuildProgress.SUPERSEDED
    assert [region.supersededBy for region in view.regions] == [None, None, NEW]


def test_a_bake_step_retried_after_its_region_ended_changes_nothing(tables, invoke):
    # Given a region that baked after its first wave, then was aborted and rolled back
    run(tables, invoke, accept(tables, OLD))
    deployment_id = accept(tables, NEW, waves=[50, 100], bake_seconds=600)
    workflow.start(tables, deployment_id)
    assert workflow.wave(tables, invoke, deployment_id, REGIONS[0], 0)["next"] == "BAKE"
    act(tables, StepFunctions(), deployment_id, "abort")
    assert workflow.bake(tables, deployment_id, REGIONS[0], 0)["next"] == "ROLLBACK"
    workflow.roll_back(tables, invoke, deployment_id, REGIONS[0])
    ended = deployment_store.get(tables.deployments, deployment_id).regions[REGIONS[0]]
    # When the workflow retries the bake step
    step = workflow.bake(tables, deployment_id, REGIONS[0], 0)
    # Then it ends there: no second rollback, and the region's record is as the rollback left it
    assert step["next"] == "END"
    assert deployment_store.get(tables.deployments, deployment_id).regions[REGIONS[0]] == ended


def test_a_wave_step_retried_after_its_sync_ran_answers_the_same_gate(tables, invoke):
    # Given a wave whose 5 failing hosts of 200 (2.5%) pass the 5% gate, and a first attempt of its step
    # that dies once the region's sync has switched the hosts (its Lambda timed out, say)
    deployment_id = accept(tables, NEW, regions=[REGIONS[0]], simulation=deployment_model.Simulation(2.5, seed=1))
    workflow.start(tables, deployment_id)
    answers = []

    def dies_after_the_first_sync(region: str, request: dict) -> dict:
        answers.append(invoke(region, request))
        if len(answers) == 1:
            raise TimeoutError("the step's Lambda timed out")
        return answers[-1]

    with pytest.raises(TimeoutError):
        workflow.wave(tables, dies_after_the_first_sync, deployment_id, REGIONS[0], 0)
    # When the workflow retries the step
    step = workflow.wave(tables, dies_after_the_first_sync, deployment_id, REGIONS[0], 0)
    # Then the retry's sync answers what the first did: the same hosts tried, the same 5 failed, the gate passed
    assert [(answer["updated"], answer["failed"]) for answer in answers] == [(195, 5), (195, 5)]
    assert step["next"] == "END"
    deployment = deployment_store.get(tables.deployments, deployment_id)
    assert (deployment.stop, deployment.regions[REGIONS[0]].failed_by_wave) == (None, (5,))
    assert answers[1]["modelSeconds"] == answers[0]["modelSeconds"] > 0


def test_the_plan_and_the_deployment_split_waves_alike_where_some_hosts_already_run_the_build(tables, invoke):
    # Given the old build everywhere, then the new one on half of one region's hosts (the first wave of a
    # deployment of it that went no further)
    run(tables, invoke, accept(tables, OLD))
    first = accept(tables, NEW, waves=[50, 100])
    workflow.start(tables, first)
    workflow.wave(tables, invoke, first, REGIONS[0], 0)
    # When the new build is planned, then deployed, in three waves
    spec = deployment_model.spec_from_request(NEW, REGIONS, waves=[10, 50, 100])
    goals = deployment_store.get_region_goals(tables.regions, REGIONS)
    predicted = acceptance.plan_from_goals(spec, goals, FLEET, 4096)
    updated: dict[str, list[int]] = {region: [] for region in REGIONS}

    def counting(region: str, request: dict) -> dict:
        answer = invoke(region, request)
        updated[region].append(answer["updated"])
        return answer

    assert run(tables, counting, accept(tables, NEW, waves=[10, 50, 100])).status == "SUCCEEDED"
    # Then each wave updated as many hosts as the plan said: of the 100 hosts not on the build yet in the
    # first region, 10%, then up to 50%, then the rest; elsewhere the same share of all 200
    assert [wave.hosts for wave in predicted.regions[REGIONS[0]].waves] == [10, 40, 50]
    for region in REGIONS:
        assert updated[region] == [wave.hosts for wave in predicted.regions[region].waves], region
    assert hosts(tables) == {region: {NEW: HOSTS_PER_REGION} for region in REGIONS}


def test_the_plans_rollback_time_is_the_time_the_rollback_takes(tables, invoke):
    # Given one region's hosts: 80 on the build a rollback would return to (the goal a deployment of it
    # left, after its first wave), the other 120 on an older build
    run(tables, invoke, accept(tables, OLD))
    third = accept(tables, THIRD, regions=[REGIONS[0]], waves=[40, 100])
    workflow.start(tables, third)
    workflow.wave(tables, invoke, third, REGIONS[0], 0)
    # When a deployment of the new build is planned, then carried out and aborted while it bakes
    spec = deployment_model.spec_from_request(NEW, REGIONS, regions=[REGIONS[0]])
    goals = deployment_store.get_region_goals(tables.regions, spec.regions)
    predicted = acceptance.plan_from_goals(spec, goals, FLEET, 4096).regions[REGIONS[0]].rollback_seconds
    deployment_id = accept(tables, NEW, regions=[REGIONS[0]], bake_seconds=600)
    workflow.start(tables, deployment_id)
    assert workflow.wave(tables, invoke, deployment_id, REGIONS[0], 0)["next"] == "BAKE"
    act(tables, StepFunctions(), deployment_id, "abort")
    assert workflow.bake(tables, deployment_id, REGIONS[0], 0)["next"] == "ROLLBACK"
    workflow.roll_back(tables, invoke, deployment_id, REGIONS[0])
    # Then the rollback took the time the plan said: the 80 hosts switched back from their cache, the
    # 120 others fetched the build (the swarm, served by the 80)
    assert hosts(tables)[REGIONS[0]] == {THIRD: HOSTS_PER_REGION}
    rollout = deployment_store.get(tables.deployments, deployment_id).regions[REGIONS[0]]
    assert rollout.rollback_model_seconds == pytest.approx(predicted, abs=1e-6)


def goals(tables) -> dict[str, str | None]:
    return {
        region: goal.goal_build_id
        for region, goal in deployment_store.get_region_goals(tables.regions, REGIONS).items()
    }


def new_half_way_through_the_second_region_wave(tables, invoke) -> str:
    """Every host on OLD, then NEW deployed one region wave after the other, in two waves a region: its first
    region wave done, its second's first region through its first wave. NEW's deployment id."""
    run(tables, invoke, accept(tables, OLD))
    deployment_id = accept(tables, NEW, waves=[50, 100], region_waves=[[REGIONS[0]], list(REGIONS[1:])])
    workflow.start(tables, deployment_id)
    run_region(tables, invoke, deployment_id, REGIONS[0])
    assert workflow.wave(tables, invoke, deployment_id, REGIONS[1], 0)["next"] == "WAVE"
    return deployment_id


def test_abort_undoes_every_region_the_deployment_changed_those_that_finished_too(tables, invoke):
    # Given every host on OLD, and NEW deploying one region wave after the other: its first region wave done
    # (SUCCEEDED), the second half way through its first region
    deployment_id = new_half_way_through_the_second_region_wave(tables, invoke)
    # When it is aborted
    aborted = act(tables, StepFunctions(), deployment_id, "abort")
    # Then the answer shows it rolling back (not final: a client waiting for the end waits for the undo)
    assert aborted.status == deployment_model.DeploymentStatus.ROLLING_BACK
    assert not aborted.status.finished
    for region in REGIONS[1:]:
        run_region(tables, invoke, deployment_id, region)
    deployment = finish(tables, invoke, deployment_id)
    # and it ends ABORTED with every region it changed back on OLD, the one that had finished too
    assert (deployment.status, deployment.reason) == (deployment_model.DeploymentStatus.ABORTED, "aborted by request")
    assert [deployment.regions[region].status for region in REGIONS] == ["ABORTED", "ABORTED", "SKIPPED"]
    assert hosts(tables) == {region: {OLD: HOSTS_PER_REGION} for region in REGIONS}
    assert goals(tables) == {region: OLD for region in REGIONS}


def test_an_abort_that_lands_as_the_deployment_finishes_still_undoes_it(tables, invoke, monkeypatch):
    run(tables, invoke, accept(tables, OLD))
    deployment_id = accept(tables, NEW)
    workflow.start(tables, deployment_id)
    for region in REGIONS:
        run_region(tables, invoke, deployment_id, region)
    # Given the abort accepted between the end's read of the deployment (every region SUCCEEDED) and its write
    read = deployment_store.get

    def read_then_abort(table, read_id):
        deployment = read(table, read_id)
        monkeypatch.setattr(deployment_store, "get", read)
        assert (
            act(tables, StepFunctions(), deployment_id, "abort").status
            == deployment_model.DeploymentStatus.ROLLING_BACK
        )
        return deployment

    monkeypatch.setattr(deployment_store, "get", read_then_abort)
    deployment = finish(tables, invoke, deployment_id)
    # Then the abort wins: it ends ABORTED, every region back on OLD
    assert deployment.status == deployment_model.DeploymentStatus.ABORTED
    assert hosts(tables) == {region: {OLD: HOSTS_PER_REGION} for region in REGIONS}
    assert goals(tables) == {region: OLD for region in REGIONS}


def test_abort_leaves_a_region_a_later_deployment_took(tables, invoke):
    run(tables, invoke, accept(tables, OLD))
    first = accept(tables, NEW, regions=[REGIONS[0]])
    workflow.start(tables, first)
    run_region(tables, invoke, first, REGIONS[0])  # SUCCEEDED there
    later = accept(tables, OLD, regions=[REGIONS[0]])  # a later deployment takes the region
    act(tables, StepFunctions(), first, "abort")
    deployment = finish(tables, invoke, first)
    assert deployment.status == deployment_model.DeploymentStatus.ABORTED
    # the later deployment's goal stands, and the aborted one changed nothing more there
    assert deployment_store.get_region_goals(tables.regions, (REGIONS[0],))[REGIONS[0]].goal_deployment_id == later
    assert deployment.regions[REGIONS[0]].status == deployment_model.RegionRolloutStatus.SUCCEEDED


def test_a_deployment_whose_workflow_fails_leaves_every_region_it_touched_on_its_previous_goal(tables, invoke):
    # Given every host on OLD, and NEW's first region wave done, the second half way through one region
    deployment_id = new_half_way_through_the_second_region_wave(tables, invoke)
    assert hosts(tables)[REGIONS[1]] == {OLD: HOSTS_PER_REGION // 2, NEW: HOSTS_PER_REGION // 2}
    # When a step keeps failing: the workflow's Catch hands its error to the fail step, then ends it
    workflow.fail(tables, deployment_id, "States.TaskFailed", "the sync kept timing out")
    deployment = finish(tables, invoke, deployment_id)
    # Then it is FAILED, and every region it touched is back on its previous goal, hosts and goal, and says so
    assert deployment.status == deployment_model.DeploymentStatus.FAILED
    assert deployment.reason == (
        "the rollout workflow failed: States.TaskFailed: the sync kept timing out; "
        f"back on the previous goal: {', '.join(REGIONS)}"
    )
    assert [deployment.regions[region].status for region in REGIONS] == ["ROLLED_BACK", "ROLLED_BACK", "SKIPPED"]
    assert hosts(tables) == {region: {OLD: HOSTS_PER_REGION} for region in REGIONS}
    assert goals(tables) == {region: OLD for region in REGIONS}


def test_a_region_whose_rollback_fails_too_says_so_and_the_others_go_back(tables, invoke):
    run(tables, invoke, accept(tables, OLD))
    deployment_id = accept(tables, NEW, waves=[50, 100])
    workflow.start(tables, deployment_id)
    for region in REGIONS:
        assert workflow.wave(tables, invoke, deployment_id, region, 0)["next"] == "WAVE"

    def sync_down_in_one_region(region: str, request: dict) -> dict:
        if region == REGIONS[1]:
            raise host_aws.FunctionFailed(f"{region}'s sync failed: Runtime.HandlerError: no hosts' table")
        return invoke(region, request)

    workflow.fail(tables, deployment_id, "States.TaskFailed", "the sync kept failing")
    deployment = finish(tables, sync_down_in_one_region, deployment_id)
    assert deployment.status == deployment_model.DeploymentStatus.FAILED
    assert f"back on the previous goal: {REGIONS[0]}, {REGIONS[2]}" in deployment.reason
    assert f"{REGIONS[1]}: its rollback failed too (FunctionFailed: " in deployment.reason
    assert deployment.regions[REGIONS[1]].status == deployment_model.RegionRolloutStatus.ROLLBACK_FAILED
    # its goal goes back all the same (its hosts follow when its sync can), the other regions' hosts too
    assert goals(tables) == {region: OLD for region in REGIONS}
    assert {region: hosts(tables)[region] for region in (REGIONS[0], REGIONS[2])} == {
        region: {OLD: HOSTS_PER_REGION} for region in (REGIONS[0], REGIONS[2])
    }


def test_a_failed_deployment_leaves_a_region_a_later_deployment_took(tables, invoke):
    first = accept(tables, NEW, regions=[REGIONS[0]], waves=[50, 100])
    workflow.start(tables, first)
    workflow.wave(tables, invoke, first, REGIONS[0], 0)
    later = accept(tables, OLD, regions=[REGIONS[0]])
    workflow.fail(tables, first, "States.TaskFailed", "boom")
    deployment = finish(tables, invoke, first)
    assert deployment.status == deployment_model.DeploymentStatus.FAILED
    assert deployment.reason == f"the rollout workflow failed: States.TaskFailed: boom; {REGIONS[0]}: taken by {later}"
    assert deployment_store.get_region_goals(tables.regions, (REGIONS[0],))[REGIONS[0]].goal_deployment_id == later


# --- long waits: one wait each, woken when something happens ----------------------------------------------


def test_a_bake_is_one_wait_until_its_end_and_a_pause_one_wait_of_a_day(tables, invoke):
    run(tables, invoke, accept(tables, OLD))
    deployment_id = accept(tables, NEW, waves=[50, 100], bake_seconds=3600)
    workflow.start(tables, deployment_id)
    # a bake of an hour is one wait of an hour (woken sooner by promote, abort or a later deployment)
    assert workflow.wave(tables, invoke, deployment_id, REGIONS[0], 0)["waitSeconds"] == 3600
    assert 3598 <= workflow.bake(tables, deployment_id, REGIONS[0], 0)["waitSeconds"] <= 3600
    # and a paused region waits a day at most (woken sooner by resume, promote, abort or a later deployment)
    act(tables, StepFunctions(), deployment_id, "pause")
    step = workflow.wave(tables, invoke, deployment_id, REGIONS[1], 0)
    assert (step["next"], step["waitSeconds"]) == ("PAUSED", deployment_model.MAX_BAKE_SECONDS)


def new_started_with_an_hours_bake(tables, invoke) -> str:
    """Every host on OLD, then NEW's rollout started: two waves a region, an hour's bake after each."""
    run(tables, invoke, accept(tables, OLD))
    deployment_id = accept(tables, NEW, waves=[50, 100], bake_seconds=3600)
    workflow.start(tables, deployment_id)
    return deployment_id


def test_the_operators_actions_wake_the_waiting_regions(tables, invoke):
    sfn = StepFunctions()
    deployment_id = new_started_with_an_hours_bake(tables, invoke)
    # Given a region baking and another paused, each waiting on its task token
    assert workflow.wave(tables, invoke, deployment_id, REGIONS[0], 0)["next"] == "BAKE"
    workflow.wait(tables, sfn, deployment_id, REGIONS[0], "BAKE", "token-bake")
    act(tables, sfn, deployment_id, "pause")
    assert workflow.wave(tables, invoke, deployment_id, REGIONS[1], 0)["next"] == "PAUSED"
    workflow.wait(tables, sfn, deployment_id, REGIONS[1], "PAUSED", "token-pause")
    assert sfn.woken == []  # pausing wakes no one: bakes go on
    # When the deployment is resumed, then promoted: each wakes every waiting region, once
    act(tables, sfn, deployment_id, "resume")
    assert sorted(sfn.woken) == ["token-bake", "token-pause"]
    act(tables, sfn, deployment_id, "promote")  # the tokens are used: SendTaskSuccess refused, ignored
    assert sorted(sfn.woken) == ["token-bake", "token-pause"]
    # and the woken regions go on at once
    assert workflow.bake(tables, deployment_id, REGIONS[0], 0)["next"] == "WAVE"
    assert workflow.wave(tables, invoke, deployment_id, REGIONS[1], 0)["next"] == "WAVE"
    # abort wakes a region waiting again
    workflow.wait(tables, sfn, deployment_id, REGIONS[2], "PAUSED", "token-late")
    act(tables, sfn, deployment_id, "abort")
    assert "token-late" in sfn.woken


def test_a_wait_that_begins_after_what_it_waits_for_happened_wakes_itself(tables, invoke):
    sfn = StepFunctions()
    deployment_id = new_started_with_an_hours_bake(tables, invoke)
    act(tables, sfn, deployment_id, "pause")
    assert workflow.wave(tables, invoke, deployment_id, REGIONS[0], 0)["next"] == "PAUSED"
    # the resume lands before the paused region's wait stored its token: nothing to wake then
    act(tables, sfn, deployment_id, "resume")
    assert sfn.woken == []
    # so the wait, seeing it is not paused any more, wakes itself rather than wait a day
    workflow.wait(tables, sfn, deployment_id, REGIONS[0], "PAUSED", "token-1")
    assert sfn.woken == ["token-1"]
    # and a bake that is promoted before its wait begins ends at once too
    assert workflow.wave(tables, invoke, deployment_id, REGIONS[0], 0)["next"] == "BAKE"
    act(tables, sfn, deployment_id, "promote")
    workflow.wait(tables, sfn, deployment_id, REGIONS[0], "BAKE", "token-2")
    assert sfn.woken == ["token-1", "token-2"]


def test_a_later_deployment_wakes_the_one_it_takes_a_region_from(tables, invoke):
    sfn = StepFunctions()
    first = new_started_with_an_hours_bake(tables, invoke)
    assert workflow.wave(tables, invoke, first, REGIONS[0], 0)["next"] == "BAKE"
    workflow.wait(tables, sfn, first, REGIONS[0], "BAKE", "token-first")
    # When a later deployment takes the region
    accept(tables, OLD, regions=[REGIONS[0]], sfn=sfn)
    # Then the waiting one is woken, and ends SUPERSEDED there at once instead of baking an hour
    assert sfn.woken == ["token-first"]
    assert workflow.bake(tables, first, REGIONS[0], 0)["next"] == "END"
    assert deployment_store.get(tables.deployments, first).regions[REGIONS[0]].status == "SUPERSEDED"


def test_an_undo_that_fails_as_a_whole_ends_the_deployment_failed_naming_the_regions_not_back(tables, invoke):
    run(tables, invoke, accept(tables, OLD))
    deployment_id = accept(tables, NEW, waves=[50, 100])
    workflow.start(tables, deployment_id)
    for region in REGIONS:
        workflow.wave(tables, invoke, deployment_id, region, 0)
    workflow.fail(tables, deployment_id, "States.TaskFailed", "the sync kept failing")
    assert workflow.finish(tables, deployment_id)["next"] == "UNDO"
    workflow.roll_back(tables, invoke, deployment_id, REGIONS[0])
    # When the undo's Map fails as a whole (the workflow's Catch hands its error to the fail step, undoing)
    assert workflow.fail(tables, deployment_id, "States.Runtime", "no notification", undoing=True)["status"] == "FAILED"
    deployment = deployment_store.get(tables.deployments, deployment_id)
    assert deployment.status == deployment_model.DeploymentStatus.FAILED
    assert deployment.reason == (
        "the rollout workflow failed: States.TaskFailed: the sync kept failing; "
        f"back on the previous goal: {REGIONS[0]}; "
        f"{REGIONS[1]}: not rolled back (IN_PROGRESS); {REGIONS[2]}: not rolled back (IN_PROGRESS); "
        "then its undo failed too: States.Runtime: no notification"
    )


def with_real_hosts(invoke, counted: dict[str, int], complete: bool = False):
    """The region's sync as the workflow sees it with two real hosts in a group: a rollback steers them
    (one tally), their wait is not over yet (unless `complete`), and counting finds `counted`."""
    asked: list[str] = []

    def call(region: str, request: dict) -> dict:
        asked.append(request["action"])
        if request["action"] == "await_hosts":
            return {"complete": complete}
        if request["action"] == "count_hosts":
            return {"expected": 2, "lost": [], **counted}
        answer = invoke(region, request)
        if request["action"] == "rollback":
            answer["realHosts"] = [{"group": "web", "waveId": "rollback-wave", "expected": 2, "lost": []}]
        return answer

    call.asked = asked
    return call


def failing_deployment(tables, invoke) -> str:
    """NEW failing on most of its hosts in the first region after OLD went everywhere: the gate stops it."""
    run(tables, invoke, accept(tables, OLD))
    deployment_id = accept(tables, NEW, simulation=deployment_model.Simulation(60, seed=3))
    workflow.start(tables, deployment_id)
    assert workflow.wave(tables, invoke, deployment_id, REGIONS[0], 0)["next"] == "ROLLBACK"
    return deployment_id


def test_a_rollback_over_real_hosts_ends_once_they_report_their_return(tables, invoke):
    # Given a region rolled back whose real hosts took the rollback
    deployment_id = failing_deployment(tables, invoke)
    sync = with_real_hosts(invoke, {"deployed": 2, "failed": 0})

    # When the rollback steers them
    step = workflow.roll_back(tables, sync, deployment_id, REGIONS[0])

    # Then the region waits for them (one wait, the wave's timeout), rolling back but not ended
    assert (step["next"], step["waitSeconds"]) == ("ROLLBACK_HOSTS", 600)
    region = deployment_store.get(tables.deployments, deployment_id).regions[REGIONS[0]]
    assert (region.status, region.host_waves, region.completed_at) == ("ROLLING_BACK", {"web": "rollback-wave"}, None)
    assert deployment_store.get_region_goals(tables.regions, REGIONS)[REGIONS[0]].goal_build_id == OLD
    # and the deployment's stop, which is why it rolls back, does not end that wait
    sfn = StepFunctions()
    assert workflow.await_hosts(tables, sync, sfn, deployment_id, REGIONS[0], "token-1") == {
        "waiting": True,
        "woken": None,
    }
    assert sfn.woken == []

    # When their reports are in, the region ends rolled back, saying how many returned
    done = workflow.rollback_hosts(tables, sync, deployment_id, REGIONS[0])
    assert done["next"] == "END"
    assert (done["notification"]["status"], done["notification"]["realHostsReturned"]) == ("ROLLED_BACK", 2)
    region = deployment_store.get(tables.deployments, deployment_id).regions[REGIONS[0]]
    assert region.status == "ROLLED_BACK" and region.completed_at
    # and a retry of that step counts nothing again and answers the same notice
    counted = sync.asked.count("count_hosts")
    again = workflow.rollback_hosts(tables, sync, deployment_id, REGIONS[0])
    assert (again["next"], again["notification"]["status"]) == ("END", "ROLLED_BACK")
    assert sync.asked.count("count_hosts") == counted


def test_a_real_host_that_does_not_report_its_return_fails_the_regions_rollback(tables, invoke):
    deployment_id = failing_deployment(tables, invoke)
    sync = with_real_hosts(invoke, {"deployed": 1, "failed": 1})
    assert workflow.roll_back(tables, sync, deployment_id, REGIONS[0])["next"] == "ROLLBACK_HOSTS"

    done = workflow.rollback_hosts(tables, sync, deployment_id, REGIONS[0])

    region = deployment_store.get(tables.deployments, deployment_id).regions[REGIONS[0]]
    assert region.status == "ROLLBACK_FAILED"
    assert region.reason.endswith(f"1 of 2 real hosts did not report their return to {OLD}")
    assert done["notification"]["realHostsNotReturned"] == 1


def test_a_rollback_whose_real_hosts_all_reported_already_wakes_its_own_wait(tables, invoke):
    deployment_id = failing_deployment(tables, invoke)
    sync = with_real_hosts(invoke, {"deployed": 2, "failed": 0}, complete=True)
    workflow.roll_back(tables, sync, deployment_id, REGIONS[0])
    sfn = StepFunctions()

    assert workflow.await_hosts(tables, sync, sfn, deployment_id, REGIONS[0], "token-2")["woken"] == (
        "every host reported"
    )
    assert sfn.woken == ["token-2"]


def test_real_hosts_lost_before_their_wave_are_left_out_and_listed_not_failed(tables, invoke):
    # Given a region whose group has one live real host and one lost before each wave began
    def sync(region: str, request: dict) -> dict:
        answer = invoke(region, request)
        if request["action"] == "wave" and region == REGIONS[0]:
            answer["realHosts"] = [{"group": "web", "waveId": "w", "expected": 0, "lost": ["web-lost"]}]
        return answer

    # When a deployment in two waves runs there
    deployment_id = accept(tables, NEW, waves=[50, 100])
    workflow.start(tables, deployment_id)
    run_region(tables, sync, deployment_id, REGIONS[0])

    # Then the region succeeded, the lost host listed once and counted as no failure
    region = deployment_store.get(tables.deployments, deployment_id).regions[REGIONS[0]]
    assert (region.status, region.real_hosts_left_out, region.hosts_failed) == ("SUCCEEDED", ("web-lost",), 0)
    view = deployment_view(deployment_store.get(tables.deployments, deployment_id))
    assert view.regions[REGIONS[0]].realHostsLeftOut == ["web-lost"]


def test_each_wave_keeps_its_predicted_time_and_when_it_began_and_ended(tables, invoke):
    # Given a deployment in three waves, run through; and one whose first wave fails its gate
    deployment = run(tables, invoke, accept(tables, NEW, waves=[10, 50, 100]))
    view = deployment_view(deployment).regions[REGIONS[0]]
    # Then each wave has the plan's time, the model's, and when it began and ended, in order
    assert [wave.wave for wave in view.waveTimes] == [1, 2, 3]
    for wave, earlier in zip(view.waveTimes, [None, *view.waveTimes[:-1]], strict=True):
        assert wave.predictedSeconds > 0 and wave.modelSeconds > 0 and wave.hostsFailed == 0
        assert view.startedAt <= wave.startedAt <= wave.endedAt <= view.completedAt
        assert earlier is None or earlier.endedAt <= wave.startedAt
    assert sum(wave.predictedSeconds for wave in view.waveTimes) == pytest.approx(view.predictedSeconds)
    failing = run(
        tables, invoke, accept(tables, THIRD, waves=[10, 100], simulation=deployment_model.Simulation(60, seed=3))
    )
    first, second = deployment_view(failing).regions[REGIONS[0]].waveTimes
    # and a wave not run has its prediction alone
    assert first.endedAt is not None and first.hostsFailed > 0
    assert (second.predictedSeconds > 0, second.startedAt, second.endedAt, second.modelSeconds) == (
        True,
        None,
        None,
        None,
    )
