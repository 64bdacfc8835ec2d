"""Deployments as the API takes them (POST /deployments[/plan]) and answers them (GET /deployments[/{id}],
the plan, an action), and the regions' goals (GET /regions[/{region}])."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, ConfigDict, Field

from code_deploy.schema import HistoryEntry, Schema
from code_deploy.services.model import DEFAULT_SERVICE, SERVICE_NAME_PATTERN


class DeploymentIdentity(Schema):
    """What every answer about a deployment starts with: which deployment, of which build, and where it is."""

    deploymentId: str
    buildId: str
    status: str
    service: str = Field(default=DEFAULT_SERVICE, description="Whose goals and hosts it changes")


class SimulationRequest(Schema):
    model_config = ConfigDict(extra="forbid", strict=True)

    hostFailurePercent: float = Field(default=0, ge=0, le=100, description="share of each wave's hosts that fail")
    seed: int = Field(default=1, description="picks which hosts fail, the same ones every time")


class FreezeOverrideRequest(Schema):
    model_config = ConfigDict(extra="forbid", strict=True)

    reason: str = Field(min_length=1, max_length=500, description="why this deployment may pass a freeze (recorded)")


AlarmName = Annotated[str, Field(min_length=1, max_length=255)]


class DeploymentRequest(Schema):
    """POST /deployments and POST /deployments/plan."""

    model_config = ConfigDict(extra="forbid", strict=True)

    buildId: str = Field(min_length=1, max_length=128, description="The build to deploy (SUCCEEDED, replicated)")
    service: str | None = Field(
        default=None,
        pattern=SERVICE_NAME_PATTERN,
        description="The service it deploys: the build's (naming another is refused, 409); each field left out "
        "takes the service's policy (POST /services)",
    )
    regions: list[str] | None = Field(default=None, description="A subset of the regions; all when left out")
    waves: list[float] = Field(
        default=[100],
        min_length=1,
        max_length=20,
        description="Cumulative percent of each region's hosts, ending at 100",
    )
    bakeSeconds: int = Field(default=0, ge=0, le=86_400, description="Wait after each wave before the next")
    waveTimeoutSeconds: int = Field(
        default=600,
        ge=10,
        le=86_400,
        description="How long a wave waits for its real hosts' reports; a host silent by then counts as failed",
    )
    regionWaves: list[list[str]] | None = Field(
        default=None, description="Regions in the order they deploy, a wave at a time; all at once when left out"
    )
    maxFailurePercent: float = Field(default=5, ge=0, le=100, description="A wave with more failures rolls back")
    simulate: SimulationRequest | None = Field(default=None, description="Deterministic fault injection")
    alarms: list[AlarmName] = Field(
        default=[],
        max_length=10,
        description="CloudWatch alarms (in the home region or the deployment's regions): any in ALARM during a wave "
        "or its bake fails the gate",
    )
    onGateFailure: Literal["rollback", "pause"] = Field(
        default="rollback", description="What a failed gate does: roll back, or hold the deployment PAUSED"
    )
    approvalRequired: list[int] = Field(
        default=[],
        max_length=20,
        description="1-based waves that wait, in every region, for POST /deployments/{id}/approve before they start",
    )
    freezeOverride: FreezeOverrideRequest | None = Field(
        default=None, description="Deploy through a freeze, saying why (recorded with who asked)"
    )


class WavePlanView(Schema):
    wave: int = Field(description="1-based")
    cumulativePercent: float
    hosts: int = Field(description="hosts this wave updates")
    hostsHolding: int = Field(description="hosts already on the build when the wave starts; they serve pieces")
    predictedSeconds: float


class RegionPlanView(Schema):
    region: str
    hostsTotal: int
    waves: list[WavePlanView]
    predictedSeconds: float = Field(description="every wave and bake")
    rollbackSeconds: float = Field(
        description="after the last wave, back to the build before: hosts that cache it switch back, the others "
        "fetch it (the swarm model)"
    )


class DeploymentPlanView(Schema):
    """What a deployment would do and how long the P2P swarm model says it takes (no bake overlap)."""

    buildId: str
    artifactBytes: int
    regionWaves: list[list[str]]
    regions: list[RegionPlanView]
    regionWaveSeconds: list[float]
    predictedSeconds: float


class DeploymentAccepted(DeploymentIdentity):
    statusUrl: str = Field(description="Where the deployment's status can be read (GET).")
    predictedSeconds: float = Field(description="The plan's time (POST /deployments/plan)")


class ActionView(Schema):
    """Who did what to a deployment, and when."""

    action: str = Field(
        description="pause, resume, promote, approve (with its wave), abort, rollback, or freezeOverride (with its "
        "reason)"
    )
    at: str
    by: str | None = Field(default=None, description="the caller's SigV4 principal")
    wave: int | None = None
    reason: str | None = None


class SimulationView(Schema):
    hostFailurePercent: float
    seed: int


class DeploymentSpecView(Schema):
    regions: list[str]
    waves: list[float]
    bakeSeconds: int
    waveTimeoutSeconds: int
    regionWaves: list[list[str]]
    maxFailurePercent: float
    simulate: SimulationView
    alarms: list[str] = Field(default_factory=list)
    onGateFailure: str = "rollback"
    approvalRequired: list[int] = Field(default_factory=list)


class WaveTimeView(Schema):
    """One wave of a region: the plan's time for it against when it ran (the dashboard's timeline)."""

    wave: int = Field(description="1-based")
    predictedSeconds: float | None = Field(description="the plan's time for the wave when the deployment was accepted")
    modelSeconds: float | None = Field(default=None, description="the swarm model's time of the wave, once it ran")
    startedAt: str | None = Field(default=None, description="when the wave began (None: not yet)")
    endedAt: str | None = Field(default=None, description="when its health gate judged it (None: not yet)")
    hostsFailed: int | None = Field(default=None, description="hosts that failed their update in it, once it ran")


class RegionRolloutView(Schema):
    status: str = Field(
        description="PENDING, IN_PROGRESS, BAKING, ROLLING_BACK (waiting for its real hosts' return), SUCCEEDED, "
        "ROLLED_BACK, ABORTED, SUPERSEDED, SKIPPED or ROLLBACK_FAILED (its goal went back, its hosts' rollback "
        "failed: the reason says why)"
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
    realHostsLeftOut: list[str] = Field(
        default_factory=list,
        description="real hosts its waves left out: lost (silent for HostLostAfterSeconds) before their wave "
        "began, so not counted as failed; GET /regions/{region}/hosts lists them lost",
    )
    waveTimes: list[WaveTimeView] = Field(
        default_factory=list,
        description="each wave, predicted against actual; a bake of the spec's bakeSeconds follows each wave "
        "but the last",
    )


class DeploymentHistoryEntry(HistoryEntry):
    """A step of a deployment's history."""


