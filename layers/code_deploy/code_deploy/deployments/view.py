"""A deployment, its plan and the regions' goals as a client reads them (the API's answers)."""

from __future__ import annotations

from typing import Any

from code_deploy import paging
from code_deploy.builds.store import ArtifactLocation
from code_deploy.deployments import store
from code_deploy.deployments.freeze import Freeze
from code_deploy.deployments.model import DeploymentPlan
from code_deploy.deployments.schema import (
    ActionView,
    DeploymentHistoryEntry,
    DeploymentList,
    DeploymentPlanView,
    DeploymentSpecView,
    DeploymentSummary,
    DeploymentView,
    FreezeView,
    RegionList,
    RegionPlanView,
    RegionRolloutView,
    RegionView,
    SimulationView,
    WavePlanView,
    WaveTimeView,
)
from code_deploy.deployments.store import Deployment, RegionGoal, RegionRollout
from code_deploy.hosts.view import HostsReading, RealHosts, regions_real_hosts
from code_deploy.regions import check_region


def _region_model_seconds(deployment: Deployment, rollout: RegionRollout) -> float:
    return sum(rollout.seconds_by_wave) + deployment.spec.bake_seconds * rollout.bakes


def _at(values: tuple, index: int):
    return values[index] if index < len(values) else None


def wave_times(rollout: RegionRollout) -> list[WaveTimeView]:
    """Each of the region's waves: the plan's time for it, and what it took and when, as far as it ran."""
    return [
        WaveTimeView(
            wave=index + 1,
            predictedSeconds=_rounded(_at(rollout.predicted_seconds_by_wave, index)),
            modelSeconds=_rounded(_at(rollout.seconds_by_wave, index)),
            startedAt=_at(rollout.wave_started_at, index),
            endedAt=_at(rollout.wave_ended_at, index),
            hostsFailed=_at(rollout.failed_by_wave, index),
        )
        for index in range(rollout.waves)
    ]


def _rounded(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 6)


def _identity(deployment: Deployment) -> dict[str, Any]:
    """What a deployment's view and its summary in a list both say of it."""
    return {
        "deploymentId": deployment.deployment_id,
        "buildId": deployment.build_id,
        "status": deployment.status.value,
        "service": deployment.service,
        "reason": deployment.reason,
        "trigger": deployment.trigger,
        "createdAt": deployment.created_at,
        "completedAt": deployment.completed_at,
    }


def deployment_view(deployment: Deployment) -> DeploymentView:
    spec = deployment.spec
    region_seconds = {region: _region_model_seconds(deployment, r) for region, r in deployment.regions.items()}
    model_seconds = sum(
        max((region_seconds.get(region, 0.0) for region in region_wave), default=0.0)
        for region_wave in spec.region_waves
    )
    return DeploymentView(
        **_identity(deployment),
        updatedAt=deployment.updated_at,
        predictedSeconds=round(deployment.predicted_seconds, 6),
        modelSeconds=round(model_seconds, 6),
        promoted=deployment.promoted,
        createdBy=deployment.created_by,
        actions=[ActionView(**action) for action in deployment.actions],
        awaitingApproval=_awaiting_approval(deployment),
        pausedByFreeze=deployment.paused_by_freeze is not None,
        spec=DeploymentSpecView.of(
            spec,
            simulate=SimulationView.of(spec.simulation),
            alarms=list(spec.alarms),
            approvalRequired=list(spec.approval_waves),
        ),
        regions={
            region: RegionRolloutView.of(
                rollout,
                status=rollout.status.value,
                hostsUpdated=rollout.hosts_updated + sum(rollout.real_deployed_by_wave),
                predictedSeconds=round(rollout.predicted_seconds, 6),
                modelSeconds=round(region_seconds[region], 6),
                waveTimes=wave_times(rollout),
            )
            for region, rollout in deployment.regions.items()
        },
        history=[DeploymentHistoryEntry.of(change) for change in deployment.history],
    )


