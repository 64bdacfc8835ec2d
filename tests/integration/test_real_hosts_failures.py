"""Real hosts when something goes wrong, on the deployed stack: small fleets of code-deploy-agent processes
in one region (tools/fleet.py, as `make fleet` starts them), each test with a group of its own. An agent
killed in the middle of a download resumes from its verified pieces and ends on the goal; a regional copy
of an artifact tampered with is refused by every agent, nothing of it unpacked, and the wave's health gate
stops the deployment; an agent stopped for good is listed lost and left out of the next wave, which
succeeds on the others. Every agent (and app) is stopped at the end (helpers.local_agents)."""

from __future__ import annotations

import json
from pathlib import Path

import boto3

from code_deploy.builds.artifact import PieceList, pieces_key
from code_deploy.hosts import fleet
from tests.integration.helpers import (
    DEPLOYMENT_SECONDS,
    EXAMPLES,
    FINISHED,
    agent_dir,
    auto_deployment,
    deploy,
    every_app_answers,
    finished,
    group_hosts,
    health,
    http,
    kill_agents,
    listed_lost,
    local_agents,
    push,
    wait_for,
)
from tools import fleet as local_fleet
from tools.fleet import AgentTiming

AGENTS = 2
# An application of a few 1 MiB pieces, fetched at 512 KiB/s: about 2 s a piece, time to kill it mid-way.
PADDING_BYTES = 5 * 1024 * 1024
DOWNLOAD_BYTES_PER_SECOND = 512 * 1024
QUICK = AgentTiming()  # the fleet's 2 s poll, no cap on downloads


def start_agents(
    base_dir: Path, group: str, region: str, agents: int = AGENTS, timing: AgentTiming = QUICK
) -> list[str]:
    """Starts the group's agents in the region (one process), once all have registered; their host ids."""
    registered = local_fleet.start(
        agents=agents, group=group, base_dir=base_dir, only_regions=[region], timing=timing, timeout=60
    )
    return registered[region]


def built(api: str, build_id: str) -> dict:
    """The build's record once it is built, its artifact's hashes in it."""

    def artifact() -> dict | None:
        status, build = http("GET", f"{api}/builds/{build_id}")
        assert status == 200, build
        assert build["status"] != "FAILED", build
        return build if build["status"] == "SUCCEEDED" and build["artifact"] else None

    return wait_for(artifact, f"{build_id} built")


# --- an agent killed in the middle of a download ------------------------------------------------------------


def verified_pieces(directory: Path, build_id: str) -> list[int]:
    """The pieces of the build's artifact the agent has on disk and verified (its downloads/<id>.verified.json)."""
    try:
        return json.loads((directory / "downloads" / f"{build_id}.verified.json").read_text())["verified"]
    except (FileNotFoundError, ValueError):
        return []


