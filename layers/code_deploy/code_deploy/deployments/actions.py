"""The operator's actions on a running deployment: pause (before the next wave), resume, promote (skip
what is left of the bakes) and abort (undo it: every region it changed goes back). Each is a conditional
write on the deployment's status; the workflow sees it at its next step, and a region waiting (a bake, a
pause) is woken for it (waits.py)."""

from __future__ import annotations

from code_deploy.builds.model import utc_now
from code_deploy.deployments import store, waits
from code_deploy.deployments.model import ABORT, DeploymentStatus
from code_deploy.deployments.store import ActionNotAllowed, Deployment, Tables


def _refuse(deployment: Deployment, action: str, applies_to: str) -> ActionNotAllowed:
    return ActionNotAllowed(
        f"deployment {deployment.deployment_id} is {deployment.status}: {action} applies to {applies_to}"
    )


def act(tables: Tables, sfn_client, deployment_id: str, action: str) -> Deployment:
    """pause (before the next wave), resume, promote (skip what is left of the bakes) or abort (undo it:
    ROLLING_BACK at once, then every region it changed goes back, unless a later deployment took it).
    Each is a conditional write on the deployment's status, so a deployment that finished meanwhile
    refuses it (ActionNotAllowed) instead of taking it. Then every region waiting is woken (a pause wakes
    none: bakes go on), after the write, so a wait that begins meanwhile sees it (workflow.wait)."""
    deployment = store.get(tables.deployments, deployment_id)
    now = utc_now()
    running = "a deployment that is QUEUED, IN_PROGRESS or PAUSED"
    if deployment.status.finished:
        raise _refuse(deployment, action, "a deployment that has not finished")
    if deployment.stop and action != "abort":
        raise ActionNotAllowed(f"deployment {deployment_id} is rolling back ({deployment.reason}): nothing to {action}")
    if action == "pause":
        done = store.change_status(
            tables.deployments,
            deployment_id,
            DeploymentStatus.PAUSED,
            now,
            (DeploymentStatus.QUEUED, DeploymentStatus.IN_PROGRESS),
        )
        applies_to = "a deployment that is QUEUED or IN_PROGRESS"
    elif action == "resume":
        done = store.change_status(
            tables.deployments, deployment_id, DeploymentStatus.IN_PROGRESS, now, (DeploymentStatus.PAUSED,)
        )
        applies_to = "a PAUSED deployment"
    elif action == "promote":
        done = store.set_promoted(tables.deployments, deployment_id, now)
        if done:
            _resume_if_paused(tables, deployment, now, "promoted")
        applies_to = running
    elif action == "abort":
        if deployment.stop:
            raise ActionNotAllowed(f"deployment {deployment_id} is already rolling back ({deployment.reason})")
        # ROLLING_BACK in the same write: the answer shows it, and no end but the undo's can follow.
        done = store.set_stop(tables.deployments, deployment_id, ABORT, "aborted by request", now)
        applies_to = running
    else:
        raise ValueError(f"unknown action {action}")
    if not done:
        raise _refuse(store.get(tables.deployments, deployment_id), action, applies_to)
    deployment = store.get(tables.deployments, deployment_id)
    if action != "pause":
        waits.wake_regions(sfn_client, deployment, action)
    return deployment


def _resume_if_paused(tables: Tables, deployment: Deployment, now: str, reason: str) -> None:
    if deployment.status == DeploymentStatus.PAUSED:
        store.change_status(
            tables.deployments,
            deployment.deployment_id,
            DeploymentStatus.IN_PROGRESS,
            now,
            (DeploymentStatus.PAUSED,),
            reason=reason,
        )
