"""The rollout workflow's steps (statemachine/roll_out_deployment.asl.json), and AutoDeploy at the end of
a replication: each call names its step in `action`; the domain (code_deploy.deployments) does the work."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from code_deploy import aws, environment, tracing
from code_deploy.deployments import accept, signals, workflow
from code_deploy.deployments.store import Tables

logger = Logger()
tracer = tracing.tracer()  # Powertools' Tracer, without the X-Ray SDK where tracing is off
settings = environment.lazy_settings("DeploymentStepSettings")


def tables() -> Tables:
    config = settings()
    return Tables.of(aws.dynamodb(), config.deployments_table, config.regions_table, config.builds_table)


def gate_signals() -> signals.Signals:
    """What the gates read and tell: alarms, events, the failure rate (code_deploy.deployments.signals)."""
    config = settings()
    outlets = signals.Outlets(config.deployment_events_topic_arn, config.metrics_namespace, config.home_region)
    return signals.from_aws(aws.client, outlets)


def invoke_region(region: str, request: dict[str, Any]) -> dict[str, Any]:
    """The region's sync function, run in its region."""
    return aws.invoke_in_region(region, settings().regional_sync_function(region), request)


def auto_deploy(event: dict[str, Any]) -> dict[str, Any]:
    config = settings()
    deployment = accept.auto_deploy(
        accept.Rollouts(tables(), aws.stepfunctions(), config.rollout_state_machine_arn, config.fleet),
        regional_buckets=config.regional_buckets,
        replicated=accept.Replicated(
            source_key=event["sourceKey"],
            copies=event["copies"],
            execution_name=event["replication"],
            started_at=datetime.fromisoformat(event["replicationStartedAt"].replace("Z", "+00:00")),
        ),
        s3_for_region=aws.s3,
    )
    return {"deploymentId": deployment.deployment_id if deployment else None}


def wait(event: dict[str, Any]) -> dict[str, Any]:
    """The start of a region's wait (a waitForTaskToken task): keeps its token, returns at once."""
    return waiting(
        event["token"],
        lambda: workflow.wait(
            tables(),
            aws.stepfunctions(),
            event["deploymentId"],
            event["region"],
            event["for"],
            event["token"],
            gate_signals(),
        ),
    )


def await_hosts(event: dict[str, Any]) -> dict[str, Any]:
    """The start of a wave's (or a rollback's) wait for its real hosts' reports (a waitForTaskToken task)."""
    return waiting(
        event["token"],
        lambda: workflow.await_hosts(
            tables(), invoke_region, aws.stepfunctions(), event["deploymentId"], event["region"], event["token"]
        ),
    )


def waiting(token: str, start: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    try:
        return start()
    except Exception as error:
        # Emulator gap (docs/emulator-gaps.md): MiniStack ignores the error of a function a callback task
        # invokes, and the task would wait until its deadline (a day, for a pause). On AWS the task fails
        # with the function's error anyway (and whichever comes second is ignored), so the workflow's
        # Retry runs the step again either way.
        from botocore.exceptions import ClientError

        with contextlib.suppress(ClientError):  # the task's own error is the one to keep
            aws.stepfunctions().send_task_failure(taskToken=token, error=type(error).__name__, cause=str(error)[:32768])
        raise


# What each of the workflow's calls asks for, by its `action`.
STEPS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "auto_deploy": auto_deploy,
    "start": lambda event: workflow.start(tables(), event["deploymentId"], gate_signals()),
    "wave": lambda event: workflow.wave(
        tables(), invoke_region, event["deploymentId"], event["region"], event["wave"], gate_signals()
    ),
    "bake": lambda event: workflow.bake(
        tables(), event["deploymentId"], event["region"], event["wave"], gate_signals()
    ),
    "wait": wait,
    "await_hosts": await_hosts,
    "hosts_gate": lambda event: workflow.hosts_gate(
        tables(), invoke_region, event["deploymentId"], event["region"], event["wave"], gate_signals()
    ),
    "rollback": lambda event: workflow.roll_back(tables(), invoke_region, event["deploymentId"], event["region"]),
    "rollback_hosts": lambda event: workflow.rollback_hosts(
        tables(), invoke_region, event["deploymentId"], event["region"]
    ),
    "finish": lambda event: workflow.finish(tables(), event["deploymentId"], gate_signals()),
    "rollback_failed": lambda event: workflow.rollback_failed(
        tables(), event["deploymentId"], event["region"], event.get("error", ""), event.get("cause", "")
    ),
    "fail": lambda event: workflow.fail(
        tables(), event["deploymentId"], event.get("error", ""), event.get("cause", ""), bool(event.get("undoing"))
    ),
}


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    action = event.get("action")
    step = STEPS.get(action)  # type: ignore[arg-type]
    if step is None:
        raise ValueError(f"unknown action {action!r}: the steps are {', '.join(STEPS)}")
    logger.append_keys(deployment_id=event.get("deploymentId"), region=event.get("region"), action=action)
    answer = step(event)
    logger.info("step done", extra={"answer": answer})
    return answer
