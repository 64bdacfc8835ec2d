"""The control plane's side of the agents' contract (code_deploy.hosts.fleet) over moto, with host items
written by the agent's own code (code_deploy_agent.host_item), as a real agent writes them."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from code_deploy.hosts import fleet, fleet_wave, report_metrics
from code_deploy_agent import host_item as agent_items
from code_deploy_agent import target as agent_target
from code_deploy_agent.aws_region import AwsRegion

REGION = "us-west-2"
DEPLOYMENT, BUILD, OLD = "deploy-20261206T000000Z-0000000a", "build-20261206T000000Z-0000000b", "build-old"


@pytest.fixture
def table(stack):
    return stack.fleet(REGION)


def register(table, host_id: str, group: str = "web", heartbeat_at: float | None = None) -> None:
    """What an agent writes when it starts, through its own attribute builder."""
    now = time.time() if heartbeat_at is None else heartbeat_at
    attributes = agent_items.registration(
        host_id=host_id,
        group=group,
        region=REGION,
        zone="a",
        address="127.0.0.1",
        app_port=8000,
        agent_version="test",
        now=now,
        state=agent_items.IDLE,
        current_build_id=OLD,
        previous_build_id=None,
    )
    update(table, host_id, attributes)


def update(table, host_id: str, attributes: dict) -> None:
    """Through the agent's own writer: UpdateItem of named attributes."""
    AwsRegion(REGION, table.name, "no-bucket").update_host(host_id, attributes)


def report(table, host_id: str, status: str, build: str = BUILD, deployment: str = DEPLOYMENT) -> dict:
    outcome = agent_items.Report(deployment_id=deployment, wave=1, build_id=build, status=status)
    update(table, host_id, agent_items.outcome(outcome, build if status == "DEPLOYED" else OLD, OLD))
    return table.get_item(Key={"pk": fleet.host_key(host_id)})["Item"]


@given(
    st.text(min_size=1, max_size=40),
    st.text(min_size=1, max_size=40),
    st.decimals(min_value=0, max_value=100, places=3),
)
def test_the_control_plane_and_the_agent_put_a_host_in_the_same_waves(deployment_id, host_id, percent):
    assert fleet.in_waves(deployment_id, host_id, percent) == agent_target.in_waves(deployment_id, host_id, percent)
    assert fleet.group_shard("web", host_id) == agent_items.group_shard("web", host_id)


def test_a_groups_hosts_are_listed_from_the_index_without_a_scan(table):
    for number in range(40):
        register(table, f"host-{number:03d}", group="web" if number % 4 else "api")
    hosts = fleet.group_hosts(table, "web")
    assert [host.host_id for host in hosts] == [f"host-{n:03d}" for n in range(40) if n % 4]
    assert {host.current_build_id for host in hosts} == {OLD}


def test_a_wave_holds_its_slices_live_hosts_and_leaves_the_lost_out(table):
    now = time.time()
    for number in range(60):
        register(table, f"host-{number:03d}", heartbeat_at=now - (500 if number % 10 == 0 else 1))
    hosts = fleet.group_hosts(table, "web")
    first = fleet.wave_hosts(hosts, DEPLOYMENT, (0, 50), now, lost_after=90)
    second = fleet.wave_hosts(hosts, DEPLOYMENT, (50, 100), now, lost_after=90)
    # Every host is in exactly one of the two waves, the lost ones left out of both
    assert set(first.members).isdisjoint(second.members)
    assert len(first.members) + len(second.members) + len(first.lost) + len(second.lost) == 60
    assert set(first.lost) | set(second.lost) == {f"host-{n:03d}" for n in range(0, 60, 10)}
    assert all(fleet.in_waves(DEPLOYMENT, host, 50) for host in first.members)


def goal(seq: int, build: str = BUILD) -> fleet.Goal:
    artifact = fleet.ArtifactRef("builds/x.zip", 10, "s", 1024, "r", "p")
    return fleet.Goal("web", build, OLD, DEPLOYMENT, seq, 1, 100, artifact)


def goal_copies(table, group: str = "web") -> list[dict | None]:
    """Every shard's copy of the group's goal, in shard order (None: a copy not written)."""
    return [table.get_item(Key={"pk": f"GOAL#{group}#{shard:02d}"}).get("Item") for shard in range(16)]