def test_an_agent_killed_mid_download_resumes_from_its_verified_pieces_and_ends_on_the_goal(
    api, region, fleet_table, tmp_path
):
    group, base_dir = "resume-itest", tmp_path / "fleet"
    slow = AgentTiming(download_bytes_per_second=DOWNLOAD_BYTES_PER_SECOND)
    with local_agents(fleet_table, group, base_dir):
        host_ids = start_agents(base_dir, group, region, timing=slow)
        directories = {host_id: agent_dir(base_dir, region, host_id) for host_id in host_ids}
        # Given an application of several pieces pushed as a build, which AutoDeploy takes to the agents
        build_id = push(local_fleet.padded_application("hello", PADDING_BYTES, tmp_path / "padded"))
        artifact = built(api, build_id)["artifact"]
        pieces = -(-artifact["sizeBytes"] // artifact["pieceBytes"])
        assert pieces >= 4, artifact

        # When every agent has verified some of the pieces but not all, their process is killed (SIGKILL)
        def partly_fetched() -> bool:
            return all(0 < len(verified_pieces(path, build_id)) < pieces for path in directories.values())

        wait_for(partly_fetched, f"each agent part-way through {build_id}", timeout=DEPLOYMENT_SECONDS)
        kill_agents(base_dir, region)
        verified = {host_id: verified_pieces(path, build_id) for host_id, path in directories.items()}
        assert all(0 < len(indexes) < pieces for indexes in verified.values()), verified
        # And started again
        assert start_agents(base_dir, group, region, timing=slow) == host_ids

        # Then the deployment succeeds, every agent on the build, having read only the pieces it lacked
        deployment = auto_deployment(api, build_id, FINISHED)
        assert deployment["status"] == "SUCCEEDED", deployment
        for host in group_hosts(api, region, group):
            report = host["lastReport"]
            assert (host["currentBuildId"], report["status"], report["deploymentId"]) == (
                build_id,
                "DEPLOYED",
                deployment["deploymentId"],
            ), host
            had = len(verified[host["hostId"]]) * artifact["pieceBytes"]
            assert 0 < report["downloadBytes"] <= artifact["sizeBytes"] - had, (report, verified, artifact)
        # And each application answers with it
        wait_for(lambda: every_app_answers(api, region, group, build_id), f"every application to answer {build_id}")


# --- a regional artifact tampered with ----------------------------------------------------------------------


def tamper(bucket: str, region: str, key: str, piece_bytes: int) -> None:
    """Flips a byte of the artifact's copy in the region's bucket (same size, same metadata), and puts beside
    it a piece list made for the tampered bytes: every piece checks out against that list, only the list's
    root, which the build's record keeps, does not."""
    s3 = boto3.client("s3", region_name=region)
    original = s3.get_object(Bucket=bucket, Key=key)
    content = bytearray(original["Body"].read())
    content[len(content) // 2] ^= 0xFF
    s3.put_object(
        Bucket=bucket, Key=key, Body=bytes(content), Metadata=original["Metadata"], ContentType=original["ContentType"]
    )
    tampered_pieces = PieceList.of(bytes(content), piece_bytes).to_json().encode()
    s3.put_object(Bucket=bucket, Key=pieces_key(key), Body=tampered_pieces, ContentType="application/json")


def test_a_tampered_regional_artifact_is_refused_by_every_agent(api, region, buckets, fleet_table, tmp_path):
    group, base_dir = "tamper-itest", tmp_path / "fleet"
    # Given two builds replicated to every region (AutoDeploy rolled each out), no agent of the group running
    before, tampered = push(EXAMPLES / "hello"), push(EXAMPLES / "hello")
    for build_id in (before, tampered):
        auto_deployment(api, build_id, FINISHED)
    # And the second's copy in the region's bucket tampered with, its piece list made to match
    artifact = built(api, tampered)["artifact"]
    tamper(buckets[region], region, artifact["key"], artifact["pieceBytes"])
    with local_agents(fleet_table, group, base_dir):
        # And the group's agents running the first, deployed to them
        host_ids = start_agents(base_dir, group, region)
        assert finished(api, deploy(api, {"buildId": before, "regions": [region]}), DEPLOYMENT_SECONDS)["status"] == (
            "SUCCEEDED"
        )
        wait_for(lambda: every_app_answers(api, region, group, before), f"every application to answer {before}")

        # When the tampered build is deployed to them
        deployment_id = deploy(api, {"buildId": tampered, "regions": [region]})
        view = finished(api, deployment_id, DEPLOYMENT_SECONDS)

        # Then every agent refused it for its checksum (the piece list's root), still on the first build, and
        # reported so again when the rollback's goal found it there
        for host in group_hosts(api, region, group):
            failure = host["lastFailure"]
            assert (failure["deploymentId"], failure["buildId"], failure["status"], failure["reason"]) == (
                deployment_id,
                tampered,
                "FAILED",
                "checksum",
            ), host
            assert "root" in failure["outputTail"] and failure["hook"] is None, failure
            assert host["currentBuildId"] == before, host
            assert (host["lastReport"]["deploymentId"], host["lastReport"]["buildId"]) == (deployment_id, before)
        # And nothing of it was unpacked or kept, `current` untouched, every application still answering
        for host_id in host_ids:
            directory = agent_dir(base_dir, region, host_id)
            assert (directory / "current").resolve() == (directory / "releases" / before).resolve()
            assert [path.name for path in (directory / "releases").iterdir() if tampered in path.name] == []
            assert list((directory / "downloads").glob(f"{tampered}*")) == []
        assert every_app_answers(api, region, group, before)
        # And the wave's health gate stopped the deployment, judged on the real hosts
        assert view["status"] == "ROLLED_BACK", view
        assert f"{AGENTS} of {AGENTS} hosts failed" in view["reason"] and "real hosts" in view["reason"], view


# --- an agent stopped for good ------------------------------------------------------------------------------


def test_an_agent_stopped_for_good_is_lost_and_left_out_of_the_next_wave(api, region, fleet_table, tmp_path):
    group, base_dir = "lost-itest", tmp_path / "fleet"
    with local_agents(fleet_table, group, base_dir):
        # Given two agents of the group, then the fleet started again with the first only
        live, stopped = start_agents(base_dir, group, region)
        assert local_fleet.stop(base_dir) == 0
        assert start_agents(base_dir, group, region, agents=1) == [live]
        # And the second, silent past the region's lost-after time, listed lost
        assert listed_lost(api, fleet_table, region, group, stopped)[stopped] == "lost"

        # When a build is pushed, and AutoDeploy takes it to the region's hosts in one wave
        build_id = push(EXAMPLES / "hello")
        deployment = auto_deployment(api, build_id, FINISHED)

        # Then the wave held the live agent alone, which deployed it: the deployment succeeded, nothing failed
        assert deployment["status"] == "SUCCEEDED", deployment
        assert deployment["regions"][region]["hostsFailed"] == 0, deployment
        # and it lists the host its wave left out
        assert stopped in deployment["regions"][region]["realHostsLeftOut"], deployment
        tally = fleet.get_tally(fleet_table, group)
        assert (tally.deployment_id, tally.build_id, tally.expected, tally.reported) == (
            deployment["deploymentId"],
            build_id,
            1,
            1,
        ), tally
        hosts = {host["hostId"]: host for host in group_hosts(api, region, group)}
        assert (hosts[live]["state"], hosts[live]["currentBuildId"]) == ("deployed", build_id), hosts[live]
        assert hosts[live]["lastReport"]["deploymentId"] == deployment["deploymentId"]
        assert health(hosts[live])["buildId"] == build_id
        # And the lost one is listed lost, untouched, with no report of the deployment (a run before this one
        # on the same stack may have left it an older one)
        assert (hosts[stopped]["state"], hosts[stopped]["currentBuildId"] != build_id) == ("lost", True), hosts
        assert (hosts[stopped]["lastReport"] or {}).get("deploymentId") != deployment["deploymentId"], hosts
        # And the region counts it apart from its live hosts
        status, region_view = http("GET", f"{api}/regions/{region}")
        assert status == 200 and region_view["hostsLost"] >= 1, region_view
