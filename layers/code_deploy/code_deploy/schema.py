"""The REST API's and the functions' messages as pydantic models, one module a concept (builds, deployments,
replication, hosts); the OpenAPI document is generated from them. Here: their base, and every refusal's shape."""

from __future__ import annotations

import re
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field

_WORD_START = re.compile(r"(?<!^)(?=[A-Z])")


def attribute_name(field: str) -> str:
    """The domain's name for an API field: its camelCase in snake_case (hostId: host_id, sha256: sha256)."""
    return _WORD_START.sub("_", field).lower()


class Schema(BaseModel):
    # Each model's validator and serializer are built when it is first used, not when this module is
    # imported: a cold start builds the few models its request needs, not all thirty (issue 9).
    model_config = ConfigDict(defer_build=True)

    @classmethod
    def of(cls, source: object, **fields: Any) -> Self:
        """The view of a domain object: each field is the object's attribute of the same name in snake_case
        (`attribute_name`), but those given in `fields` (computed, or named otherwise in the domain)."""
        taken = {name: getattr(source, attribute_name(name)) for name in cls.model_fields if name not in fields}
        return cls(**taken, **fields)


class HistoryEntry(Schema):
    """A step of a build's or a deployment's history: its status then, when, why (a failure's reason), and
    who asked for it (the caller's SigV4 principal) where someone did."""

    status: str
    at: str
    reason: str | None = None
    by: str | None = None


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
