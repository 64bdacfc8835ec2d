"""GET /builds: builds newest first, a page at a time through the by-queued-month index (no Scan)."""

from __future__ import annotations

import json

import boto3
import pytest

from code_deploy import paging
from code_deploy.builds import store as build_store
from code_deploy.builds.model import utc_now
from tests.utils import api_event, load_handler

NOW = "2026-11-23T01:45:47.380Z"


def queue(table, when: str, number: int) -> str:
    build_id = f"build-{when[:4]}{when[5:7]}{when[8:10]}T000000Z-{number:08x}"
    build_store.create_build(table, build_id, "9fceb02d0ae598e95dc970b74767f19372d61af8", when)
    return build_id


@pytest.fixture
def builds_table(stack):
    return boto3.resource("dynamodb").Table(stack.builds_table)


@pytest.fixture
def history(builds_table) -> list[str]:
    """Seven builds over four months, oldest first, plus one 14 months back, and a rollout summary
    under one of them (it must not be listed)."""
    times = [
        "2025-09-30T23:59:59.000Z",  # older than the list reaches
        "2026-01-15T10:00:00.000Z",
        "2026-01-31T23:59:59.999Z",
        "2026-10-01T00:00:00.000Z",
        "2026-10-20T12:00:00.000Z",
        "2026-11-01T00:00:00.000Z",
        "2026-11-22T08:00:00.000Z",
        "2026-11-23T01:45:47.000Z",
    ]
    ids = [queue(builds_table, when, number) for number, when in enumerate(times)]
    builds_table.put_item(Item={"build_id": ids[-1], "record": "ROLLOUT#region-a", "region": "region-a"})
    return ids


def walk(table, limit: int) -> tuple[list[str], int]:
    listed, cursor, pages = [], None, 0
    while True:
        page = build_store.list_builds(table, paging.PageRequest(NOW, limit, cursor))
        listed += [record["build_id"] for record in page.records]
        pages += 1
        if page.next_cursor is None:
            return listed, pages
        # What the client gets back goes through the wire as text.
        cursor = paging.Cursor.decode(page.next_cursor.encode(), build_store.BUILDS)


@pytest.mark.parametrize("limit", [1, 2, 3, 50])
def test_pages_list_every_build_of_the_last_13_months_newest_first_once(builds_table, history, limit):
    listed, _ = walk(builds_table, limit)
    assert listed == list(reversed(history[1:]))


def test_a_full_page_is_returned_without_walking_further(builds_table, history):
    page = build_store.list_builds(builds_table, paging.PageRequest(NOW, 2))
    assert [record["build_id"] for record in page.records] == [history[-1], history[-2]]
    assert page.next_cursor is not None and page.next_cursor.month == "2026-11"


def test_months_walk_back_across_years():
    assert paging.previous_month("2026-01") == "2025-12"
    assert paging.months_before("2026-11", 12) == "2025-11"
    assert paging.month_of(NOW) == "2026-11"


@pytest.mark.parametrize(
    "cursor",
    [
        "not base64 at all!",
        "",
        "e30",  # {}
        paging.Cursor("2026-13").encode(),
        paging.Cursor("2026-11", {"build_id": "x"}).encode(),
        paging.Cursor(
            "2026-11", {"build_id": "x", "record": "BUILD", "queuedMonth": "2026-10", "queuedAt": "x"}
        ).encode(),
        paging.Cursor(
            "2026-11", {"build_id": {"S": "x"}, "record": "BUILD", "queuedMonth": "2026-11", "queuedAt": "x"}
        ).encode(),
        "A" * (paging.MAX_CURSOR_CHARS + 1),
    ],
)
def test_a_forged_cursor_is_refused_before_dynamodb(cursor):
    with pytest.raises(paging.InvalidCursor):
        paging.Cursor.decode(cursor, build_store.BUILDS)


def list_event(**query: str) -> dict:
    event = api_event("GET", "/builds")
    event["queryStringParameters"] = query or None
    event["multiValueQueryStringParameters"] = {name: [value] for name, value in query.items()} or None
    return event


def test_get_builds_answers_summaries_and_a_cursor(stack, context):
    api = load_handler("api")
    table = boto3.resource("dynamodb").Table(stack.builds_table)
    ids = [queue(table, utc_now(), number) for number in range(3)]
    build_store.fail_build(table, ids[0], NOW, "build failed after 3 attempts: boom")

    response = api.lambda_handler(list_event(limit="2"), context)
    assert response["statusCode"] == 200, response["body"]
    page = json.loads(response["body"])
    assert [build["buildId"] for build in page["builds"]] == [ids[2], ids[1]]
    assert page["builds"][0] == {
        "buildId": ids[2],
        "commit": "9fceb02d0ae598e95dc970b74767f19372d61af8",
        "status": "QUEUED",
        "deploymentStatus": "QUEUED",
        "failureReason": None,
        "queuedAt": page["builds"][0]["queuedAt"],
        "hostsDeployed": 0,
        "hostsTotal": 600,
        "statusUrl": f"/builds/{ids[2]}",
    }
    rest = json.loads(api.lambda_handler(list_event(limit="2", cursor=page["nextCursor"]), context)["body"])
    assert [build["buildId"] for build in rest["builds"]] == [ids[0]]
    assert rest["builds"][0]["deploymentStatus"] == "FAILED"
    assert rest["builds"][0]["failureReason"] == "build failed after 3 attempts: boom"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "51"}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"cursor": "bm90IGEgY3Vyc29y"}, "cursor: not a cursor this API gave out"),
    ],
)
def test_bad_list_requests_are_refused_with_a_message(stack, context, query, message):
    response = load_handler("api").lambda_handler(list_event(**query), context)
    assert response["statusCode"] == 422, response["body"]
    assert message in json.loads(response["body"])["message"]