class DiesAfter:
    """The fleet table of a step that dies (its Lambda timed out, its process killed) after `writes`
    PutItems: what Step Functions then retries."""

    def __init__(self, table, writes: int) -> None:
        self.table, self.writes = table, writes

    def put_item(self, **request):
        if self.writes == 0:
            raise TimeoutError("the step died here")
        self.writes -= 1
        return self.table.put_item(**request)


def test_the_goal_is_written_to_a_copy_a_shard_and_each_agent_reads_its_own(table):
    # When a deployment sets the group's goal
    assert fleet.put_goal(table, goal(1), "now")
    # Then each of the 16 by-group shards has its copy, GOAL#<group>#<NN>, the whole goal in each
    copies = goal_copies(table)
    assert [copy["pk"] for copy in copies] == [f"GOAL#web#{shard:02d}" for shard in range(16)]
    assert {(copy["buildId"], copy["seq"], copy["cumulativePercent"]) for copy in copies} == {(BUILD, 1, 100)}
    # And an agent reads the copy of its own groupShard, the key it registers under
    for host_id in ("host-000", "host-001", "i-0abc"):
        shard = agent_items.group_shard("web", host_id)
        read = AwsRegion(REGION, table.name, "no-bucket").read_goal(shard)
        assert read["pk"] == f"GOAL#{shard}" and read["buildId"] == BUILD


def test_a_later_deployments_goal_is_not_overwritten_by_an_earlier_one(table):
    assert fleet.put_goal(table, goal(2, BUILD), "now")
    assert not fleet.put_goal(table, goal(1, "build-earlier"), "now")
    assert {copy["buildId"] for copy in goal_copies(table)} == {BUILD}


def test_a_goal_write_cut_short_is_finished_by_the_steps_retry(table):
    # Given the group on deployment 1's goal, and deployment 2's step dying after 7 of the 16 copies
    assert fleet.put_goal(table, goal(1, OLD), "now")
    with pytest.raises(TimeoutError):
        fleet.put_goal(DiesAfter(table, 7), goal(2), "now")
    assert [copy["buildId"] for copy in goal_copies(table)] == [BUILD] * 7 + [OLD] * 9
    # When Step Functions retries the step
    assert fleet.put_goal(table, goal(2), "now")
    # Then every copy holds deployment 2's goal
    assert {(copy["buildId"], copy["seq"]) for copy in goal_copies(table)} == {(BUILD, 2)}


def test_an_earlier_deployment_writes_no_copy_of_a_goal_a_later_one_has_begun(table):
    # Given a later deployment (seq 3) that wrote 7 copies before its step died
    with pytest.raises(TimeoutError):
        fleet.put_goal(DiesAfter(table, 7), goal(3), "now")
    # When an earlier deployment (seq 2) steers the group
    held = fleet.put_goal(table, goal(2, "build-earlier"), "now")
    # Then it does not hold the group's goal, and no agent can read its goal in any copy
    assert not held
    assert [copy and copy["buildId"] for copy in goal_copies(table)] == [BUILD] * 7 + [None] * 9
    # And the later deployment's retry takes every copy
    assert fleet.put_goal(table, goal(3), "now")
    assert {copy["buildId"] for copy in goal_copies(table)} == {BUILD}


def test_each_report_counts_once_and_the_last_completes_the_wave(table):
    # Given a wave of three registered hosts, its tally opened and its wait's token kept
    hosts = [f"host-{n}" for n in range(3)]
    for host in hosts:
        register(table, host)
    tally = fleet.start_tally(table, fleet.Tally("web", DEPLOYMENT, BUILD, 1, (0, 100), expected=3))
    assert fleet.keep_task_token(table, "web", tally.wave_id, "token-1").task_token == "token-1"
    # When the first reports, and the stream delivers its item twice
    item = report(table, hosts[0], "DEPLOYED")
    assert fleet.take_report(table, item) is None
    assert fleet.take_report(table, item) is None
    assert fleet.get_tally(table, "web").reported == 1
    # And the second fails, then the third is deployed
    assert fleet.take_report(table, report(table, hosts[1], "FAILED")) is None
    completed = fleet.take_report(table, report(table, hosts[2], "DEPLOYED"))
    # Then the last report completed the wave, whose token the caller wakes
    assert completed is not None and completed.reported == 3 and completed.task_token == "token-1"
    # And the outcome counts the failed host as failed
    outcome = fleet.wave_outcome(fleet.group_hosts(table, "web"), completed, time.time(), lost_after=90)
    assert (outcome.expected, outcome.deployed, outcome.failed) == (3, 2, 1)


