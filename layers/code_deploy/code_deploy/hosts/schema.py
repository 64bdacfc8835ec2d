"""The hosts' messages: what the deployment workflow asks a region's sync function to do (one wave, or a
rollback), and a region's hosts as the API answers them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field

from code_deploy.schema import Schema
from code_deploy.services.model import DEFAULT_SERVICE


class WaveRequest(Schema):
    """What the deployment workflow asks a region's sync function to do: one wave of a deployment, or
    its rollback (then `buildId` is the build the region returns to)."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["wave", "rollback"]
    service: str = Field(default=DEFAULT_SERVICE, description="Whose hosts: the deployment's service")
    deploymentId: str = Field(min_length=1)
    buildId: str | None = Field(description="The build the hosts switch to (None: a rollback to no build)")
    artifactKey: str | None = Field(default=None, description="Its artifact in the region's builds bucket")
    seq: int = Field(ge=1, description="The deployment's place in the region's order of goal changes")
    hostRange: tuple[int, int] = Field(default=(0, 0), description="[start, end) of the hosts a wave updates")
    hosts: int | None = Field(
        default=None,
        ge=0,
        description="How many hosts the wave updates, from hostRange's start on; hosts an earlier deployment put on "
        "the build are passed over, not counted. None: every host of hostRange",
    )
    failurePercent: float = Field(default=0, ge=0, le=100)
    seed: int = 1
    realHosts: dict[str, Any] | None = Field(
        default=None,
        description="What the region's real hosts take of it (deployments.workflow.real_hosts_order): None where "
        "the build's record vouches for no hashes a host could check",
    )


# --- GET /regions/{region}/hosts: the region's hosts as a client reads them ------------------------------


class HostReportView(Schema):
    """A real host's last report, as its agent sent it (docs/agent.md, the contract)."""

    deploymentId: str
    wave: int = Field(description="the goal's wave when the host acted")
    buildId: str = Field(description="the build the report is about")
    status: str = Field(description="DEPLOYED or FAILED")
    reason: str | None = Field(
        default=None,
        description="why it FAILED: checksum, artifact-missing, disk-full, hooks-file, hook-failed, hook-timeout, "
        "install-error",
    )
    hook: str | None = Field(default=None, description="the lifecycle event that failed")
    exitCode: int | str | None = Field(default=None, description='the hook\'s exit code, or "timeout"')
    outputTail: str | None = Field(default=None, description="the failed hook's output, its last 2,048 characters")
    downloadSeconds: float
    downloadBytes: int = Field(description="bytes read from the region's bucket (0: from the host's cache)")
    drift: bool = Field(description="the host converged back after its current release was changed by hand")
    at: str = Field(description="when the agent reported, ISO 8601 UTC")


class HostView(Schema):
    """A real host: what its agent registered, runs, and last reported."""

    hostId: str
    group: str
    zone: str
    address: str
    appPort: int
    agentVersion: str
    state: str = Field(
        description="deployed, failed, lost (no heartbeat for lostAfterSeconds), or the agent's step: idle, "
        "downloading, installing"
    )
    currentBuildId: str | None = Field(default=None, description="the build it runs (None: nothing installed)")
    previousBuildId: str | None = Field(default=None, description="the build before it, in its cache")
    registeredAt: str = Field(description="when its agent last started")
    heartbeatAt: str = Field(description="its agent's last heartbeat")
    lastReport: HostReportView | None = None
    lastFailure: HostReportView | None = Field(
        default=None,
        description="its last FAILED report (which hook, its output), kept when a later report follows it, "
        "e.g. its return to the build before in the rollback",
    )


class SimulatedHostsView(Schema):
    """The region's simulated hosts: counted per build, never listed one by one."""

    group: str = "simulated"
    hostsTotal: int
    hostsByBuild: dict[str, int] = Field(
        description="simulated hosts running each build, as the region's sync reported"
    )
    note: str = "simulated hosts are counted per build, not listed host by host"


class HostList(Schema):
    """A page of a region's real hosts, by group then host id; and its simulated hosts, summarised."""

    region: str
    group: str | None = Field(default=None, description="the group asked for (None: every group)")
    lostAfterSeconds: float = Field(description="a host without a heartbeat for this long is lost")
    hosts: list[HostView]
    nextCursor: str | None = Field(default=None, description="where the next page starts (None: no more hosts)")
    simulated: SimulatedHostsView | None = Field(
        default=None, description="the simulated group, summarised (when every group or that group is asked for)"
    )


# --- GET /regions/{region}/grid: every host of the region, compactly -------------------------------------


class SimulatedHostRuns(Schema):
    """The region's simulated hosts in host order, as runs of neighbours alike."""

    hostsTotal: int
    runs: list[tuple[int, int | None, int | None, str | None]] = Field(
        description="[hosts, current build, previous build, change]: that many hosts in a row run the build at "
        "that place in `builds` (null: none yet), cache the previous one, and the last deployment to change them "
        "fetched, cached (switched to a build it held) or failed (they run what they ran), or none yet (null)"
    )


class RealHostCell(Schema):
    """A real host as the grid draws it; GET /regions/{region}/hosts/{hostId} tells the rest."""

    hostId: str
    group: str
    state: str = Field(description="as HostView's: deployed, failed, lost, idle, downloading or installing")
    build: int | None = Field(description="the build it runs, its place in `builds` (null: none installed)")


class HostGrid(Schema):
    """Every host of a region, small enough to redraw live: the simulated ones in runs, the real ones a row each."""

    region: str
    builds: list[str] = Field(description="the builds the hosts run or cache, referred to by place")
    lostAfterSeconds: float
    simulated: SimulatedHostRuns
    real: list[RealHostCell]
