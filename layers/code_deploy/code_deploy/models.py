"""The REST API's request and response models; the OpenAPI document is generated from them."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from code_deploy.builds import COMMIT_PATTERN, COMMIT_RULE, BuildStatus

Commit = Annotated[str, StringConstraints(pattern=COMMIT_PATTERN, strict=True)]


class _Model(BaseModel):
    # Each model's validator and serializer are built when it is first used, not when this module is
    # imported: a cold start builds the few models its request needs, not all thirty (issue 9).
    model_config = ConfigDict(defer_build=True)


class BuildRequest(_Model):
    model_config = ConfigDict(extra="forbid", strict=True)

    commit: Commit = Field(
        description=f"The git commit to build: {COMMIT_RULE}.",
        examples=["9fceb02d0ae598e95dc970b74767f19372d61af8"],
    )


class BuildAccepted(_Model):
    buildId: str
    commit: str
    status: BuildStatus
    statusUrl: str = Field(description="Where the build's status can be read (GET).")


class ErrorDetail(_Model):
    """One problem Powertools' validation found, as it reports it."""

    loc: list[str | int] = Field(description='Where: ["body", "commit"], ["path", "buildId"], ["body", 12] ...')
    type: str = Field(description="What, as a pydantic error type: string_pattern_mismatch, extra_forbidden ...")


class ApiError(_Model):
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


class StatusChange(_Model):
    status: HistoryStatus = Field(
        description="QUEUED, BUILDING, SUCCEEDED or FAILED as the build worker recorded them, then REPLICATING, "
        "ROLLING_OUT, DEPLOYED (or SUPERSEDED, or FAILED) as the replication and the regions' rollouts went"
    )
    at: str
    reason: str | None = None


class Artifact(_Model):
    bucket: str
    key: str
    sha256: str
    sizeBytes: int
    payloadBytes: int


class Replication(_Model):
    status: ReplicationStatus
    executionId: str | None = None
    startedAt: str | None = None
    completedAt: str | None = None
    successfulCopies: int = 0
    failedCopies: int = 0


class RolloutModel(_Model):
    """What the P2P swarm model says of a region's rollout (README: "The P2P model")."""

    method: str = Field(description="simulated (piece by piece) or closed-form (large swarms)")
    pieces: int
    rounds: int
    seconds: float = Field(description="until the last host has the artifact")
    physicalLimitSeconds: float = Field(description="artifact size / one host's bandwidth")
    directFromBucketSeconds: float = Field(description="every host pulling from the bucket instead")


class RegionStatus(_Model):
    region: str
    bucket: str
    replication: RegionCopyStatus
    replicationError: str | None = None
    hostsTotal: int
    hostsDeployed: int
    rolloutStartedAt: str | None = None
    rolloutCompletedAt: str | None = None
    rolloutModel: RolloutModel | None = None
    supersededBy: str | None = Field(
        default=None, description="the later build that took the region over before this one reached every host"
    )


class BuildView(_Model):
    buildId: str
    commit: str
    status: BuildStatus
    deploymentStatus: DeploymentStatus
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
    statusHistory: list[StatusChange]


class BuildSummary(_Model):
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


class BuildList(_Model):
    builds: list[BuildSummary] = Field(description="Newest first.")
    nextCursor: str | None = Field(
        default=None, description="Pass as `cursor` for the next page; absent on the last page."
    )


class BuildMessage(_Model):
    """What the API puts on the build queue for the build worker."""

    buildId: str
    commit: Commit


class CopyRequest(_Model):
    """What the replication state machine asks the regional copy function to copy, for one destination."""

    sourceBucket: str = Field(min_length=3)
    sourceKey: str = Field(min_length=1)
    destinationBucket: str = Field(min_length=3)
    destinationRegion: str | None = Field(
        default=None, description="The destination bucket's region; looked up (GetBucketLocation) when not given"
    )


# --- deployments ----------------------------------------------------------------------------------------


class SimulationRequest(_Model):
    model_config = ConfigDict(extra="forbid", strict=True)

    hostFailurePercent: float = Field(default=0, ge=0, le=100, description="share of each wave's hosts that fail")
    seed: int = Field(default=1, description="picks which hosts fail, the same ones every time")


class DeploymentRequest(_Model):
    """POST /deployments and POST /deployments/plan."""

    model_config = ConfigDict(extra="forbid", strict=True)

    buildId: str = Field(min_length=1, max_length=128, description="The build to deploy (SUCCEEDED, replicated)")
    regions: list[str] | None = Field(default=None, description="A subset of the regions; all when left out")
    waves: list[float] = Field(
        default=[100],
        min_length=1,
        max_length=20,
        description="Cumulative percent of each region's hosts, ending at 100",
    )
    bakeSeconds: int = Field(default=0, ge=0, le=86_400, description="Wait after each wave before the next")
    regionWaves: list[list[str]] | None = Field(
        default=None, description="Regions in the order they deploy, a wave at a time; all at once when left out"
    )
    maxFailurePercent: float = Field(default=5, ge=0, le=100, description="A wave with more failures rolls back")
    simulate: SimulationRequest | None = Field(default=None, description="Deterministic fault injection")