def test_a_report_about_another_deployment_or_build_counts_for_nothing(table):
    register(table, "host-0")
    fleet.start_tally(table, fleet.Tally("web", DEPLOYMENT, BUILD, 1, (0, 100), expected=1))
    assert fleet.take_report(table, report(table, "host-0", "DEPLOYED", deployment="deploy-other")) is None
    assert fleet.take_report(table, report(table, "host-0", "DEPLOYED", build="build-other")) is None
    assert fleet.get_tally(table, "web").reported == 0


def requests_sent(table) -> list[str]:
    """The names of the DynamoDB requests the table's client sends from now on."""
    sent: list[str] = []
    table.meta.client.meta.events.register("before-call.dynamodb", lambda model, **_: sent.append(model.name))
    return sent


def test_a_heartbeat_of_a_host_whose_report_was_counted_reads_nothing(table):
    # Given a wave of two hosts, one of which reported and was counted
    register(table, "host-0")
    fleet.start_tally(table, fleet.Tally("web", DEPLOYMENT, BUILD, 1, (0, 100), expected=2))
    fleet.take_report(table, report(table, "host-0", "DEPLOYED"))
    # When its heartbeat reaches the stream function: the new image, with its report and countedFor
    update(table, "host-0", agent_items.heartbeat(time.time()))
    heartbeat = table.get_item(Key={"pk": fleet.host_key("host-0")})["Item"]
    sent = requests_sent(table)
    assert fleet.take_report(table, heartbeat) is None
    # Then the function sends nothing: no read of the group's tally, no transaction
    assert sent == []
    assert fleet.get_tally(table, "web").reported == 1


def test_a_report_not_counted_yet_is_counted_at_a_later_record_of_its_host(table):
    # Given a host that reported before its wave's tally opened (nothing to count it for then)
    register(table, "host-0")
    assert fleet.take_report(table, report(table, "host-0", "DEPLOYED")) is None
    fleet.start_tally(table, fleet.Tally("web", DEPLOYMENT, BUILD, 1, (0, 100), expected=1))
    # When its next heartbeat reaches the stream function
    update(table, "host-0", agent_items.heartbeat(time.time()))
    completed = fleet.take_report(table, table.get_item(Key={"pk": fleet.host_key("host-0")})["Item"])
    # Then the report is counted, once, and completes the wave
    assert completed is not None and completed.reported == 1
    # And a later deployment's report of the same host is counted for its own wave
    later = fleet.start_tally(table, fleet.Tally("web", "deploy-later", "build-later", 1, (0, 100), expected=1))
    item = report(table, "host-0", "DEPLOYED", build="build-later", deployment="deploy-later")
    assert fleet.take_report(table, item) == replace(later, reported=1)


def test_a_silent_member_counts_as_failed_when_the_wave_ends(table):
    for host in ("host-0", "host-1"):
        register(table, host)
    tally = fleet.start_tally(table, fleet.Tally("web", DEPLOYMENT, BUILD, 1, (0, 100), expected=2))
    fleet.take_report(table, report(table, "host-0", "DEPLOYED"))
    outcome = fleet.wave_outcome(fleet.group_hosts(table, "web"), tally, time.time(), lost_after=90)
    assert (outcome.deployed, outcome.failed) == (1, 1)


def test_a_retried_wave_finds_its_tally_and_keeps_its_count(table):
    register(table, "host-0")
    tally = fleet.Tally("web", DEPLOYMENT, BUILD, 1, (0, 100), expected=1)
    fleet.start_tally(table, tally)
    fleet.take_report(table, report(table, "host-0", "DEPLOYED"))
    again = fleet.start_tally(table, tally)
    assert again.reported == 1
    # A token kept for a wave the group has moved on from is refused
    assert fleet.keep_task_token(table, "web", f"{DEPLOYMENT}#2#{BUILD}", "late") is None


def test_groups_are_noted_once_each(table):
    for group in ("web", "api", "web"):
        fleet.note_group(table, group)
    assert fleet.groups(table) == ["api", "web"]


def order(wave: int = 1, percents: tuple[float, float] = (0, 100), build: str = BUILD) -> fleet_wave.WaveOrder:
    artifact = fleet_wave.ArtifactRef("builds/b.zip", 10, "sha", 1024, "root", "builds/b.zip.pieces.json")
    return fleet_wave.WaveOrder(DEPLOYMENT, build, OLD, 3, wave, percents, artifact)


