"""The operator's actions on a deployment: pause (before the next wave), resume, promote (skip what is left
of the bakes), approve (the next wave that waits for an approval), abort (undo it: every region it changed
goes back, ABORTED) and rollback (the same at once, also once it ended: ROLLED_BACK). Each is a conditional
write on the deployment's status that records who asked and when; the workflow sees it at its next step,
and a region waiting (a bake, a pause, an approval) is woken for it (waits.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from code_deploy.builds.model import utc_now
from code_deploy.deployments import store, waits
from code_deploy.deployments.model import ABORT, ACTIVE_STATUSES, REVERT, DeploymentStatus
from code_deploy.deployments.store import Act, ActionNotAllowed, Deployment, StatusMove, Stop, Tables

ACTIONS = ("pause", "resume", "promote", "approve", "abort", "rollback")
# A deployment that ended with regions on its build: a rollback takes them back.
ENDED_ON_ITS_BUILD = (DeploymentStatus.SUCCEEDED, DeploymentStatus.SUPERSEDED)


@dataclass(frozen=True)
class RolloutWorkflow:
    """The rollout state machine: a rollback of a deployment that ended runs in an execution of its own."""

    sfn_client: Any
    state_machine_arn: str


def _refuse(deployment: Deployment, action: str, applies_to: str) -> ActionNotAllowed:
    return ActionNotAllowed(
        f"deployment {deployment.deployment_id} is {deployment.status}: {action} applies to {applies_to}"
    )


def act(tables: Tables, workflow: RolloutWorkflow, deployment_id: str, action: str, by: str | None) -> Deployment:
    """Does `action`, asked by `by` (the caller's principal): pause (before the next wave), resume, promote
    (skip what is left of the bakes), approve (the next wave waiting for an approval), abort (undo it:
    ROLLING_BACK at once, then every region it changed goes back, unless a later deployment took it) or
    rollback (the same, ending ROLLED_BACK, also for a deployment that ended). Each is a conditional write
    on the deployment's status, so a deployment that finished meanwhile refuses it (ActionNotAllowed)
    instead of taking it. Then every region waiting is woken (a pause wakes none: bakes go on), after the
    write, so a wait that begins meanwhile sees it (workflow.wait)."""
    deployment = store.get(tables.deployments, deployment_id)
    who = Act(by, utc_now())
    if action == "rollback" and deployment.status in ENDED_ON_ITS_BUILD:
        return _roll_back_ended(tables, workflow, deployment, who)
    running = "a deployment that is QUEUED, IN_PROGRESS or PAUSED"
    if deployment.status.finished:
        ended = "a deployment that has not finished"
        raise _refuse(deployment, action, f"{ended}, or one that SUCCEEDED" if action == "rollback" else ended)
    if deployment.stop and action not in ("abort", "rollback"):
        raise ActionNotAllowed(f"deployment {deployment_id} is rolling back ({deployment.reason}): nothing to {action}")
    if action == "pause":
        done = store.change_status(
            tables.deployments,
            deployment_id,
            DeploymentStatus.PAUSED,
            who.at,
            (DeploymentStatus.QUEUED, DeploymentStatus.IN_PROGRESS),
            move=StatusMove(action="pause", act=who),
        )
        applies_to = "a deployment that is QUEUED or IN_PROGRESS"
    elif action == "resume":
        done = store.change_status(
            tables.deployments,
            deployment_id,
            DeploymentStatus.IN_PROGRESS,
            who.at,
            (DeploymentStatus.PAUSED,),
            move=StatusMove(action="resume", act=who, paused_by_freeze="", clear_reason=True),
        )
        applies_to = "a PAUSED deployment"
    elif action == "promote":
        done = store.set_promoted(tables.deployments, deployment_id, who)
        if done:
            _resume_if_paused(tables, deployment, who.at, "promoted")
        applies_to = running
    elif action == "approve":
        done = _approve(tables, deployment, who)
        applies_to = running
    elif action in ("abort", "rollback"):
        if deployment.stop:
            raise ActionNotAllowed(f"deployment {deployment_id} is already rolling back ({deployment.reason})")
        # ROLLING_BACK in the same write: the answer shows it, and no end but the undo's can follow.
        kind, reason = (ABORT, "aborted by request") if action == "abort" else (REVERT, "rolled back by request")
        done = store.set_stop(tables.deployments, deployment_id, Stop(kind, reason, who.at, who, action))
        applies_to = running
    else:
        raise ValueError(f"unknown action {action}")
    if not done:
        raise _refuse(store.get(tables.deployments, deployment_id), action, applies_to)
    deployment = store.get(tables.deployments, deployment_id)
    if action != "pause":
        waits.wake_regions(workflow.sfn_client, deployment, action)
    return deployment


def _approve(tables: Tables, deployment: Deployment, who: Act) -> bool:
    """Approves the first wave that waits for an approval and has none; ActionNotAllowed when none is left."""
    waiting = [wave for wave in deployment.spec.approval_waves if wave not in deployment.approved_waves]
    if not waiting:
        asked = deployment.spec.approval_waves
        raise ActionNotAllowed(
            f"deployment {deployment.deployment_id} has no wave left to approve"
            + (f" (waves {', '.join(map(str, asked))} are approved)" if asked else " (it asked for no approval)")
        )
    return store.record_action(
        tables.deployments, deployment.deployment_id, who.entry("approve", wave=waiting[0]), ACTIVE_STATUSES
    )


def _roll_back_ended(tables: Tables, workflow: RolloutWorkflow, deployment: Deployment, who: Act) -> Deployment:
    """A deployment that ended on its build: ROLLING_BACK at once, then an execution of the rollout workflow
    that starts at its end (the undo: every region it still holds back to its previous goal at once), named
    after it so a retried request starts no second one."""
    goals = store.get_region_goals(tables.regions, deployment.spec.regions)
    if not any(goal.goal_deployment_id == deployment.deployment_id for goal in goals.values()):
        raise ActionNotAllowed(
            f"deployment {deployment.deployment_id} is {deployment.status} and holds no region any more: "
            "later deployments took them all"
        )
    stop = Stop(REVERT, "rolled back by request", who.at, who, "rollback", ENDED_ON_ITS_BUILD)
    if not store.set_stop(tables.deployments, deployment.deployment_id, stop):
        raise _refuse(
            store.get(tables.deployments, deployment.deployment_id), "rollback", "a deployment that SUCCEEDED"
        )
    try:
        workflow.sfn_client.start_execution(
            stateMachineArn=workflow.state_machine_arn,
            name=f"{deployment.deployment_id}-rollback",
            input=json.dumps({"deploymentId": deployment.deployment_id, "undo": True}),
        )
    except ClientError as error:
        if error.response["Error"]["Code"] != "ExecutionAlreadyExists":
            # Nothing would undo it: it is what it was again, and the request may be retried.
            store.unstop(tables.deployments, deployment.deployment_id, REVERT, deployment.status, utc_now())
            raise
    return store.get(tables.deployments, deployment.deployment_id)


def _resume_if_paused(tables: Tables, deployment: Deployment, now: str, reason: str) -> None:
    if deployment.status == DeploymentStatus.PAUSED:
        store.change_status(
            tables.deployments,
            deployment.deployment_id,
            DeploymentStatus.IN_PROGRESS,
            now,
            (DeploymentStatus.PAUSED,),
            move=StatusMove(reason=reason, paused_by_freeze=""),
        )
