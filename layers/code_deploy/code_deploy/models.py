"""The REST API's request and response models; the OpenAPI document is generated from them."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from code_deploy.builds import COMMIT_PATTERN, COMMIT_RULE, BuildStatus

Commit = Annotated[str, StringConstraints(pattern=COMMIT_PATTERN, strict=True)]


class BuildRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    commit: Commit = Field(
        description=f"The git commit to build: {COMMIT_RULE}.",
        examples=["9fceb02d0ae598e95dc970b74767f19372d61af8"],
    )


class BuildAccepted(BaseModel):
    buildId: str
    commit: str
    status: BuildStatus
    statusUrl: str = Field(description="Where the build's status can be read (GET).")


class ErrorDetail(BaseModel):
    """One problem Powertools' validation found, as it reports it."""

    loc: list[str | int] = Field(description='Where: ["body", "commit"], ["path", "buildId"], ["body", 12] ...')
    type: str = Field(description="What, as a pydantic error type: string_pattern_mismatch, extra_forbidden ...")


class ApiError(BaseModel):
    """Every refusal: a status, a sentence that says what is wrong, and for a request that failed
    validation, the problems one by one."""

    statusCode: int
    message: str = Field(examples=["commit: must be 7 to 64 lowercase hex digits"])
    detail: list[ErrorDetail] | None = None


class DeploymentStatus(StrEnum):
    """Where a build is on its way to every host: the one field a client polls."""

    QUEUED = "QUEUED"
    BUILDING = "BUILDING"
    REPLICATING = "REPLICATING"
    ROLLING_OUT = "ROLLING_OUT"
    DEPLOYED = "DEPLOYED"
    FAILED = "FAILED"


class ReplicationStatus(StrEnum):
    NOT_STARTED = "NOT_STARTED"
    IN_PROGRESS = "IN_PROGRESS"
    SUCCEEDED = "SUCCEEDED"
    PARTIAL_FAILURE = "PARTIAL_FAILURE"
    FAILED = "FAILED"


class RegionCopyStatus(StrEnum):
    PENDING = "PENDING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class StatusChange(BaseModel):
    status: BuildStatus
    at: str
    reason: str | None = None


class Artifact(BaseModel):
    bucket: str
    key: str
    sha256: str
    sizeBytes: int
    payloadBytes: int


class Replication(BaseModel):
    status: ReplicationStatus
    executionId: str | None = None
    startedAt: str | None = None
    completedAt: str | None = None
    successfulCopies: int = 0
    failedCopies: int = 0


class RolloutModel(BaseModel):
    """What the P2P swarm model says of a region's rollout (README: "The P2P model")."""

    method: str = Field(description="simulated (piece by piece) or closed-form (large swarms)")
    pieces: int
    rounds: int
    seconds: float = Field(description="until the last host has the artifact")
    physicalLimitSeconds: float = Field(description="artifact size / one host's bandwidth")
    directFromBucketSeconds: float = Field(description="every host pulling from the bucket instead")


class RegionStatus(BaseModel):
    region: str
    bucket: str
    replication: RegionCopyStatus
    replicationError: str | None = None
    hostsTotal: int
    hostsDeployed: int
    rolloutStartedAt: str | None = None
    rolloutCompletedAt: str | None = None
    rolloutModel: RolloutModel | None = None


class BuildView(BaseModel):
    buildId: str
    commit: str
    status: BuildStatus
    deploymentStatus: DeploymentStatus
    failureReason: str | None = None
    queuedAt: str
    buildingAt: str | None = None
    builtAt: str | None = None
    failedAt: str | None = None
    artifact: Artifact | None = None
    replication: Replication
    regions: list[RegionStatus]
    statusHistory: list[StatusChange]


class BuildSummary(BaseModel):
    """One build in the list: where it is, and how many of its hosts run it."""

    buildId: str
    commit: str
    status: BuildStatus
    deploymentStatus: DeploymentStatus
    failureReason: str | None = None
    queuedAt: str
    hostsDeployed: int
    hostsTotal: int
    statusUrl: str


class BuildList(BaseModel):
    builds: list[BuildSummary] = Field(description="Newest first.")
    nextCursor: str | None = Field(
        default=None, description="Pass as `cursor` for the next page; absent on the last page."
    )


class BuildMessage(BaseModel):
    """What the API puts on the build queue for the build worker."""

    buildId: str
    commit: Commit


class CopyRequest(BaseModel):
    """What the replication state machine asks the regional copy function to copy, for one destination."""

    sourceBucket: str = Field(min_length=3)
    sourceKey: str = Field(min_length=1)
    destinationBucket: str = Field(min_length=3)
    destinationRegion: str | None = Field(
        default=None, description="The destination bucket's region; looked up (GetBucketLocation) when not given"
    )
