"""The capacity and cost model: its arithmetic on a scenario small enough to count by hand, properties
that must hold at any scale, and the first-limit finder pushed past each limit in turn."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capacity import agents, model, scenarios, templates
from capacity.model import (
    GIB,
    MIB,
    Assumptions,
    CapacityMode,
    FunctionSettings,
    LimitKind,
    PriceTable,
    RecordLayout,
    Scenario,
    TemplateSettings,
)

TEMPLATE = TemplateSettings(
    api=FunctionSettings(512, 60),
    build_worker=FunctionSettings(512, 60),
    replication_starter=FunctionSettings(512, 60),
    copy=FunctionSettings(512, 900),
    regional_sync=FunctionSettings(1024, 300),
    copy_function_for_every_copy=False,
    multipart_copy_threshold_bytes=8 * MIB,
    multipart_copy_part_bytes=5 * MIB,
    replication_top_level_transitions=8,
    replication_transitions_per_destination=2,
    replication_map_max_concurrency=10,
    api_rate_limit=100,
    api_burst_limit=200,
    build_queue_batch_size=10,
    hosts_per_region_max=200_000,
    host_record_writers=8,
)
ASSUMPTIONS = Assumptions(host_record_bytes=284)
# 2 regions x 10 hosts, a 1 MiB artifact: every count below is checked by hand in the tests.
SMALL = Scenario(
    name="2 x 10",
    deployments_per_day=10,
    regions=2,
    hosts_per_region=10,
    artifact_bytes=MIB,
    piece_bytes=64 * 1024,
    host_bandwidth=125e6,
    bucket_egress=12.5e9,
    seeds=3,
    fanout=4,
    status_polls_per_deployment=0,
    idempotency_keys=False,
)
DESIGN = scenarios.design_scenario()
PRICES = scenarios.load_prices()
QUOTAS = scenarios.load_quotas()


def usage_of(scenario: Scenario, template: TemplateSettings = TEMPLATE) -> dict[str, float]:
    return model.usage(model.work(scenario, template, ASSUMPTIONS))


def test_small_scenario_counts_by_hand():
    used = usage_of(SMALL)

    assert used["apigateway.requests"] == 1  # the POST, no polls
    assert used["sqs.requests"] == 3  # send, receive, delete
    # API, worker, starter, a sync per region (copies by CopyObject), and the deployment step: AutoDeploy,
    # the rollout's start and finish, a wave per region
    assert used["lambda.requests"] == 1 + 1 + 1 + 2 + (1 + 2 + 2)
    # replication: 8 states + 2 a destination; rollout: start, the region waves' Map, finish, the regions'
    # Map once, and in each region its wave, its health gate, its end
    assert used["stepfunctions.state_transitions"] == (8 + 2 * 2) + (3 + 1 + 2 * 3)
    # one PUT (under 8 MiB), a COPY per region, the retention tags: pinned before and after, one released
    assert used["s3.tier1_requests"] == 1 + 2 + 3 * 2
    # HEADs: worker, workflow, a sync per region; GETs: 3 seeds x one 8 MiB range each, per region
    assert used["s3.tier2_requests"] == 1 + 1 + 2 + 3 * 2
    # builds 3 puts/updates, tracking put + update, 20 host records of 284 bytes, 2 summaries; accepted in
    # a transaction (x2): the deployment, 2 regions, 2 goals; the steps: status twice, each region's wave
    # 2 progress puts and its hosts per build; a host-state block (10 hosts: 700 bytes) per region
    assert used["dynamodb.write_units"] == 3 + 2 + 20 + 2 + 2 * (1 + 2 + 2) + (2 + 2 * 3) + 2
    # acceptance: each region's goal twice, the previous deployment; steps: 4 Queries (start, 2 waves,
    # finish) and each wave's goal; each wave reads the region's one block
    assert used["dynamodb.read_units"] == (2 * 2 + 1) + (4 + 2) + 2
    assert used["transfer.inter_region_gb"] == pytest.approx(2 * MIB / GIB)


def test_small_scenario_leaves_countable_records():
    counts = model.counts(SMALL, TEMPLATE, ASSUMPTIONS)

    assert counts.host_records == 20
    assert counts.host_record_items == 20
    assert counts.rollout_summaries == 2
    assert counts.tracking_rows == 1
    assert counts.replication_executions == 1
    assert counts.replication_state_transitions == 12
    assert counts.artifact_copies == 2
    assert counts.artifact_objects == 9  # each artifact, its piece list and torrent, in the global bucket and 2 regions
    assert counts.stored_artifact_bytes == 3 * MIB
    assert counts.deployment_records == 3  # the deployment and its 2 regions
    assert counts.region_goals == 2
    assert counts.rollout_state_transitions == 10
    assert counts.deployment_step_invocations == 5
    assert counts.host_state_blocks_written == 2


def test_polls_and_idempotency_add_their_requests_and_units():
    used = usage_of(replace(SMALL, status_polls_per_deployment=5, idempotency_keys=True))

    assert used["apigateway.requests"] == 6
    # each poll: a consistent Query of the build and 2 summaries (1 unit) + GetItem of the tracking row (1)
    assert used["dynamodb.read_units"] == 13 + 5 * 2
    assert used["dynamodb.write_units"] == 47 + 2


def test_large_artifacts_are_uploaded_and_copied_in_parts():
    gib = replace(SMALL, artifact_bytes=GIB)
    used = usage_of(gib)

    # upload: create + 128 parts of 8 MiB + complete; copy (above the 8 MiB threshold, by the copy
    # function): create + 205 parts of 5 MiB + complete, per region; the 6 retention tags
    assert used["s3.tier1_requests"] == (2 + 128) + 2 * (2 + 205) + 6
    assert used["lambda.requests"] == 10 + 2
    # the regional layout's copy function copies every artifact, small ones too, by CopyObject
    every_copy = replace(TEMPLATE, copy_function_for_every_copy=True)
    assert usage_of(SMALL, every_copy)["lambda.requests"] == 10 + 2
    assert usage_of(SMALL, every_copy)["s3.tier1_requests"] == 1 + 2 + 6
    # and, per copy, HEADs the source and the copy and reads the tag of the copy it replaces
    assert usage_of(SMALL, every_copy)["s3.tier2_requests"] == usage_of(SMALL)["s3.tier2_requests"] + 2 * (2 + 1)


def test_per_shard_records_write_one_item_a_shard():
    per_host = model.host_record_writes(replace(SMALL, hosts_per_region=100_000), ASSUMPTIONS, 100_000)
    per_shard = model.host_record_writes(
        replace(SMALL, hosts_per_region=100_000, record_layout=RecordLayout.PER_SHARD), ASSUMPTIONS, 100_000
    )

    assert per_host.items == per_host.write_units == 100_000
    assert per_host.batch_calls == 4_000
    assert per_shard.items == 125  # 100,000 hosts / 800 a key
    # 120 bytes + 800 hosts x 16 bytes = 12,920 bytes: 13 units an item
    assert per_shard.write_units == 125 * 13
    assert per_shard.batch_calls == 5


def test_cost_is_usage_times_price():
    only_writes = PriceTable(
        "test",
        "2026-11-23",
        {key: replace(price, usd=0.0) for key, price in PRICES.prices.items()}
        | {"dynamodb.write_units": replace(PRICES.prices["dynamodb.write_units"], usd=1.0, per=1.0)},
    )

    cost = model.cost(SMALL, TEMPLATE, ASSUMPTIONS, only_writes)

    assert cost.per_deployment["DynamoDB"] == 47
    assert cost.deployment_total == 47
    assert cost.month_total(SMALL.deployments_per_day) == pytest.approx(47 * 10 * model.DAYS_PER_MONTH)


def test_the_price_and_quota_tables_are_dated_and_sourced():
    assert PRICES.retrieved and PRICES.region == "us-east-1"
    for key, price in PRICES.prices.items():
        assert price.usd > 0 and price.source.startswith("https://aws.amazon.com/"), key
    for key, quota in QUOTAS.items():
        assert quota.value > 0 and quota.source.startswith("https://docs.aws.amazon.com/"), key
    # every usage the model bills has a price
    every_usage = set(usage_of(replace(DESIGN, cross_az_peer_fraction=0.5))) | {"dynamodb.pitr_gb_month"}
    assert every_usage <= set(PRICES.prices)


@settings(max_examples=40, deadline=None)
@given(
    hosts=st.integers(min_value=1, max_value=1_000_000),
    more=st.integers(min_value=1, max_value=1_000_000),
    layout=st.sampled_from(list(RecordLayout)),
    mode=st.sampled_from(list(CapacityMode)),
)
def test_more_hosts_never_cost_less(hosts, more, layout, mode):
    scenario = replace(DESIGN, record_layout=layout, capacity_mode=mode)
    fewer = model.cost(replace(scenario, hosts_per_region=hosts), TEMPLATE, ASSUMPTIONS, PRICES)
    larger = model.cost(replace(scenario, hosts_per_region=hosts + more), TEMPLATE, ASSUMPTIONS, PRICES)

    assert larger.deployment_total >= fewer.deployment_total
    assert larger.month_total(scenario.deployments_per_day) >= fewer.month_total(scenario.deployments_per_day)


@pytest.mark.parametrize("mode", list(CapacityMode))
@pytest.mark.parametrize("deployments", [1, 100, 2_000, 50_000])
def test_doubling_deployments_doubles_what_they_cost(deployments, mode):
    scenario = replace(DESIGN, deployments_per_day=deployments, capacity_mode=mode)
    once = model.cost(scenario, TEMPLATE, ASSUMPTIONS, PRICES)
    twice = model.cost(replace(scenario, deployments_per_day=2 * deployments), TEMPLATE, ASSUMPTIONS, PRICES)
    idle = once.fixed_per_month["SQS"]  # the event source's polls of an empty queue: the same either way

    assert twice.month_total(2 * deployments) - idle == pytest.approx(2 * (once.month_total(deployments) - idle))


@pytest.mark.parametrize(
    ("pushed", "first"),
    [
        (replace(SMALL, regions=11), "Replication Map concurrency vs regions"),
        (replace(SMALL, hosts_per_region=250_000), "HostsPerRegion bound in the template"),
        (replace(SMALL, artifact_bytes=600 * MIB), "Build worker memory (artifact built in memory)"),
        (replace(SMALL, status_polls_per_deployment=1_000_000), "API stage throttling (template)"),
    ],
)
def test_first_limit_names_the_limit_pushed_past(pushed, first):
    assert model.first_limit(model.limits(SMALL, TEMPLATE, ASSUMPTIONS, QUOTAS)).headroom > 1

    found = model.limits(pushed, TEMPLATE, ASSUMPTIONS, QUOTAS)

    assert model.first_limit(found).name == first
    assert model.first_limit(found).headroom < 1


def test_first_aws_quota_at_the_design_scale_grows_into_the_host_record_table():
    pushed = replace(DESIGN, deployments_per_day=20_000)

    found = model.limits(pushed, TEMPLATE, ASSUMPTIONS, QUOTAS)

    quota = model.first_limit(found, LimitKind.QUOTA)
    assert quota.name == "DynamoDB writes, one region's host-record table"
    assert quota.headroom < 1
    # 20,000 a day, 3 times as many at the peak, each writing 100,000 one-unit records in the region
    # (within 2%: the syncs also spend 0.2 s each not writing)
    assert quota.demand == pytest.approx(20_000 * 3 / 86_400 * 100_000, rel=0.02)


def test_breaking_points_find_each_limit_where_it_breaks():
    points = {
        point.limit: point for point in model.breaking_points(SMALL, TEMPLATE, ASSUMPTIONS, QUOTAS, "hosts_per_region")
    }

    assert points["HostsPerRegion bound in the template"].value == pytest.approx(200_000, rel=0.002)
    assert points["Step Functions StartExecution rate"].value is None  # hosts do not start executions
    regions = {point.limit: point for point in model.breaking_points(SMALL, TEMPLATE, ASSUMPTIONS, QUOTAS, "regions")}
    assert math.floor(regions["Replication Map concurrency vs regions"].value) == 10


def test_rollout_time_is_the_swarms_closed_form_per_wave():
    one_wave = model.rollout_seconds(DESIGN, ASSUMPTIONS)
    waves = model.rollout_seconds(replace(DESIGN, waves=4), replace(ASSUMPTIONS, bake_seconds_between_waves=60))

    assert one_wave == pytest.approx(model.pipelined_broadcast_seconds(DESIGN.swarm()))
    assert waves == pytest.approx(4 * model.pipelined_broadcast_seconds(DESIGN.swarm(25_000)) + 3 * 60)
    assert model.rollout_seconds(replace(DESIGN, p2p=False), ASSUMPTIONS) > 10 * one_wave


def test_the_tool_reads_the_templates_settings():
    template, parameters = templates.template_settings()

    assert template.regional_sync.memory_mb == int(
        templates.load_template(templates.REPO / "regional.yaml")["Resources"]["RegionalSyncFunction"]["Properties"][
            "MemorySize"
        ]
    )
    assert template.replication_top_level_transitions >= 5
    assert template.replication_transitions_per_destination >= 1
    assert template.hosts_per_region_max >= int(parameters["HostsPerRegion"])


def test_replication_shape_follows_the_success_path():
    definition = {
        "StartAt": "Check",
        "States": {
            "Check": {"Type": "Choice", "Choices": [{"Next": "Copy"}], "Default": "Reject"},
            "Reject": {"Type": "Fail"},
            "Copy": {
                "Type": "Map",
                "MaxConcurrency": 5,
                "ItemProcessor": {"StartAt": "One", "States": {"One": {"Type": "Task", "End": True}}},
                "Next": "Done",
            },
            "Done": {"Type": "Pass", "End": True},
        },
    }

    shape = templates.replication_shape(definition)

    assert (shape.top_level_states, shape.states_per_destination, shape.map_max_concurrency) == (3, 1, 5)
    assert not shape.every_copy_invokes_a_function  # a Task without a Resource invokes no function
    definition["States"]["Copy"]["ItemProcessor"]["States"]["One"]["Resource"] = "arn:aws:states:::lambda:invoke"
    assert templates.replication_shape(definition).every_copy_invokes_a_function
    definition["States"]["Copy"]["ItemProcessor"] = {
        "StartAt": "Big?",
        "States": {
            "Big?": {"Type": "Choice", "Choices": [{"Next": "One"}], "Default": "Small"},
            "One": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": True},
            "Small": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:copyObject", "End": True},
        },
    }
    assert not templates.replication_shape(definition).every_copy_invokes_a_function


# What changes from one run to the next without the model changing.
VOLATILE_RESULTS = ("generatedAt",)


def make_capacity_arguments() -> list[str]:
    """`make capacity`'s arguments: the Makefile's LOCAL_PARAMS, each as --param."""
    makefile = (templates.REPO / "Makefile").read_text()
    local_params = re.search(r"^LOCAL_PARAMS := (.+)$", makefile, re.MULTILINE).group(1).split()
    return [argument for param in local_params for argument in ("--param", param)]


def test_the_committed_results_are_what_make_capacity_gives_now(tmp_path):
    # Given the model run as `make capacity` runs it (its own process), into a scratch folder
    subprocess.run(
        [sys.executable, "-m", "capacity", "--out", str(tmp_path), *make_capacity_arguments()],
        cwd=templates.REPO,
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join(str(templates.REPO / path) for path in ("layers/code_deploy", "agent")),
        },
        check=True,
        capture_output=True,
    )
    fresh = json.loads((tmp_path / "results.json").read_text())
    committed = json.loads((templates.REPO / "capacity" / "results.json").read_text())
    # Then capacity/results.json holds what it gives, but for the fields that change every run
    for field in VOLATILE_RESULTS:
        fresh.pop(field, None)
        committed.pop(field, None)
    assert fresh == committed, "capacity/results.json is stale: run `make capacity` and commit what it writes"


def test_rollout_shape_follows_the_steps_answers():
    # Given a rollout workflow: a start and a finish step around a Map of region waves, each a Map of
    # regions, each region a loop of its wave step and a gate on the step's answer (a bake waits first)
    region = {
        "StartAt": "Wave",
        "States": {
            "Wave": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Next": "Gate"},
            "Gate": {
                "Type": "Choice",
                "Choices": [
                    {"Condition": "{% $states.input.next = 'WAVE' %}", "Next": "Wave"},
                    {"Condition": "{% $states.input.next = 'BAKE' %}", "Next": "Bake"},
                ],
                "Default": "Done",
            },
            "Bake": {"Type": "Wait", "Seconds": 5, "Next": "Wave"},
            "Done": {"Type": "Succeed"},
        },
    }
    step = {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke"}
    definition = {
        "StartAt": "Start",
        "States": {
            "Start": {**step, "Next": "RegionWaves"},
            "RegionWaves": {
                "Type": "Map",
                "ItemProcessor": {
                    "StartAt": "Regions",
                    "States": {"Regions": {"Type": "Map", "ItemProcessor": region, "End": True}},
                },
                "Next": "Finish",
            },
            "Finish": {**step, "End": True},
        },
    }

    # When it is read
    shape = templates.rollout_shape(definition)

    # Then a region's wave is its step and its gate, its end one more state; the steps are counted: the
    # shape of the rollout as written (start, region waves, finish; a region's wave step and gate, its end)
    assert shape == model.ROLLOUT_AS_WRITTEN
    assert (shape.fixed_states, shape.states_per_region_wave, shape.states_per_region) == (3, 1, 1)
    assert (shape.states_per_wave, shape.fixed_invocations, shape.invocations_per_wave) == (2, 2, 1)
    # 2 region waves over 3 regions, 4 waves each
    assert shape.transitions(2, 3, 4) == 3 + 2 + 3 * (1 + 4 * 2)
    assert shape.invocations(3, 4) == 2 + 3 * 4


def test_the_tool_reads_the_rollout_workflows_asl():
    template, _ = templates.template_settings()

    # one deployment step a wave (it invokes the region's sync), and AutoDeploy's call from the replication
    assert template.rollout.invocations_per_wave == 1
    assert template.rollout.states_per_wave >= 2  # the step and the gate on its answer
    assert template.auto_deploy_invocations == 1
    assert template.deployment_step.timeout_seconds >= template.regional_sync.timeout_seconds


# --- the host agents (capacity.agents) -------------------------------------------------------------------

AGENT_SETTINGS = agents.AgentSettings(
    poll_seconds=10,
    poll_jitter=0.2,
    heartbeat_seconds=30,
    piece_bytes=MIB,
    goal_item_bytes=500,
    host_item_bytes=700,
    tally_item_bytes=1_200,
    group_shards=16,
    peer_item_bytes=300,
    stream_batch_size=100,
    host_reports=FunctionSettings(512, 60),
)
AGENT_ASSUMPTIONS = agents.AgentAssumptions()


def design_agents(design: agents.AgentDesign) -> agents.AgentLoad:
    return agents.agent_load(scenarios.design_scenario(), design, scenarios.agent_settings(), AGENT_ASSUMPTIONS)


def test_the_chosen_goal_mechanism_keeps_every_agent_rate_within_aws_quotas_at_the_design_scale():
    # Given 10 regions x 100,000 agents with the agent's own settings, and the design the model chooses
    load = design_agents(agents.chosen(scenarios.agent_settings()))

    # Then the hottest goal copy is read far below a partition's 3,000 read units/s, and no limit breaks
    assert load.goal.hot_item_read_units_per_second < 3_000 / 4
    assert all(limit.headroom >= 1 for limit in agents.agent_limits(load, scenarios.load_quotas()))


def test_one_goal_item_polled_every_10_s_by_100000_agents_is_a_hot_key():
    # Given the agents as first built: every agent of a region reads one goal item every 10 s, eventually
    # consistent, and HostReportsFunction reads the tally at every heartbeat of a host that reported
    load = design_agents(agents.first_built(scenarios.agent_settings()))

    # Then 10,000 reads/s at half a unit each make 5,000 read units/s on one partition: past its 3,000
    assert load.goal.reads_per_second == pytest.approx(10_000)
    assert load.goal.hot_item_read_units_per_second == pytest.approx(5_000)
    broken = {limit.name for limit in agents.agent_limits(load, scenarios.load_quotas()) if limit.headroom < 1}
    assert "DynamoDB reads, the hottest goal item (one partition)" in broken
    # and so are the tally read at every heartbeat, and every agent downloading from the bucket
    assert "DynamoDB reads, a group's tally item (HostReportsFunction)" in broken
    assert "S3 GET, a regional bucket's artifact (agents' ranged GETs)" in broken


def test_every_agent_reading_the_bucket_breaks_only_the_buckets_get_rate():
    # Given the agents of issue 21: a goal copy a by-group shard, the tally read for a report not counted
    # yet, every piece from the bucket (no peers)
    settings = scenarios.agent_settings()
    load = design_agents(replace(agents.as_built(settings), pieces_from_peers=False))

    # Then 100,000 agents' 10,000 goal reads/s spread over 16 copies: 312.5 read units/s on the hottest
    assert load.goal.reads_per_second == pytest.approx(10_000)
    assert load.goal.hot_item_read_units_per_second == pytest.approx(5_000 / 16)
    # and a heartbeat reads no tally
    assert load.tally_read_units_per_second == 0
    broken = {limit.name for limit in agents.agent_limits(load, scenarios.load_quotas()) if limit.headroom < 1}
    assert broken == {"S3 GET, a regional bucket's artifact (agents' ranged GETs)"}


def test_as_built_the_agents_fetch_from_peers_and_the_swarm_directory_fits():
    # Given the agents as built (code_deploy_agent.p2p): the chosen design, pieces from peers
    settings = scenarios.agent_settings()
    assert agents.as_built(settings) == agents.chosen(settings)
    load = design_agents(agents.as_built(settings))

    # Then a wave of 100,000 hosts announcing within a 10 s poll, over 32 keys, writes 312.5 units/s a key
    directory = next(limit for limit in agents.agent_limits(load, scenarios.load_quotas()) if "swarm" in limit.name)
    assert directory.demand == pytest.approx(100_000 / 10 / 32)
    assert directory.headroom > 3
    # and the bucket serves each wave's two origins: 2 x 10 GB in 1 MiB web seed requests over a download
    assert load.s3_gets_per_second < 5_500 / 10


def test_the_agents_requests_and_cost_by_hand():
    # Given 2 regions x 10 agents, a 1 MiB artifact in 1 MiB pieces, the goal copied to each of 16 shards
    design = agents.chosen(AGENT_SETTINGS)
    load = agents.agent_load(SMALL, design, AGENT_SETTINGS, AGENT_ASSUMPTIONS)
    used = model.usage(load.per_deployment)

    # Then a region's agents read 10 / 10 s = 1 goal a second, half a unit each, 1/16 of it on one copy
    assert load.goal.read_units_per_second == pytest.approx(0.5)
    assert load.goal.hot_item_read_units_per_second == pytest.approx(0.5 / 16)
    # a deployment: 16 goal copies a region; 3 writes a host (and the index's copy); a transaction of the
    # host (1 unit) and its tally (2 units) a report, doubled; in the swarm directory, 2 announcements a host
    # (the download is shorter than a renewal) and each region's 2 origin slots claimed
    assert used["dynamodb.write_units"] == 2 * 16 + 20 * 3 * 2 + 20 * 2 * (1 + 2) + 20 * 2 + 2 * 2
    # the tally read (1 unit, consistent) at each report and after each count; 3 pages of peers a host
    # (25 announcements of 300 bytes: 2 units, halved, eventually consistent)
    assert used["dynamodb.read_units"] == 20 * 2 + 20 * 3 * 1
    # each agent's torrent; the origins' one web seed request (2 regions, 2 origins)
    assert used["s3.tier2_requests"] == 20 + 2 * 2 * 1
    # Then the month: heartbeats (2 units with the index's copy) and goal reads, every second of 730 hours
    seconds = 730 * 3600
    steady = model.usage(load.steady)
    assert steady["dynamodb.write_units"] == pytest.approx(20 / 30 * 2 * seconds)
    assert steady["dynamodb.read_units"] == pytest.approx(2 * 0.5 * seconds)
    cost = agents.agent_cost(load, PRICES)
    unit = PRICES.unit_price
    assert cost.steady_per_month == pytest.approx(
        steady["dynamodb.write_units"] * unit("dynamodb.write_units")
        + steady["dynamodb.read_units"] * unit("dynamodb.read_units")
        + steady["lambda.requests"] * unit("lambda.requests")
        + steady["lambda.gb_seconds"] * unit("lambda.gb_seconds")
    )
    assert cost.per_month == pytest.approx(cost.steady_per_month + cost.per_deployment * 10 * 730 / 24)
    assert cost.per_deployment_all_in == pytest.approx(cost.per_month / (10 * 730 / 24))


def test_an_agent_converges_in_half_a_poll_on_average():
    mean, longest = agents.converge_seconds(agents.chosen(AGENT_SETTINGS), AGENT_SETTINGS, 1_000)

    assert (mean, longest) == (5, 12)


def test_a_long_poll_holds_a_function_for_every_agent():
    # Given long polls held by Lambda: each agent's request is an execution, all the time
    design = replace(agents.chosen(AGENT_SETTINGS), mechanism=agents.GoalMechanism.LONG_POLL)
    load = agents.agent_load(SMALL, design, AGENT_SETTINGS, AGENT_ASSUMPTIONS)

    concurrency = next(limit for limit in agents.agent_limits(load, QUOTAS) if limit.name.startswith("Lambda"))
    assert concurrency.demand >= SMALL.hosts_per_region


def test_the_agents_settings_are_read_from_the_agent_and_the_regional_stack():
    settings = scenarios.agent_settings()

    assert (settings.poll_seconds, settings.heartbeat_seconds, settings.poll_jitter) == (10, 30, 0.2)
    assert settings.piece_bytes == 1024 * 1024  # ArtifactPieceBytes
    assert settings.stream_batch_size == 100
    assert settings.goal_item_bytes < 4 * 1024  # half a read unit, eventually consistent
