"""The host agents' requests and what they cost: the steady ones (heartbeats, goal polls) and a
deployment's (state writes and reports, the stream's invocations of HostReportsFunction, its tally
transactions, the pieces fetched from the bucket, SendTaskSuccess), per region and at the design scale.

The agents' side of docs/agent.md, counted: each agent updates its own host item every
`heartbeat_seconds` and reads its group's goal every `poll_seconds` (+-`poll_jitter`), eventually
consistent; a deployment makes it write its state twice (DOWNLOADING, INSTALLING) and its report once,
read the piece list and the artifact's size, and fetch every piece with a ranged GET. Every write of a
host item is also written to the fleet table's `by-group` index (it projects every attribute) and is a
record of the table's stream, which HostReportsFunction reads in batches.

How agents learn their goal is the design's choice (`GoalMechanism`); `compare_mechanisms` sets the
candidates side by side at one scale and `CHOSEN` is the one docs/agent.md and docs/capacity.md describe.
Plain arithmetic: capacity.scenarios measures the items' sizes on the agent's and the layer's code, and
capacity.templates reads the function and the stream from regional.yaml.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from enum import StrEnum

from capacity.model import (
    DAYS_PER_MONTH,
    HOURS_PER_MONTH,
    FunctionSettings,
    Limit,
    PriceTable,
    Quota,
    Scenario,
    WorkItem,
    read_units,
    usage,
    write_units,
)
from code_deploy_agent import p2p

SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600
API_GATEWAY_MAX_WAIT_SECONDS = 29  # a REST API's integration timeout: the longest a long poll can be held
STATE_WRITES_PER_DEPLOYMENT = 3  # DOWNLOADING, INSTALLING, the report (deploy.py)
GOAL_WRITES_PER_WAVE = 1  # put_goal: one conditional PutItem a copy of the group's goal, a wave


class GoalMechanism(StrEnum):
    POLL_ONE_ITEM = "poll the group's goal item"  # GetItem GOAL#<group> (the agent's first version)
    POLL_SHARD_COPY = "poll its shard's copy of the goal"  # as built: GOAL#<group>#<NN>, a copy a by-group shard
    PER_WAVE_ITEMS = "per-wave items: the wave writes each host's goal"  # each agent reads its own item
    LONG_POLL = "long poll: an API call held until the goal changes"  # API Gateway + Lambda, 29 s at most


@dataclass(frozen=True)
class AgentSettings:
    """What the agent and the region's stack decide, read from their code (capacity.scenarios,
    capacity.templates): not a copy of their numbers."""

    poll_seconds: float  # AgentConfig's default
    poll_jitter: float  # agent.POLL_JITTER: each sleep is poll_seconds x (1 +- jitter)
    heartbeat_seconds: float  # AgentConfig's default
    piece_bytes: int  # the template's ArtifactPieceBytes: one ranged GET a piece
    goal_item_bytes: int  # a group's goal as code_deploy.hosts.fleet writes it
    host_item_bytes: int  # a host item with a DEPLOYED report, as the agent writes it
    tally_item_bytes: int  # a group's tally with the workflow's task token
    group_shards: int  # the by-group index's keys a group is spread over
    peer_item_bytes: int  # a host's announcement in the swarm directory, as the agent writes it
    stream_batch_size: int  # HostReportsFunction's event source mapping
    host_reports: FunctionSettings


@dataclass(frozen=True)
class AgentAssumptions:
    groups_per_region: int = 1  # every real host of a region in one group: its goal is the hottest key
    # HostReportsFunction's time a stream record: one consistent GetItem of the tally (a report: then a
    # transaction and another GetItem)
    record_seconds: float = 0.01
    report_record_seconds: float = 0.03
    skipped_record_seconds: float = 0.001  # a record the function only parses (no request)
    long_poll_memory_mb: int = 128  # the smallest function that could hold a long poll


@dataclass(frozen=True)
class AgentDesign:
    """How the agents learn their goal, how often they say they are alive, and where their pieces come
    from; `tally_read_per_host_write`: HostReportsFunction reads the group's tally at every host item
    write that carries a report (a heartbeat too, as first built), not only at a report not yet counted
    (as built: `take_report` checks the record's `countedFor` first)."""

    mechanism: GoalMechanism
    poll_seconds: float
    heartbeat_seconds: float
    tally_read_per_host_write: bool = True
    pieces_from_peers: bool = False  # False: every agent reads every piece from the bucket (issue 21's agent)


# An eventually consistent read of up to 4 KB is half a unit, a strongly consistent one (model.read_units)
# a unit (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html).
def eventually_consistent_read_units(item_bytes: float) -> float:
    return read_units(item_bytes) / 2


def pieces(scenario: Scenario, settings: AgentSettings) -> int:
    return max(1, math.ceil(scenario.artifact_bytes / settings.piece_bytes))


@dataclass(frozen=True)
class GoalReads:
    """One region's goal reads a second with a mechanism, and what the hottest item takes of them."""

    reads_per_second: float  # requests for the goal, every agent of the region
    read_units_per_second: float
    hot_item_read_units_per_second: float  # on the one item (one partition) read most
    copies: int  # goal items a group's goal is written to
    held_requests: float  # requests held open at once (long poll), each a Lambda execution


def goal_reads(design: AgentDesign, hosts: int, settings: AgentSettings, assumptions: AgentAssumptions) -> GoalReads:
    units = eventually_consistent_read_units(settings.goal_item_bytes)
    if design.mechanism is GoalMechanism.LONG_POLL:
        # each agent keeps one request open; its function reads the goal every poll_seconds while it holds it
        reads = hosts / design.poll_seconds
        return GoalReads(hosts / API_GATEWAY_MAX_WAIT_SECONDS, reads * units, reads * units, 1, float(hosts))
    reads = hosts / design.poll_seconds
    hosts_per_group = hosts / assumptions.groups_per_region
    copies = {
        GoalMechanism.POLL_ONE_ITEM: 1,
        GoalMechanism.POLL_SHARD_COPY: settings.group_shards,
        GoalMechanism.PER_WAVE_ITEMS: math.ceil(hosts_per_group),
    }[design.mechanism]
    hot = hosts_per_group / copies / design.poll_seconds * units
    return GoalReads(reads, reads * units, hot, copies, 0.0)


def converge_seconds(design: AgentDesign, settings: AgentSettings, hosts: int) -> tuple[float, float]:
    """From a goal written to an agent acting on it: the mean and the longest wait (a jittered sleep is
    uniform in poll x (1 +- jitter), so the wait for the next read is poll/2 on average)."""
    if design.mechanism is GoalMechanism.LONG_POLL:
        return design.poll_seconds / 2, design.poll_seconds  # the holding function's own poll of the goal
    longest = design.poll_seconds * (1 + settings.poll_jitter)
    if design.mechanism is GoalMechanism.PER_WAVE_ITEMS:
        write_seconds = hosts / 40_000  # the wave's writes at the table's 40,000 write units/s
        return design.poll_seconds / 2 + write_seconds / 2, longest + write_seconds
    return design.poll_seconds / 2, longest


@dataclass(frozen=True)
class AgentLoad:
    """The agents' requests in one region and over a month, at one scale and with one design."""

    scenario: Scenario
    design: AgentDesign
    goal: GoalReads
    heartbeats_per_second: float  # one region
    table_write_units_per_second: float  # heartbeats, one region's fleet table (its index as much again)
    index_shard_write_units_per_second: float  # one key of the by-group index
    stream_records_per_second: float  # steady: the heartbeats
    tally_read_units_per_second: float  # one group's tally item, steady
    report_function_concurrency: float  # HostReportsFunction, one region, steady
    s3_gets_per_second: float  # one region's bucket while a deployment downloads
    directory_key_write_units_per_second: float  # one key of the swarm directory, as a wave starts
    converge_mean_seconds: float
    converge_longest_seconds: float
    steady: list[WorkItem]  # a month, every region
    per_deployment: list[WorkItem]  # one deployment, every region


def _steady_work(
    design: AgentDesign, scenario: Scenario, settings: AgentSettings, assumptions: AgentAssumptions, goal: GoalReads
) -> list[WorkItem]:
    hosts = scenario.regions * scenario.hosts_per_region
    heartbeats = hosts / design.heartbeat_seconds * SECONDS_PER_MONTH
    host_units = write_units(settings.host_item_bytes)
    tally_reads = heartbeats if design.tally_read_per_host_write else 0.0
    records_seconds = heartbeats * _record_seconds(design, assumptions)
    items = [
        WorkItem(
            "DynamoDB", "heartbeats: UpdateItem of the host's item", heartbeats * host_units, "dynamodb.write_units"
        ),
        WorkItem(
            "DynamoDB",
            "heartbeats: the by-group index's copy (it projects every attribute)",
            heartbeats * host_units,
            "dynamodb.write_units",
        ),
        WorkItem(
            "DynamoDB",
            f"goal reads ({design.mechanism.value}), eventually consistent",
            goal.read_units_per_second * scenario.regions * SECONDS_PER_MONTH,
            "dynamodb.read_units",
        ),
        WorkItem(
            "DynamoDB",
            "HostReportsFunction: the tally read at a heartbeat that carries a report",
            tally_reads * read_units(settings.tally_item_bytes),
            "dynamodb.read_units",
        ),
        WorkItem(
            "Lambda",
            "HostReportsFunction invocations: the heartbeats' stream records, in full batches",
            heartbeats / settings.stream_batch_size,
            "lambda.requests",
        ),
        WorkItem(
            "Lambda",
            "HostReportsFunction GB-seconds",
            records_seconds * settings.host_reports.memory_mb / 1024,
            "lambda.gb_seconds",
        ),
    ]
    if design.mechanism is GoalMechanism.LONG_POLL:
        held = goal.held_requests * scenario.regions
        calls = goal.reads_per_second * scenario.regions * SECONDS_PER_MONTH
        items += [
            WorkItem("API Gateway", "long polls", calls, "apigateway.requests"),
            WorkItem("Lambda", "long polls' invocations", calls, "lambda.requests"),
            WorkItem(
                "Lambda",
                "long polls' GB-seconds (a function held by every agent, all the time)",
                held * SECONDS_PER_MONTH * assumptions.long_poll_memory_mb / 1024,
                "lambda.gb_seconds",
            ),
        ]
    return items


def _record_seconds(design: AgentDesign, assumptions: AgentAssumptions) -> float:
    """HostReportsFunction's time for a record of a host item that is not a new report."""
    return assumptions.record_seconds if design.tally_read_per_host_write else assumptions.skipped_record_seconds


@dataclass(frozen=True)
class SwarmDirectoryWork:
    """What a deployment's swarms ask of the peers table (code_deploy_agent.p2p), a host: its announcements
    (when it starts, a renewal every ANNOUNCE_SECONDS of download, and once as a seed) and its queries for
    peers (its shard's page; more shards only in a swarm too small to fill one); and each region's wave's
    origin slots (a claim each, renewed as the announcements are)."""

    announcements_per_host: float
    queries_per_host: float
    origin_claims_per_wave: float


def swarm_directory_work(scenario: Scenario) -> SwarmDirectoryWork:
    download_seconds = scenario.artifact_bytes / scenario.host_bandwidth
    renewals = math.floor(download_seconds / p2p.ANNOUNCE_SECONDS)
    # A page holds PEERS_PER_QUERY; a host wants WANTED_PEERS of them, with 2x to choose its zone's from
    queries = math.ceil(2 * p2p.WANTED_PEERS / p2p.PEERS_PER_QUERY)
    return SwarmDirectoryWork(2 + renewals, queries, p2p.ORIGIN_SLOTS * (1 + renewals))


def _swarm_directory_items(scenario: Scenario, settings: AgentSettings) -> list[WorkItem]:
    hosts = scenario.regions * scenario.hosts_per_region
    work = swarm_directory_work(scenario)
    page_bytes = p2p.PEERS_PER_QUERY * settings.peer_item_bytes
    return [
        WorkItem(
            "DynamoDB",
            "swarm directory: each host's announcements (start, renewals, as a seed)",
            hosts * work.announcements_per_host * write_units(settings.peer_item_bytes),
            "dynamodb.write_units",
        ),
        WorkItem(
            "DynamoDB",
            "swarm directory: each host's queries for peers (a page each, eventually consistent)",
            hosts * work.queries_per_host * eventually_consistent_read_units(page_bytes),
            "dynamodb.read_units",
        ),
        WorkItem(
            "DynamoDB",
            "swarm directory: origin slots claimed (a conditional PutItem), each region's wave",
            scenario.regions * scenario.waves * work.origin_claims_per_wave,
            "dynamodb.write_units",
        ),
    ]


def _deployment_work(
    design: AgentDesign, scenario: Scenario, settings: AgentSettings, assumptions: AgentAssumptions, goal: GoalReads
) -> list[WorkItem]:
    regions, hosts = scenario.regions, scenario.regions * scenario.hosts_per_region
    waves = regions * scenario.waves
    host_units = write_units(settings.host_item_bytes)
    records = hosts * STATE_WRITES_PER_DEPLOYMENT
    # With peers, a region's origins read the artifact in web seed requests of up to 1 MiB
    # (ENGINE_SETTINGS' urlseed_max_request_bytes), once a wave: the swarm's first hosts.
    readers = regions * scenario.waves * p2p.ORIGIN_SLOTS if design.pieces_from_peers else hosts
    reads_per_reader = (
        math.ceil(scenario.artifact_bytes / p2p.ENGINE_SETTINGS["urlseed_max_request_bytes"])
        if design.pieces_from_peers
        else pieces(scenario, settings)
    )
    tally_units = read_units(settings.tally_item_bytes)
    # the tally is read at every record of a host item that carries a report (as first built), or at a new
    # report only; and once more after each count
    tally_reads = (records if design.tally_read_per_host_write else hosts) + hosts
    goal_writes = hosts if design.mechanism is GoalMechanism.PER_WAVE_ITEMS else waves * goal.copies
    other_records = records - hosts
    function_seconds = other_records * _record_seconds(design, assumptions) + hosts * assumptions.report_record_seconds
    return [
        WorkItem(
            "DynamoDB",
            "goal writes: a conditional PutItem a copy, a wave",
            goal_writes * GOAL_WRITES_PER_WAVE * write_units(settings.goal_item_bytes),
            "dynamodb.write_units",
        ),
        WorkItem(
            "DynamoDB",
            "state and report: UpdateItem of the host's item, and the by-group index's copy",
            records * host_units * 2,
            "dynamodb.write_units",
        ),
        WorkItem(
            "DynamoDB",
            "HostReportsFunction: the tally read at a new report (first built: at each record) and after a count",
            tally_reads * tally_units,
            "dynamodb.read_units",
        ),
        WorkItem(
            "DynamoDB",
            "HostReportsFunction: each report counted in a transaction (host and tally, units x2)",
            hosts * 2 * (write_units(settings.host_item_bytes) + write_units(settings.tally_item_bytes)),
            "dynamodb.write_units",
        ),
        WorkItem(
            "Lambda",
            "HostReportsFunction invocations: those records, in full batches",
            records / settings.stream_batch_size,
            "lambda.requests",
        ),
        WorkItem(
            "Lambda",
            "HostReportsFunction GB-seconds",
            function_seconds * settings.host_reports.memory_mb / 1024,
            "lambda.gb_seconds",
        ),
        WorkItem(
            "S3",
            "piece list GET and the artifact's HEAD, every agent"
            if not design.pieces_from_peers
            else "the torrent's GET, every agent",
            (1 if design.pieces_from_peers else 2) * hosts,
            "s3.tier2_requests",
        ),
        WorkItem(
            "S3",
            "ranged GETs of the pieces: every agent"
            if not design.pieces_from_peers
            else "ranged GETs of the web seed: each region's origins, a wave",
            readers * reads_per_reader,
            "s3.tier2_requests",
        ),
        *(_swarm_directory_items(scenario, settings) if design.pieces_from_peers else []),
        # SendTaskSuccess: one a region's wave (its last report); Step Functions bills the task's transition,
        # already in the rollout's, not the call.
        WorkItem("Step Functions", "SendTaskSuccess, a wave's last report (not billed)", waves, "free"),
    ]


def agent_load(
    scenario: Scenario, design: AgentDesign, settings: AgentSettings, assumptions: AgentAssumptions
) -> AgentLoad:
    hosts = scenario.hosts_per_region
    goal = goal_reads(design, hosts, settings, assumptions)
    heartbeats = hosts / design.heartbeat_seconds
    host_units = write_units(settings.host_item_bytes)
    tally_reads = heartbeats / assumptions.groups_per_region if design.tally_read_per_host_write else 0.0
    # while a wave downloads: every agent at its bandwidth (the bucket's egress the cap), or the origins
    readers = p2p.ORIGIN_SLOTS if design.pieces_from_peers else scenario.hosts_per_wave
    download_rate = min(readers * scenario.host_bandwidth, scenario.bucket_egress)
    get_bytes = p2p.ENGINE_SETTINGS["urlseed_max_request_bytes"] if design.pieces_from_peers else settings.piece_bytes
    mean, longest = converge_seconds(design, settings, scenario.hosts_per_wave)
    return AgentLoad(
        scenario=scenario,
        design=design,
        goal=goal,
        heartbeats_per_second=heartbeats,
        table_write_units_per_second=heartbeats * host_units,
        index_shard_write_units_per_second=heartbeats * host_units / settings.group_shards,
        stream_records_per_second=heartbeats,
        tally_read_units_per_second=tally_reads * read_units(settings.tally_item_bytes),
        report_function_concurrency=heartbeats * _record_seconds(design, assumptions),
        s3_gets_per_second=download_rate / get_bytes,
        # a wave's hosts announce within a poll of its start, spread over the swarm's PEER_SHARDS keys
        directory_key_write_units_per_second=(
            scenario.hosts_per_wave / design.poll_seconds / p2p.PEER_SHARDS * write_units(settings.peer_item_bytes)
            if design.pieces_from_peers
            else 0.0
        ),
        converge_mean_seconds=mean,
        converge_longest_seconds=longest,
        steady=_steady_work(design, scenario, settings, assumptions, goal),
        per_deployment=_deployment_work(design, scenario, settings, assumptions, goal),
    )


@dataclass(frozen=True)
class AgentCost:
    steady_per_month: float  # heartbeats and goal reads, every region, whatever the deployments
    per_deployment: float  # what one deployment adds
    deployments_per_month: float

    @property
    def per_month(self) -> float:
        return self.steady_per_month + self.per_deployment * self.deployments_per_month

    @property
    def per_deployment_all_in(self) -> float:
        """The month's agents' bill shared over its deployments."""
        return self.per_month / self.deployments_per_month


def _priced(items: list[WorkItem], prices: PriceTable) -> float:
    return sum(quantity * prices.unit_price(key) for key, quantity in usage(items).items() if key != "free")


def agent_cost(load: AgentLoad, prices: PriceTable) -> AgentCost:
    return AgentCost(
        steady_per_month=_priced(load.steady, prices),
        per_deployment=_priced(load.per_deployment, prices),
        deployments_per_month=load.scenario.deployments_per_day * DAYS_PER_MONTH,
    )


def agent_limits(load: AgentLoad, quotas: dict[str, Quota]) -> list[Limit]:
    """Every per-region rate the agents make against the AWS quota it meets: the steady ones, and the
    bucket's GETs while a wave downloads."""

    def limit(name: str, demand: float, what_breaks: str, key: str) -> Limit:
        quota = quotas[key]
        return Limit(name, demand, quota.value, quota.unit, quota.source, what_breaks)

    concurrency = load.report_function_concurrency + load.goal.held_requests
    return [
        limit(
            "DynamoDB reads, the hottest goal item (one partition)",
            load.goal.hot_item_read_units_per_second,
            "goal reads throttled: agents learn their goal late",
            "dynamodb.partition_read_units_per_second",
        ),
        limit(
            "DynamoDB reads, a group's tally item (HostReportsFunction)",
            load.tally_read_units_per_second,
            "the stream's batches throttled and retried: reports counted late",
            "dynamodb.partition_read_units_per_second",
        ),
        limit(
            "DynamoDB reads, a region's fleet table",
            load.goal.read_units_per_second + load.tally_read_units_per_second,
            "goal reads throttled",
            "dynamodb.table_read_units_per_second",
        ),
        limit(
            "DynamoDB writes, a region's fleet table (heartbeats)",
            load.table_write_units_per_second,
            "heartbeats throttled: hosts turn lost",
            "dynamodb.table_write_units_per_second",
        ),
        limit(
            "DynamoDB writes, one key of the by-group index",
            load.index_shard_write_units_per_second,
            "index writes throttled, and with them the table's",
            "dynamodb.partition_write_units_per_second",
        ),
        limit(
            "Lambda concurrency, each region (HostReportsFunction, long polls)",
            concurrency,
            "reports counted late, long polls refused",
            "lambda.concurrent_executions",
        ),
        limit(
            "DynamoDB writes, one key of the swarm directory (a wave's hosts announcing)",
            load.directory_key_write_units_per_second,
            "announcements throttled: hosts find fewer peers, and read from the bucket when starved",
            "dynamodb.partition_write_units_per_second",
        ),
        limit(
            "S3 GET, a regional bucket's artifact (agents' ranged GETs)",
            load.s3_gets_per_second,
            "piece downloads answered 503 Slow Down",
            "s3.get_per_prefix_per_second",
        ),
    ]


# --- the candidates ---------------------------------------------------------------------------------------


def as_built(settings: AgentSettings) -> AgentDesign:
    """The agent and HostReportsFunction as this checkout has them: the chosen design, pieces from peers
    (code_deploy_agent.p2p), the bucket only the origins'."""
    return chosen(settings)


def first_built(settings: AgentSettings) -> AgentDesign:
    """The agent's first version, which the model found breaking: one goal item a group, the tally read at
    every record of a host that ever reported, every piece from the bucket."""
    return AgentDesign(GoalMechanism.POLL_ONE_ITEM, settings.poll_seconds, settings.heartbeat_seconds)


def chosen(settings: AgentSettings) -> AgentDesign:
    """The design the comparison picks: the agent's poll interval and heartbeat kept, the goal written to
    one copy a by-group shard (the agent reads `GOAL#<group>#<its groupShard's NN>`), the tally read
    only for a report not counted yet (a heartbeat of a counted host reads nothing), the pieces from
    peers (the swarm of the P2P model; the bucket feeds its seeds)."""
    return AgentDesign(
        GoalMechanism.POLL_SHARD_COPY,
        settings.poll_seconds,
        settings.heartbeat_seconds,
        tally_read_per_host_write=False,
        pieces_from_peers=True,
    )


def candidates(settings: AgentSettings) -> list[tuple[str, AgentDesign]]:
    """The goal mechanisms side by side, everything else as chosen."""
    base = chosen(settings)
    poll = settings.poll_seconds
    slow = 3 * poll
    return [
        (f"one goal item, every {poll:g} s (first built)", replace(base, mechanism=GoalMechanism.POLL_ONE_ITEM)),
        (f"one goal item, every {slow:g} s", replace(base, mechanism=GoalMechanism.POLL_ONE_ITEM, poll_seconds=slow)),
        (f"a goal copy a shard, every {poll:g} s (chosen, as built)", base),
        (f"per-wave items, every {poll:g} s", replace(base, mechanism=GoalMechanism.PER_WAVE_ITEMS)),
        ("long poll (API Gateway + Lambda)", replace(base, mechanism=GoalMechanism.LONG_POLL)),
    ]


@dataclass(frozen=True)
class Candidate:
    label: str
    load: AgentLoad
    cost: AgentCost
    limits: list[Limit]

    @property
    def least_headroom(self) -> Limit:
        return min(self.limits, key=lambda limit: limit.headroom)


def compare_mechanisms(
    scenario: Scenario,
    settings: AgentSettings,
    assumptions: AgentAssumptions,
    prices: PriceTable,
    quotas: dict[str, Quota],
) -> list[Candidate]:
    found = []
    for label, design in candidates(settings):
        load = agent_load(scenario, design, settings, assumptions)
        found.append(Candidate(label, load, agent_cost(load, prices), agent_limits(load, quotas)))
    return found
