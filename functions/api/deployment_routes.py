"""POST /deployments deploys a build (waves, health gates, rollback); POST /deployments/plan predicts one;
GET /deployments[/{id}] follows deployments; POST /deployments/{id}/{action} pauses, resumes, promotes,
approves, aborts or rolls back one. Each records who asked (the caller's SigV4 principal)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import answers
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path

from code_deploy import aws, paging
from code_deploy.deployments.ids import DEPLOYMENT_ID_PATTERN, DEPLOYMENT_ID_RULE
from code_deploy.deployments.schema import (
    DeploymentAccepted,
    DeploymentActionResult,
    DeploymentList,
    DeploymentPlanView,
    DeploymentRequest,
    DeploymentView,
)

if TYPE_CHECKING:
    from code_deploy.deployments.model import DeploymentSpec
    from code_deploy.deployments.store import Tables

# The domain modules (accepting, the actions, the store and the view) are imported by the routes that
# use them, not here: a cold start pays for what its request needs.
router = Router()
logger = Logger(child=True)

# What accepting a deployment refuses, planned or done.
DEPLOYMENT_REFUSALS = {
    404: "No such build",
    409: "The build is not SUCCEEDED, or not in every target region's bucket",
    422: "The body is not a valid deployment (unknown region or alarm, waves not increasing ...)",
}

DeploymentId = Annotated[
    str, Path(pattern=DEPLOYMENT_ID_PATTERN, description=f"The deployment's id: {DEPLOYMENT_ID_RULE}")
]

DeploymentsOnPage = answers.page_limit("Deployments")
IdempotencyKey = answers.idempotency_key("and body answers the first one's deployment instead of starting another")


def rollout_tables() -> Tables:
    from code_deploy.deployments.store import Tables

    config = answers.settings()
    return Tables.of(aws.dynamodb(), config.deployments_table, config.regions_table, config.builds_table)


def unknown_alarms(names: tuple[str, ...], regions: tuple[str, ...]) -> list[str]:
    """Of the alarms a deployment names, those in neither the home region nor any of its regions."""
    from code_deploy.deployments import signals

    home = answers.settings().home_region
    return signals.unknown_alarms(lambda region: aws.client("cloudwatch", region), names, (home, *regions))


def deployment_spec(request: DeploymentRequest) -> DeploymentSpec:
    from code_deploy.deployments import model

    simulate = request.simulate
    return model.spec_from_request(
        request.buildId,
        answers.settings().regional_buckets.regions,
        regions=request.regions,
        waves=request.waves,
        bake_seconds=request.bakeSeconds,
        wave_timeout_seconds=request.waveTimeoutSeconds,
        region_waves=request.regionWaves,
        max_failure_percent=request.maxFailurePercent,
        simulation=model.Simulation(simulate.hostFailurePercent, simulate.seed) if simulate else None,
        alarms=request.alarms,
        on_gate_failure=request.onGateFailure,
        approval_waves=request.approvalRequired,
    )


@router.post(
    "/deployments/plan",
    summary="Plan a deployment without doing it: waves, hosts per wave, predicted time",
    middlewares=[answers.refuse_unreadable_body],
    responses=answers.responses(200, DeploymentPlanView, "The plan", DEPLOYMENT_REFUSALS, takes_body=True),
)
def plan_deployment(request: DeploymentRequest) -> DeploymentPlanView:
    from code_deploy.deployments import accept, view

    config = answers.settings()
    artifact, plan = accept.plan_deployment(
        tables=rollout_tables(),
        copy_tracking_table=answers.table(config.copy_tracking_table),
        regional_buckets=config.regional_buckets,
        fleet=config.fleet,
        spec=deployment_spec(request),
    )
    return view.plan_view(artifact, plan)


def accept_deployment(asked: dict) -> dict:
    """Accepts a deployment request (`deployment`: DeploymentRequest as JSON, `by`: who asks) and starts its
    rollout: the answer as JSON."""
    from code_deploy.deployments import accept

    config = answers.settings()
    request = DeploymentRequest.model_validate(asked["deployment"])
    spec = deployment_spec(request)
    override = request.freezeOverride.reason if request.freezeOverride else None
    deployment = accept.deploy_build(
        accept.Rollouts(
            rollout_tables(), aws.stepfunctions(), config.rollout_state_machine_arn, config.fleet, unknown_alarms
        ),
        copy_tracking_table=answers.table(config.copy_tracking_table),
        regional_buckets=config.regional_buckets,
        spec=spec,
        s3_for_region=aws.s3,
        requester=accept.Requester(by=asked["by"], freeze_override=override),
    )
    logger.append_keys(build_id=deployment.build_id, deployment_id=deployment.deployment_id)
    logger.info("deployment accepted", extra={"regions": list(spec.regions), "waves": list(spec.waves)})
    accepted = DeploymentAccepted(
        deploymentId=deployment.deployment_id,
        buildId=deployment.build_id,
        status=deployment.status.value,
        statusUrl=f"/deployments/{deployment.deployment_id}",
        predictedSeconds=round(deployment.predicted_seconds, 6),
    )
    return accepted.model_dump(mode="json")


# A POST retried with the same Idempotency-Key answers the first request's deployment and starts no
# other; the same key with another request is refused.
accept_deployment_once = answers.once_per_key("request")(accept_deployment)


@router.post(
    "/deployments",
    summary="Deploy a build: to which regions, in which waves, with which health gate",
    middlewares=[answers.refuse_unreadable_body],
    responses=answers.responses(
        202,
        DeploymentAccepted,
        "Deployment accepted; its rollout has started",
        {
            404: "No such build",
            409: "The build is not SUCCEEDED, or not in every target region's bucket; a freeze holds (the message "
            "quotes its reason; freezeOverride passes it); or a request with the same Idempotency-Key is still "
            "being handled",
            422: "The body is not a valid deployment (unknown region or alarm, waves not increasing ...), or the "
            "Idempotency-Key was used with another request",
        },
        takes_body=True,
    ),
)
def create_deployment(
    request: DeploymentRequest, idempotency_key: IdempotencyKey = None
) -> Response[DeploymentAccepted]:
    asked = {"deployment": request.model_dump(mode="json"), "by": answers.caller(router)}
    accepted = DeploymentAccepted(**accept_deployment_once(router, idempotency_key, asked))
    return answers.accepted_at(accepted, accepted.statusUrl)


@router.get(
    "/deployments",
    summary="List deployments, newest first, a page at a time",
    responses=answers.page_responses(DeploymentList, "A page of deployments"),
)
def list_deployments(
    limit: DeploymentsOnPage = paging.DEFAULT_PAGE_SIZE, cursor: answers.PageCursor = None
) -> DeploymentList:
    from code_deploy.deployments import store, view

    return view.list_deployments(
        deployments_table=answers.table(answers.settings().deployments_table),
        request=answers.page_request(limit, cursor, store.DEPLOYMENTS),
    )


@router.get(
    "/deployments/<deploymentId>",
    summary="Read a deployment: its status, and each region's wave and hosts",
    responses=answers.lookup_responses(
        DeploymentView, "The deployment", "No such deployment", "The deployment id is malformed"
    ),
)
def get_deployment(deploymentId: DeploymentId) -> DeploymentView:  # noqa: N803
    from code_deploy.deployments import view

    logger.append_keys(deployment_id=deploymentId)
    return view.read_deployment(answers.table(answers.settings().deployments_table), deploymentId)


@router.post(
    "/deployments/<deploymentId>/<action>",
    summary="pause (before the next wave), resume, promote (skip the bakes left), approve (the next wave waiting "
    "for it), abort (undo: every region it changed goes back, ABORTED) or rollback (the same, also once it ended: "
    "ROLLED_BACK)",
    responses=answers.responses(
        202,
        DeploymentActionResult,
        "Done; the workflow acts on it at its next step (an accepted abort or rollback answers ROLLING_BACK)",
        {
            404: "No such deployment",
            409: "The action does not apply to the deployment as it stands",
            422: "The deployment id is malformed, or the action is none of pause, resume, promote, approve, abort, "
            "rollback",
        },
    ),
)
def act_on_deployment(
    deploymentId: DeploymentId,  # noqa: N803
    action: Annotated[
        str,
        Path(
            pattern="^(pause|resume|promote|approve|abort|rollback)$",
            description="pause, resume, promote, approve, abort or rollback",
        ),
    ],
) -> Response[DeploymentActionResult]:
    from code_deploy.deployments import actions

    logger.append_keys(deployment_id=deploymentId)
    workflow = actions.RolloutWorkflow(aws.stepfunctions(), answers.settings().rollout_state_machine_arn)
    deployment = actions.act(rollout_tables(), workflow, deploymentId, action, answers.caller(router))
    logger.info(f"deployment {action}", extra={"status": deployment.status.value})
    return answers.accepted_at(DeploymentActionResult(deploymentId=deploymentId, status=deployment.status.value), None)