class WavePlanView(_Model):
    wave: int = Field(description="1-based")
    cumulativePercent: float
    hosts: int = Field(description="hosts this wave updates")
    hostsHolding: int = Field(description="hosts already on the build when the wave starts; they serve pieces")
    predictedSeconds: float


class RegionPlanView(_Model):
    region: str
    hostsTotal: int
    waves: list[WavePlanView]
    predictedSeconds: float = Field(description="every wave and bake")
    rollbackSeconds: float = Field(description="back to the previous build, which every host still holds")


class DeploymentPlanView(_Model):
    """What a deployment would do and how long the P2P swarm model says it takes (no bake overlap)."""

    buildId: str
    artifactBytes: int
    regionWaves: list[list[str]]
    regions: list[RegionPlanView]
    regionWaveSeconds: list[float]
    predictedSeconds: float


class WaveRequest(_Model):
    """What the deployment workflow asks a region's sync function to do: one wave of a deployment, or
    its rollback (then `buildId` is the build the region returns to)."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["wave", "rollback"]
    deploymentId: str = Field(min_length=1)
    buildId: str | None = Field(description="The build the hosts switch to (None: a rollback to no build)")
    artifactKey: str | None = Field(default=None, description="Its artifact in the region's builds bucket")
    seq: int = Field(ge=1, description="The deployment's place in the region's order of goal changes")
    hostRange: tuple[int, int] = Field(default=(0, 0), description="[start, end) of the hosts a wave updates")
    failurePercent: float = Field(default=0, ge=0, le=100)
    seed: int = 1


class DeploymentAccepted(_Model):
    deploymentId: str
    buildId: str
    status: str
    statusUrl: str = Field(description="Where the deployment's status can be read (GET).")
    predictedSeconds: float = Field(description="The plan's time (POST /deployments/plan)")


class SimulationView(_Model):
    hostFailurePercent: float
    seed: int


class DeploymentSpecView(_Model):
    regions: list[str]
    waves: list[float]
    bakeSeconds: int
    regionWaves: list[list[str]]
    maxFailurePercent: float
    simulate: SimulationView


class RegionRolloutView(_Model):
    status: str = Field(
        description="PENDING, IN_PROGRESS, BAKING, SUCCEEDED, ROLLED_BACK, ABORTED, SUPERSEDED or SKIPPED"
    )
    hostsTotal: int
    hostsUpdated: int = Field(description="hosts on the deployment's build")
    hostsFailed: int
    hostsPending: int
    wave: int = Field(description="the wave under way or last done, 1-based (0: not started)")
    waves: int
    startedAt: str | None = None
    completedAt: str | None = None
    predictedSeconds: float = Field(description="the plan's time for the region, bakes included")
    modelSeconds: float = Field(description="the swarm model's time of the waves done so far, bakes included")
    reason: str | None = None
    rollbackStartedAt: str | None = Field(
        default=None, description="when its rollback began (then completedAt ends it)"
    )
    rollbackModelSeconds: float | None = Field(
        default=None,
        description="the swarm model's time of the rollback: the activation alone where hosts cached the build",
    )


class DeploymentHistoryEntry(_Model):
    status: str
    at: str
    reason: str | None = None


class DeploymentView(_Model):
    deploymentId: str
    buildId: str
    status: str = Field(
        description="QUEUED, IN_PROGRESS, PAUSED, SUCCEEDED, ROLLED_BACK, ABORTED, SUPERSEDED or FAILED"
    )
    reason: str | None = None
    trigger: str = Field(description="api (POST /deployments) or auto (AutoDeploy after a replication)")
    createdAt: str
    updatedAt: str
    completedAt: str | None = None
    predictedSeconds: float = Field(description="the plan's time, when the deployment was accepted")
    modelSeconds: float = Field(description="the swarm model's time of what ran: each region wave's slowest region")
    promoted: bool = False
    spec: DeploymentSpecView
    regions: dict[str, RegionRolloutView]
    history: list[DeploymentHistoryEntry]


class DeploymentSummary(_Model):
    deploymentId: str
    buildId: str
    status: str
    reason: str | None = None
    trigger: str
    createdAt: str
    completedAt: str | None = None
    regions: list[str]
    statusUrl: str


class DeploymentList(_Model):
    deployments: list[DeploymentSummary] = Field(description="Newest first.")
    nextCursor: str | None = None


class DeploymentActionResult(_Model):
    deploymentId: str
    status: str


class RegionView(_Model):
    region: str
    goalBuildId: str | None = Field(default=None, description="the build the region should run")
    goalDeploymentId: str | None = Field(default=None, description="the deployment that set the goal")
    previousBuildId: str | None = Field(default=None, description="the goal before: where a rollback returns")
    hostsTotal: int
    hostsByBuild: dict[str, int] = Field(description="hosts running each build, as the region's sync reported")
    updatedAt: str | None = None


class RegionList(_Model):
    regions: list[RegionView]