def _awaiting_approval(deployment: Deployment) -> int | None:
    """The wave an approval lets start, while a region of the deployment waits for it before that wave."""
    if deployment.status.finished or deployment.stop:
        return None
    waiting = [wave for wave in deployment.spec.approval_waves if wave not in deployment.approved_waves]
    reached = (
        any(not rollout.status.finished and rollout.wave + 1 == waiting[0] for rollout in deployment.regions.values())
        if waiting
        else False
    )
    return waiting[0] if reached else None


def freeze_view(freeze: Freeze) -> FreezeView:
    return FreezeView(
        service=freeze.service,
        reason=freeze.reason,
        frozenBy=freeze.by,
        frozenAt=freeze.at,
        until=freeze.until,
        pausedDeployments=list(freeze.paused),
    )


def deployment_summary(deployment: Deployment) -> DeploymentSummary:
    return DeploymentSummary(
        **_identity(deployment),
        regions=list(deployment.spec.regions),
        statusUrl=f"/deployments/{deployment.deployment_id}",
    )


def region_view(goal: RegionGoal, hosts_total: int, real: RealHosts | None = None) -> RegionView:
    """The region's goal, and its live hosts: `hosts_total` simulated ones, counted per build by the
    region's sync, and its `real` ones, counted from their agents' items (the lost ones apart)."""
    real = real or RealHosts()
    hosts_by_build = {build: n for build, n in goal.hosts_by_build.items() if n > 0}
    for build, n in real.by_build.items():
        hosts_by_build[build] = hosts_by_build.get(build, 0) + n
    return RegionView.of(goal, hostsTotal=hosts_total + real.live, hostsByBuild=hosts_by_build, hostsLost=real.lost)


def plan_view(artifact: ArtifactLocation, plan: DeploymentPlan) -> DeploymentPlanView:
    return DeploymentPlanView(
        buildId=plan.spec.build_id,
        artifactBytes=artifact.size,
        regionWaves=[list(region_wave) for region_wave in plan.spec.region_waves],
        regions=[
            RegionPlanView(
                region=region.region,
                hostsTotal=region.hosts_total,
                waves=[
                    WavePlanView(
                        wave=wave.wave + 1,
                        cumulativePercent=wave.cumulative_percent,
                        hosts=wave.hosts,
                        hostsHolding=wave.hosts_holding,
                        predictedSeconds=round(wave.seconds, 6),
                    )
                    for wave in region.waves
                ],
                predictedSeconds=round(region.seconds, 6),
                rollbackSeconds=region.rollback_seconds,
            )
            for region in plan.regions.values()
        ],
        regionWaveSeconds=[round(seconds, 6) for seconds in plan.region_wave_seconds],
        predictedSeconds=round(plan.seconds, 6),
    )


def read_deployment(deployments_table, deployment_id: str) -> DeploymentView:
    """Raises store.DeploymentNotFound for an unknown deployment."""
    return deployment_view(store.get(deployments_table, deployment_id))


def list_deployments(deployments_table, request: paging.PageRequest) -> DeploymentList:
    found, next_cursor = store.list_recent(deployments_table, request)
    return DeploymentList(
        deployments=[deployment_summary(deployment) for deployment in found],
        nextCursor=next_cursor.encode() if next_cursor else None,
    )


def list_regions(reading: HostsReading, regions: tuple[str, ...] | None = None) -> RegionList:
    """Each region's (the reading's service's, or `regions`') goal and live hosts per build: one consistent read a
    region, and its real hosts from its fleet table (in its region), every region at once; no Scan."""
    regions = reading.regions if regions is None else regions
    goals = store.get_region_goals(reading.regions_table, regions, reading.service)
    real = regions_real_hosts(reading, regions)
    return RegionList(
        regions=[region_view(goals[region], reading.hosts_per_region, real[region]) for region in regions]
    )


def read_region(reading: HostsReading, region: str) -> RegionView:
    """One region of the reading service's; raises RegionNotFound, naming the regions, for any other name."""
    check_region(region, reading.regions)
    return list_regions(reading, (region,)).regions[0]
