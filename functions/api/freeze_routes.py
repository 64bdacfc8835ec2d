"""POST /freeze freezes deployments (all, or a service's): new ones are refused 409 quoting the reason,
running ones pause at their next step; DELETE /freeze lifts it and lets them go on; GET /freeze reads it.
Each records who asked (the caller's SigV4 principal) and when."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import answers
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from code_deploy import aws
from code_deploy.builds.model import utc_now
from code_deploy.deployments.schema import FreezeLifted, FreezeRequest, FreezeView
from code_deploy.errors import Unworkable

router = Router()
logger = Logger(child=True)

Service = Annotated[
    str | None, Query(min_length=1, max_length=64, description="a service's freeze; everything's when left out")
]


@router.post(
    "/freeze",
    summary="Freeze deployments: new ones are refused (409, quoting the reason), running ones pause at their next step",
    middlewares=[answers.refuse_unreadable_body],
    responses=answers.responses(
        200, FreezeView, "The freeze, as kept", {422: "The body is not a freeze"}, takes_body=True
    ),
)
def freeze_deployments(request: FreezeRequest) -> FreezeView:
    from code_deploy.deployments import freeze, store, view

    if request.until and request.until <= datetime.now(UTC):
        raise Unworkable(f"until: {request.until.isoformat()} has passed; give a time to come, or none")
    until = request.until.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if request.until else None
    frozen = freeze.freeze(
        answers.table(answers.settings().regions_table),
        request.reason,
        store.Act(answers.caller(router), utc_now()),
        until=until,
        service=request.service,
    )
    logger.info("deployments frozen", extra={"service": request.service, "reason": request.reason, "until": until})
    return view.freeze_view(frozen)


@router.delete(
    "/freeze",
    summary="Lift a freeze: the deployments it paused go on",
    responses=answers.responses(200, FreezeLifted, "The freeze lifted (none if there was none)", {422: "Bad service"}),
)
def lift_freeze(service: Service = None) -> FreezeLifted:
    from code_deploy.deployments import freeze, store, view
    from code_deploy.deployments.store import Tables

    config = answers.settings()
    tables = Tables.of(aws.dynamodb(), config.deployments_table, config.regions_table, config.builds_table)
    who = store.Act(answers.caller(router), utc_now())
    lifted = freeze.lift(tables, aws.stepfunctions(), who, service=service)
    logger.info("freeze lifted", extra={"service": service, "lifted": lifted is not None})
    return FreezeLifted(lifted=view.freeze_view(lifted) if lifted else None, liftedBy=who.by, liftedAt=who.at)


@router.get(
    "/freeze",
    summary="Read a freeze (everything's, or a service's)",
    responses=answers.responses(200, FreezeView, "The freeze", {404: "No freeze", 422: "Bad service"}),
)
def read_freeze(service: Service = None) -> FreezeView:
    from code_deploy.deployments import freeze, view
    from code_deploy.errors import NotFound

    found = freeze.read(answers.table(answers.settings().regions_table), service)
    if found is None:
        raise NotFound(f"no freeze of {service}" if service else "no freeze")
    return view.freeze_view(found)
