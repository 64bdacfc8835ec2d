"""A build as the API takes it (POST /builds) and answers it (GET /builds[/{id}]), and the build queue's message."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import ConfigDict, Field, StringConstraints

from code_deploy.builds.model import COMMIT_PATTERN, COMMIT_RULE, UPLOAD_ID_PATTERN, UPLOAD_ID_RULE, BuildStatus
from code_deploy.schema import HistoryEntry, Schema
from code_deploy.services.model import DEFAULT_SERVICE, SERVICE_NAME_PATTERN, SERVICE_NAME_RULE

Commit = Annotated[str, StringConstraints(pattern=COMMIT_PATTERN, strict=True)]
UploadId = Annotated[str, StringConstraints(pattern=UPLOAD_ID_PATTERN, strict=True)]


class BuildIdentity(Schema):
    """What every answer about a build starts with: which build, of which commit, and how its build went."""

    buildId: str
    commit: str
    status: BuildStatus


class BuildRequest(Schema):
    model_config = ConfigDict(extra="forbid", strict=True)

    commit: Commit = Field(
        description=f"The git commit to build: {COMMIT_RULE}.",
        examples=["9fceb02d0ae598e95dc970b74767f19372d61af8"],
    )
    upload: UploadId | None = Field(
        default=None,
        description=f"An upload (POST /builds/uploads, then a PUT of the zip to its uploadUrl): the build is that zip, "
        f"checked, instead of a build of the commit, which then only names it. {UPLOAD_ID_RULE}.",
        examples=["6f1c3b0e9d2a4c8b8e5f7a1d2c3b4a59"],
    )
    service: str | None = Field(
        default=None,
        pattern=SERVICE_NAME_PATTERN,
        description=f"The service it belongs to (POST /services); `default` if left out. {SERVICE_NAME_RULE}.",
        examples=["checkout"],
    )


class UploadGranted(Schema):
    """Where to PUT an application's zip before POST /builds names it."""

    uploadId: str = Field(description="What POST /builds's `upload` names once the zip is PUT.")
    uploadUrl: str = Field(description="A presigned URL: PUT the zip's bytes to it, without AWS credentials.")
    method: str = Field(default="PUT", description="Always PUT.")
    expiresAt: str = Field(description="The URL takes no PUT after this time (15 minutes after it was given).")
    maxBytes: int = Field(description="The largest zip a build is made of (the stack's MaxUploadBytes).")


class BuildAccepted(BuildIdentity):
    service: str = Field(default=DEFAULT_SERVICE, description="The service it belongs to")
    statusUrl: str = Field(description="Where the build's status can be read (GET).")


class BuildProgress(StrEnum):
    """Where a build is on its way to every host: the one field a client polls."""

    QUEUED = "QUEUED"
    BUILDING = "BUILDING"
    REPLICATING = "REPLICATING"
    ROLLING_OUT = "ROLLING_OUT"
    # Every region's rollout ended with the build on its hosts (but those that failed their update
    # within the health gate's allowance, which each region's hostsDeployed leaves out).
    DEPLOYED = "DEPLOYED"
    # A later build's deployment took a region over before this one reached every host there.
    SUPERSEDED = "SUPERSEDED"
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
    BUILD_FAILED = "BUILD_FAILED"  # nothing to copy: the build itself failed


class HistoryStatus(StrEnum):
    """A step of a build's history: its build phases, then where the deployment went."""

    QUEUED = "QUEUED"
    BUILDING = "BUILDING"
    SUCCEEDED = "SUCCEEDED"
    REPLICATING = "REPLICATING"
    ROLLING_OUT = "ROLLING_OUT"
    DEPLOYED = "DEPLOYED"
    SUPERSEDED = "SUPERSEDED"
    FAILED = "FAILED"


class BuildHistoryEntry(HistoryEntry):
    status: HistoryStatus = Field(
        description="QUEUED, BUILDING, SUCCEEDED or FAILED as the build worker recorded them, then REPLICATING, "
        "ROLLING_OUT, DEPLOYED (or SUPERSEDED, or FAILED) as the replication and the regions' rollouts went"
    )


class Artifact(Schema):
    bucket: str
    key: str
    sha256: str = Field(
        description="The payload's, as the artifact's manifest declares it; of an uploaded build, the whole zip's"
    )
    sizeBytes: int
    payloadBytes: int
    artifactSha256: str | None = Field(default=None, description="The whole artifact's, which a host checks it by")
    pieceBytes: int | None = Field(default=None, description="The size of the pieces a host fetches and checks")
    pieceRoot: str | None = Field(
        default=None, description="The sha256 of the piece list's digests: what the list beside the artifact must match"
    )


class Replication(Schema):
    status: ReplicationStatus
    executionId: str | None = None
    startedAt: str | None = None
    completedAt: str | None = None
    successfulCopies: int = 0
    failedCopies: int = 0


class RolloutModel(Schema):
    """What the P2P swarm model says of a region's rollout (docs/p2p-model.md)."""

    method: str = Field(description="simulated (piece by piece) or closed-form (large swarms)")
    pieces: int
    rounds: int = Field(description="piece-times (a piece at one host's bandwidth) until the last host has it")
    seconds: float = Field(description="until the last host has the artifact")
    physicalLimitSeconds: float = Field(description="artifact size / one host's bandwidth")
    directFromBucketSeconds: float = Field(description="every host pulling from the bucket instead")


class RegionStatus(Schema):
    region: str
    bucket: str = Field(description="the region's builds bucket, where the build is copied to")
    replication: RegionCopyStatus
    replicationError: str | None = None
    hostsTotal: int
    hostsDeployed: int
    rolloutStartedAt: str | None = None
    rolloutCompletedAt: str | None = None
    rolloutModel: RolloutModel | None = None
    rolledBack: str | None = Field(
        default=None, description="why the build's deployment rolled the region back (then the build is FAILED)"
    )
    supersededBy: str | None = Field(
        default=None, description="the later build that took the region over before this one reached every host"
    )


class BuildView(BuildIdentity):
    service: str = Field(default=DEFAULT_SERVICE, description="The service it belongs to")
    deploymentStatus: BuildProgress
    failureReason: str | None = Field(
        default=None, description="Why the build or its deployment FAILED: the build's reason, else the replication's"
    )
    attempts: int = Field(
        default=0,
        description="Build attempts that failed so far; the build is retried until the last one, "
        "whose failure fails the build (then equal to the count in failureReason)",
    )
    lastError: str | None = Field(default=None, description="The last failed build attempt's error")
    queuedAt: str
    buildingAt: str | None = None
    builtAt: str | None = None
    failedAt: str | None = None
    deployedAt: str | None = Field(default=None, description="When the last region finished its rollout")
    artifact: Artifact | None = None
    replication: Replication
    regions: list[RegionStatus]
    statusHistory: list[BuildHistoryEntry]


class BuildSummary(BuildIdentity):
    """One build in the list: where it is, and how many of its hosts run it."""

    deploymentStatus: BuildProgress
    failureReason: str | None = None
    queuedAt: str
    hostsDeployed: int
    hostsTotal: int
    statusUrl: str


class BuildList(Schema):
    builds: list[BuildSummary] = Field(description="Newest first.")
    nextCursor: str | None = Field(
        default=None, description="Pass as `cursor` for the next page; absent on the last page."
    )


class BuildMessage(Schema):
    """What the API puts on the build queue for the build worker."""

    buildId: str
    commit: Commit
    upload: UploadId | None = Field(default=None, description="The staged upload the build is made of, if any")
