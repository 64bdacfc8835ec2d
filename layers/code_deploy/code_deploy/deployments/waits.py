"""A region's long waits, a bake or a pause, are one task of the rollout workflow each, however long: its
step (`workflow.wait`) keeps the task's token on the region's item and returns at once, and the task
waits until something sends SendTaskSuccess with that token, or until its deadline (the task's
TimeoutSeconds: the bake's end, or a day for a pause), after which the region looks again.

What ends a wait early wakes it here: the operator's actions (resume, promote, abort), a later deployment
that takes the region, or the wait itself when what it waits for happened before its token was kept (each
side writes first and reads after, so one of the two always sees the other). Waking is idempotent: a
token already used, or whose wait timed out, is refused by Step Functions and ignored here.
"""

from __future__ import annotations

import json

from botocore.exceptions import ClientError

from code_deploy.deployments.store import Deployment, RegionRollout

# What SendTaskSuccess answers for a token whose wait is over (used, timed out, or its execution ended).
WAIT_OVER = frozenset({"TaskTimedOut", "TaskDoesNotExist", "InvalidToken"})


def wake(sfn_client, token: str, why: str) -> bool:
    """Ends the wait of `token`; whether it was still waiting."""
    try:
        sfn_client.send_task_success(taskToken=token, output=json.dumps({"woken": why}))
    except ClientError as error:
        if error.response["Error"]["Code"] in WAIT_OVER:
            return False
        raise
    return True


def waiting_token(rollout: RegionRollout | None) -> str | None:
    """The token of the region's wait, if it may be waiting (it has waited, and has not finished)."""
    return None if rollout is None or rollout.status.finished else rollout.wait_token


def wake_regions(sfn_client, deployment: Deployment, why: str) -> list[str]:
    """Wakes every region of the deployment that is waiting; the regions woken."""
    return [
        region
        for region, rollout in deployment.regions.items()
        if (token := waiting_token(rollout)) and wake(sfn_client, token, why)
    ]


def wake_for_alarm(sfn_client, deployments_table, alarm: str) -> int:
    """Wakes every bake waiting under `alarm` (an alarm in ALARM: its action told us), each of which then
    fails its gate; each watch is dropped once woken. The number of waits woken."""
    from code_deploy.deployments import store  # deferred: the actions' path never needs it

    woken = 0
    for watch in store.alarm_watches(deployments_table, alarm):
        woken += wake(sfn_client, watch["waitToken"], f"alarm {alarm} in ALARM")
        deployments_table.delete_item(Key={"deployment_id": watch["deployment_id"], "record": watch["record"]})
    return woken
