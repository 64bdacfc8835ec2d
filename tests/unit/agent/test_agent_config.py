"""The agent's configuration (flags, then CODE_DEPLOY_* variables, then a file) and the goal item's parsing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from code_deploy_agent.config import ConfigError, load_config
from code_deploy_agent.region import Goal, GoalInvalid

SETTINGS = {"region": "us-east-1", "group": "web", "host_id": "i-1", "table": "t", "bucket": "b", "agent_dir": "/a"}
NO_FLAGS = dict.fromkeys(SETTINGS)


def test_flags_win_over_the_environment_which_wins_over_the_file(tmp_path):
    config_file = tmp_path / "config.yaml"
    config_file.write_text(
        "region: from-file\ngroup: from-file\nhost_id: from-file\ntable: t\nbucket: b\nagent_dir: /a\n"
    )
    environ = {"CODE_DEPLOY_GROUP": "from-env", "CODE_DEPLOY_HOST_ID": "from-env", "CODE_DEPLOY_POLL_SECONDS": "2.5"}

    config = load_config({**NO_FLAGS, "host_id": "from-flag"}, environ, config_file)

    assert (config.region, config.group, config.host_id) == ("from-file", "from-env", "from-flag")
    assert config.poll_seconds == 2.5
    assert config.agent_dir == Path("/a")
    assert (config.keep_releases, config.heartbeat_seconds, config.app_port) == (3, 30.0, 8080)


def test_a_json_config_file_works_too(tmp_path):
    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps({**SETTINGS, "keep_releases": 5, "zone": "us-east-1b"}))

    config = load_config(NO_FLAGS, {}, config_file)

    assert (config.keep_releases, config.zone) == (5, "us-east-1b")


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"region": "us-east-1"}, r"missing settings: group \(--group or CODE_DEPLOY_GROUP\)"),
        ({**SETTINGS, "keep_releases": "1"}, "keep_releases must be at least 2"),
        ({**SETTINGS, "poll_seconds": "0"}, "must be positive"),
        ({**SETTINGS, "app_port": "70000"}, "is not a port"),
        ({**SETTINGS, "app_port": "http"}, "app_port: 'http' is not valid"),
        ({**SETTINGS, "download_bytes_per_second": "-1"}, "must be 0 \\(no cap\\) or positive"),
    ],
)
def test_a_configuration_the_agent_cannot_use_is_refused_saying_why(settings, message):
    with pytest.raises(ConfigError, match=message):
        load_config({**NO_FLAGS, **settings}, {})


def test_an_unknown_setting_in_the_file_is_refused(tmp_path):
    config_file = tmp_path / "config.yaml"
    config_file.write_text("endpoint: http://localhost:4566\n")

    with pytest.raises(ConfigError, match="unknown settings endpoint"):
        load_config(NO_FLAGS, {}, config_file)


GOAL_ITEM = {
    "group": "web",
    "buildId": "b2",
    "deploymentId": "d2",
    "wave": 1,
    "cumulativePercent": 10,
    "artifactKey": "builds/b2/artifact.zip",
    "artifactBytes": 10,
    "sha256": "AB" * 32,
    "pieceBytes": 4,
    "pieceRoot": "11" * 32,
    "piecesKey": "builds/b2/pieces.json",
}


def test_a_goal_item_parses_into_a_goal():
    goal = Goal.from_item(GOAL_ITEM)

    assert goal.previous_build_id is None
    assert goal.sha256 == "ab" * 32
    assert Goal.from_item(goal.to_item()) == goal


@pytest.mark.parametrize(
    "change",
    [
        {"sha256": None},
        {"buildId": "../../etc"},
        {"cumulativePercent": 101},
        {"pieceBytes": 0},
        {"wave": "first"},
    ],
)
def test_a_goal_the_agent_cannot_use_is_invalid(change):
    with pytest.raises(GoalInvalid):
        Goal.from_item({**GOAL_ITEM, **change})
