"""The rollout workflow's steps (statemachine/roll_out_deployment.asl.json), and AutoDeploy at the end of
a replication: each call names its step in `action`; the domain (code_deploy.rollout) does the work."""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from code_deploy import aws, rollout, tracing

if TYPE_CHECKING:
    from code_deploy.settings import DeploymentStepSettings

logger = Logger()
tracer = tracing.tracer()  # Powertools' Tracer, without the X-Ray SDK where tracing is off


@cache
def settings() -> DeploymentStepSettings:
    # deferred: pydantic is imported at the first event, not in the cold import
    from code_deploy.settings import DeploymentStepSettings

    return DeploymentStepSettings.from_env()


def tables() -> rollout.Tables:
    config = settings()
    return rollout.Tables.of(aws.dynamodb(), config.deployments_table, config.regions_table, config.builds_table)


def invoke_region(region: str, request: dict[str, Any]) -> dict[str, Any]:
    """The region's sync function, in its region (a Step Functions task cannot reach another region)."""
    response = aws.lambda_client(region).invoke(
        FunctionName=settings().regional_sync_function(region), Payload=json.dumps(request).encode()
    )
    answer = json.loads(response["Payload"].read() or b"null")
    if response.get("FunctionError"):
        raise RuntimeError(f"{region}'s sync failed: {answer.get('errorType')}: {answer.get('errorMessage')}")
    return answer


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    action = event["action"]
    logger.append_keys(deployment_id=event.get("deploymentId"), region=event.get("region"), action=action)
    config = settings()
    if action == "auto_deploy":
        deployment = rollout.auto_deploy(
            tables(),
            aws.stepfunctions(),
            config.rollout_state_machine_arn,
            config.regional_buckets,
            config.fleet,
            event["sourceKey"],
            event["copies"],
            event["replication"],
            datetime.fromisoformat(event["replicationStartedAt"].replace("Z", "+00:00")),
        )
        logger.info("auto deploy", extra={"deployment": deployment.deployment_id if deployment else None})
        return {"deploymentId": deployment.deployment_id if deployment else None}
    deployment_id = event["deploymentId"]
    if action == "start":
        answer = rollout.start(tables(), deployment_id)
    elif action == "wave":
        answer = rollout.wave(tables(), invoke_region, deployment_id, event["region"], event["wave"])
    elif action == "bake":
        answer = rollout.bake(tables(), deployment_id, event["region"], event["wave"])
    elif action == "rollback":
        answer = rollout.roll_back(tables(), invoke_region, deployment_id, event["region"])
    elif action == "finish":
        answer = rollout.finish(tables(), deployment_id)
    elif action == "fail":
        answer = rollout.fail(tables(), deployment_id, event.get("error", ""), event.get("cause", ""))
    else:
        raise ValueError(f"unknown action {action!r}")
    logger.info("step done", extra={"answer": answer})
    return answer
