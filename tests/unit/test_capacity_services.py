"""The capacity model's number of services: what it moves (GET /services's answer, one service's item) and
what it does not (a deployment's work and cost)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from capacity import model, scenarios
from tests.unit.test_capacity import ASSUMPTIONS, DESIGN, QUOTAS, SMALL, TEMPLATE, usage_of

LISTING = "GET /services answer: every service in one response"


def limit(scenario: model.Scenario, name: str) -> model.Limit:
    return next(found for found in model.limits(scenario, TEMPLATE, ASSUMPTIONS, QUOTAS) if found.name == name)


def test_services_move_the_listing_and_spread_the_acceptances_but_not_a_deployments_work():
    many = replace(SMALL, services=1000)
    assert usage_of(many) == usage_of(SMALL)
    assert limit(many, LISTING).demand == 1000 * ASSUMPTIONS.service_view_bytes
    one_service = "DynamoDB writes, one service's item (its deployments accepted)"
    assert limit(many, one_service).demand == pytest.approx(limit(SMALL, one_service).demand / 1000)


def test_the_listing_breaks_where_the_answer_outgrows_lambdas_payload():
    [point] = [
        point
        for point in model.breaking_points(DESIGN, TEMPLATE, ASSUMPTIONS, QUOTAS, "services")
        if point.limit == LISTING
    ]
    assert point.value == pytest.approx(6 * 1024 * 1024 / ASSUMPTIONS.service_view_bytes, rel=0.01)


def test_the_design_spreads_its_deployments_over_many_services_and_the_view_is_measured():
    assert DESIGN.services == scenarios.DESIGN_SERVICES > 1
    assert 200 < scenarios.service_view_bytes() < 1000
    with pytest.raises(ValueError, match="services"):
        replace(SMALL, services=0)
