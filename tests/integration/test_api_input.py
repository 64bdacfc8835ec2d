"""Bad input against the deployed API: every malformed request of the table (tests/malformed_requests.py)
is refused over HTTP with a 4xx and a JSON message that says what is wrong, and records no build.

The build queue is drained by the build worker at once, so a queued message would not stay to be seen;
a build is recorded before it is queued, so counting build records covers both."""

from __future__ import annotations

import json

import pytest

from tests.integration.helpers import build_record_ids, send
from tests.malformed_requests import MALFORMED_REQUESTS


@pytest.mark.parametrize("malformed", MALFORMED_REQUESTS, ids=lambda malformed: malformed.name)
def test_malformed_requests_are_refused_and_change_nothing(api, stack_outputs, malformed):
    # Given the builds recorded so far
    builds_table = stack_outputs["BuildsTableName"]
    recorded_before = build_record_ids(builds_table)
    # When the malformed request is sent to the API, as it is
    status, content_type, body = send(malformed.method, f"{api}{malformed.path}", malformed.body, malformed.headers)
    # Then it is refused with a JSON message that says what is wrong
    assert status == malformed.status, body
    assert content_type.startswith("application/json"), content_type
    answer = json.loads(body)
    assert malformed.message in answer["message"], answer
    # and no build is recorded
    assert build_record_ids(builds_table) == recorded_before
