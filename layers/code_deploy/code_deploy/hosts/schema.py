"""What the deployment workflow asks a region's sync function to do: one wave, or a rollback."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from code_deploy.schema import Schema


class WaveRequest(Schema):
    """What the deployment workflow asks a region's sync function to do: one wave of a deployment, or
    its rollback (then `buildId` is the build the region returns to)."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["wave", "rollback"]
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
