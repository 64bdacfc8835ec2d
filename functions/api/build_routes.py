"""POST /builds queues a build of a commit, or of an application's zip uploaded first (POST /builds/uploads
gives where to PUT it), once per Idempotency-Key; GET /builds lists builds, newest first; GET
/builds/{buildId} reads where one is."""

from __future__ import annotations

from datetime import UTC, datetime
from http import HTTPStatus
from typing import Annotated

import answers
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.metrics import MetricUnit

from code_deploy import aws, paging
from code_deploy.builds.model import BUILD_ID_PATTERN, BUILD_ID_RULE, utc_text
from code_deploy.builds.schema import BuildAccepted, BuildList, BuildRequest, BuildView, UploadGranted

# The domain modules (building, the view) are imported by the routes that use them, not here: a cold
# start pays for what its request needs.
router = Router()
logger = Logger(child=True)
metrics = Metrics()
BuildsOnPage = answers.page_limit("Builds")
IdempotencyKey = answers.idempotency_key("answers the first one's build instead of making another")


def queue_build(commit: str, upload_id: str | None = None, requested_by: str | None = None) -> dict:
    from code_deploy.builds import building

    config = answers.settings()
    queue = building.BuildQueue(answers.table(config.builds_table), aws.sqs(), config.build_queue_url)
    if upload_id:
        record = building.submit_upload_build(
            queue, aws.s3(), config.staging, commit=commit, upload_id=upload_id, requested_by=requested_by
        )
    else:
        record = building.submit_build(queue, commit, requested_by=requested_by)
    # The build's correlation key from here on, as in every function it passes through (deployctl logs).
    logger.append_keys(build_id=record.build_id)
    logger.info("build queued", extra={"commit": record.commit, "upload_id": upload_id})
    metrics.add_metric(name="BuildsSubmitted", unit=MetricUnit.Count, value=1)
    accepted = BuildAccepted(
        buildId=record.build_id, commit=record.commit, status=record.status, statusUrl=f"/builds/{record.build_id}"
    )
    return accepted.model_dump(mode="json")


def queue_asked_build(asked: dict) -> dict:
    return queue_build(asked["commit"], asked["upload"], asked.get("by"))


# A POST retried with the same Idempotency-Key answers the first request's build; the same key with
# another commit or upload is refused.
queue_build_once = answers.once_per_key("commit or upload")(queue_asked_build)


@router.post(
    "/builds/uploads",
    summary="Get where to PUT an application's zip, for a build of it (deployctl push)",
    description="No body. The answer's uploadUrl takes one PUT of the zip (at most maxBytes; no AWS credentials: "
    "the URL is presigned) until expiresAt; then POST /builds with the commit and the uploadId makes the build.",
    responses=answers.responses(201, UploadGranted, "Where to PUT the zip"),
)
def grant_upload() -> Response[UploadGranted]:
    from code_deploy.builds import upload

    config = answers.settings()
    grant = upload.grant_upload(aws.s3(), config.staging, datetime.now(UTC))
    logger.info("upload granted", extra={"upload_id": grant.upload_id})
    granted = UploadGranted(
        uploadId=grant.upload_id,
        uploadUrl=grant.url,
        expiresAt=utc_text(grant.expires_at),
        maxBytes=config.staging.max_bytes,
    )
    return Response(status_code=HTTPStatus.CREATED, content_type=content_types.APPLICATION_JSON, body=granted)


@router.post(
    "/builds",
    summary="Queue a build of a commit, or of an uploaded zip",
    middlewares=[answers.refuse_unreadable_body],
    responses=answers.responses(
        202,
        BuildAccepted,
        "Build queued",
        {
            404: "No zip was PUT for the upload (or it expired, a day after its PUT)",
            409: "A request with the same Idempotency-Key is still being handled",
            422: "The body is JSON but not a valid build request, the uploaded zip is larger than the stack's "
            "MaxUploadBytes, or the Idempotency-Key was used with another commit or upload",
        },
        takes_body=True,
    ),
)
def submit_build(request: BuildRequest, idempotency_key: IdempotencyKey = None) -> Response[BuildAccepted]:
    asked = {"commit": request.commit, "upload": request.upload, "by": answers.caller(router)}
    accepted = BuildAccepted(**queue_build_once(router, idempotency_key, asked))
    return answers.accepted_at(accepted, accepted.statusUrl)


@router.get(
    "/builds",
    summary="List builds, newest first, a page at a time",
    responses=answers.page_responses(BuildList, "A page of builds"),
)
def list_builds(limit: BuildsOnPage = paging.DEFAULT_PAGE_SIZE, cursor: answers.PageCursor = None) -> BuildList:
    from code_deploy.builds import store, view

    config = answers.settings()
    return view.list_builds(
        builds_table=answers.table(config.builds_table),
        copy_tracking_table=answers.table(config.copy_tracking_table),
        regional_buckets=config.regional_buckets,
        hosts_per_region=config.hosts_per_region,
        request=answers.page_request(limit, cursor, store.BUILDS),
    )


@router.get(
    "/builds/<buildId>",
    summary="Read a build's status: built, replicated, rolled out",
    responses=answers.lookup_responses(BuildView, "The build's status", "No such build", "The build id is malformed"),
)
def get_build(
    buildId: Annotated[str, Path(pattern=BUILD_ID_PATTERN, description=f"The build's id: {BUILD_ID_RULE}")],  # noqa: N803
) -> BuildView:
    from code_deploy.builds import view

    logger.append_keys(build_id=buildId)
    config = answers.settings()
    return view.read_build(
        builds_table=answers.table(config.builds_table),
        copy_tracking_table=answers.table(config.copy_tracking_table),
        build_id=buildId,
        regional_buckets=config.regional_buckets,
        hosts_per_region=config.hosts_per_region,
    )