class DeploymentView(DeploymentIdentity):
    status: str = Field(
        description="QUEUED, IN_PROGRESS, PAUSED or ROLLING_BACK (stopped: its regions are going back) while it "
        "runs; then SUCCEEDED, ROLLED_BACK, ABORTED, SUPERSEDED or FAILED"
    )
    reason: str | None = None
    trigger: str = Field(description="api (POST /deployments) or auto (AutoDeploy after a replication)")
    createdAt: str
    updatedAt: str
    completedAt: str | None = None
    predictedSeconds: float = Field(description="the plan's time, when the deployment was accepted")
    modelSeconds: float = Field(description="the swarm model's time of what ran: each region wave's slowest region")
    promoted: bool = False
    createdBy: str | None = Field(default=None, description="the caller's SigV4 principal (none: AutoDeploy)")
    actions: list[ActionView] = Field(default_factory=list, description="who did what to it, in order")
    awaitingApproval: int | None = Field(
        default=None, description="the wave (1-based) an approval lets start, while one waits for it"
    )
    pausedByFreeze: bool = Field(default=False, description="held PAUSED by a freeze, until it is lifted")
    spec: DeploymentSpecView
    regions: dict[str, RegionRolloutView]
    history: list[DeploymentHistoryEntry]


class DeploymentSummary(DeploymentIdentity):
    reason: str | None = None
    trigger: str
    createdAt: str
    completedAt: str | None = None
    regions: list[str]
    statusUrl: str


class DeploymentList(Schema):
    deployments: list[DeploymentSummary] = Field(description="Newest first.")
    nextCursor: str | None = None


class FreezeRequest(Schema):
    """POST /freeze."""

    model_config = ConfigDict(extra="forbid", strict=True)

    reason: str = Field(min_length=1, max_length=500, description="quoted to every deployment it refuses")
    until: AwareDatetime | None = Field(
        default=None, strict=False, description="when it ends by itself (ISO 8601 with a zone)"
    )
    service: str | None = Field(
        default=None, min_length=1, max_length=64, description="freeze one service's deployments; all when left out"
    )


class FreezeView(Schema):
    service: str | None = Field(default=None, description="the service frozen; none: everything")
    reason: str
    frozenBy: str | None = Field(default=None, description="the caller's SigV4 principal")
    frozenAt: str
    until: str | None = None
    pausedDeployments: list[str] = Field(default_factory=list, description="running deployments it holds PAUSED")


class FreezeLifted(Schema):
    lifted: FreezeView | None = Field(description="the freeze lifted (none: there was none)")
    liftedBy: str | None = None
    liftedAt: str


class DeploymentActionResult(Schema):
    deploymentId: str
    status: str = Field(description="after the action: an accepted abort answers ROLLING_BACK, the undo under way")


class RegionView(Schema):
    region: str
    goalBuildId: str | None = Field(default=None, description="the build the region should run")
    goalDeploymentId: str | None = Field(default=None, description="the deployment that set the goal")
    previousBuildId: str | None = Field(default=None, description="the goal before: where a rollback returns")
    hostsTotal: int = Field(description="the simulated hosts and the live real ones")
    hostsByBuild: dict[str, int] = Field(
        description="live hosts running each build: the simulated ones as the region's sync reported, and the real "
        "ones as their agents did"
    )
    hostsLost: int = Field(default=0, description="real hosts without a heartbeat for the region's lost-after time")
    updatedAt: str | None = None


class RegionList(Schema):
    regions: list[RegionView]