def test_a_wave_steers_every_group_and_waits_for_its_live_hosts(table):
    # Given two groups, one with a lost host
    now = time.time()
    for number in range(6):
        register(table, f"web-{number}", group="web")
    register(table, "api-0", group="api")
    register(table, "api-1", group="api", heartbeat_at=now - 1000)
    for group in ("web", "api"):
        fleet.note_group(table, group)
    # When the first wave, to every host, is steered
    steered = {wave.group: wave for wave in fleet_wave.steer(table, order(), ("now", now), lost_after=90)}
    # Then each group's goal names the build at 100 %, and its tally waits for its live hosts only
    copies = goal_copies(table)
    assert {
        (copy["buildId"], copy["previousBuildId"], copy["cumulativePercent"], copy["pieceRoot"]) for copy in copies
    } == {(BUILD, OLD, 100, "root")}
    assert (steered["web"].expected, steered["api"].expected, steered["api"].lost) == (6, 1, ("api-1",))
    waves = {group: wave.wave_id for group, wave in steered.items()}
    # And the wait is not complete until every expected host reports
    assert not fleet_wave.await_reports(table, waves, "token")
    for number in range(6):
        fleet.take_report(table, report(table, f"web-{number}", "DEPLOYED" if number else "FAILED"))
    fleet.take_report(table, report(table, "api-0", "DEPLOYED"))
    assert fleet_wave.await_reports(table, waves, "token")
    outcome = fleet_wave.count(table, waves, time.time(), lost_after=90)
    assert (outcome.expected, outcome.deployed, outcome.failed) == (7, 6, 1)


def test_a_rollback_is_a_wave_of_the_build_returned_to_over_every_host(table):
    for number in range(3):
        register(table, f"web-{number}")
    fleet.note_group(table, "web")
    # Given a wave's goal cut short after 5 of its copies (the step then failed for good)
    with pytest.raises(TimeoutError):
        fleet.put_goal(DiesAfter(table, 5), goal(3), "now")
    # When the deployment rolls back: its seq takes every copy, those its wave wrote too
    [rollback] = fleet_wave.steer(table, order(fleet_wave.ROLLBACK_WAVE, build=OLD), ("now", time.time()), 90)
    copies = goal_copies(table)
    assert {(copy["buildId"], copy["cumulativePercent"], "previousBuildId" in copy) for copy in copies} == {
        (OLD, 100, False)
    }
    assert rollback.expected == 3 and rollback.wave_id == f"{DEPLOYMENT}#0#{OLD}"


def test_an_artifact_without_hashes_steers_no_real_host():
    assert fleet_wave.ArtifactRef.from_dict({"key": "test-file.zip", "bytes": 3}) is None


def test_each_counted_report_is_published_once_as_metrics_with_its_hooks_time(table):
    # Given a wave of two hosts, one of which reports its hooks' time
    for host in ("host-0", "host-1"):
        register(table, host)
    fleet.start_tally(table, fleet.Tally("web", DEPLOYMENT, BUILD, 1, (0, 100), expected=2))
    counted: list[dict] = []
    timed = agent_items.Report(
        deployment_id=DEPLOYMENT, wave=1, build_id=BUILD, status="DEPLOYED", hook_seconds={"ValidateService": 0.25}
    )
    update(table, "host-0", agent_items.outcome(timed, BUILD, OLD))
    item = table.get_item(Key={"pk": fleet.host_key("host-0")})["Item"]
    # When the stream delivers it twice, and the other host's failure once
    fleet.take_report(table, item, on_counted=counted.append)
    fleet.take_report(table, item, on_counted=counted.append)
    fleet.take_report(table, report(table, "host-1", "FAILED"), on_counted=counted.append)
    # Then each report is published once: a host deployed with its hook's time, a host failed
    data = [report_metrics.report_metrics(one, REGION) for one in counted]
    assert [[(d["MetricName"], d["Value"]) for d in datum] for datum in data] == [
        [("HostsDeployed", 1), ("HookSeconds", 0.25)],
        [("HostsFailed", 1)],
    ]
    assert data[0][1]["Dimensions"] == [
        {"Name": "Region", "Value": REGION},
        {"Name": "Hook", "Value": "ValidateService"},
    ]
