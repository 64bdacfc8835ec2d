"""Deployments through the deployed API: the plan of a replicated build, and the refusals."""

from __future__ import annotations

import secrets

import pytest

from tests.integration.conftest import http, wait_for


def deployed_build(api: str) -> str:
    status, accepted = http("POST", f"{api}/builds", {"commit": secrets.token_hex(20)})
    assert status == 202, accepted
    build_id = accepted["buildId"]
    wait_for(
        lambda: http("GET", f"{api}/builds/{build_id}")[1]["deploymentStatus"] == "DEPLOYED", f"{build_id} deployed"
    )
    return build_id


def test_the_plan_of_a_replicated_build_gives_each_wave_and_its_predicted_time(api, buckets, hosts_per_region):
    build_id = deployed_build(api)
    regions = list(buckets)
    status, plan = http(
        "POST",
        f"{api}/deployments/plan",
        {"buildId": build_id, "waves": [10, 50, 100], "bakeSeconds": 2, "regionWaves": [regions[:1], regions[1:]]},
    )
    assert status == 200, plan
    assert plan["regionWaves"] == [regions[:1], regions[1:]]
    for region in plan["regions"]:
        assert sum(wave["hosts"] for wave in region["waves"]) == hosts_per_region
        assert region["predictedSeconds"] > 3 * 2  # three bakes and the waves
    assert plan["predictedSeconds"] == pytest.approx(sum(plan["regionWaveSeconds"]), abs=1e-5)


def test_planning_refuses_what_cannot_be_deployed(api):
    assert http("POST", f"{api}/deployments/plan", {"buildId": "build-20990101T000000Z-00000000"})[0] == 404
    status, answer = http("POST", f"{api}/deployments/plan", {"buildId": "x", "waves": [60, 40, 100]})
    assert (status, "strictly increasing" in answer["message"]) == (422, True)
