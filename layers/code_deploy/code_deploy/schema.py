"""The REST API's and the functions' messages as pydantic models, one module a concept (builds, deployments,
replication, hosts); the OpenAPI document is generated from them. Here: their base, and every refusal's shape."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Schema(BaseModel):
    # Each model's validator and serializer are built when it is first used, not when this module is
    # imported: a cold start builds the few models its request needs, not all thirty (issue 9).
    model_config = ConfigDict(defer_build=True)


class ErrorDetail(Schema):
    """One problem Powertools' validation found, as it reports it."""

    loc: list[str | int] = Field(description='Where: ["body", "commit"], ["path", "buildId"], ["body", 12] ...')
    type: str = Field(description="What, as a pydantic error type: string_pattern_mismatch, extra_forbidden ...")


class ApiError(Schema):
    """Every refusal: a status, a sentence that says what is wrong, and for a request that failed
    validation, the problems one by one."""

    statusCode: int
    message: str = Field(examples=["commit: must be 7 to 64 lowercase hex digits"])
    detail: list[ErrorDetail] | None = None
