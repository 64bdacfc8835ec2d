"""The API takes only SigV4-signed requests (IAM authorization), and a POST retried with its
Idempotency-Key makes one build."""

from __future__ import annotations

import json
import secrets
import uuid

from tests.integration.helpers import build_record_ids, http, send


def test_an_unsigned_request_is_refused_before_the_function(api):
    status, _, body = send(
        "POST", f"{api}/builds", json.dumps({"commit": "abcdef1"}), {"Content-Type": "application/json"}, sign=False
    )
    assert status == 403, body
    status, _, _ = send("GET", f"{api}/builds/build-20200101T000000Z-00000000", sign=False)
    assert status == 403


def test_a_post_retried_with_its_idempotency_key_makes_one_build(api, stack_outputs):
    # Given a POST whose answer the client did not see
    headers = {"Content-Type": "application/json", "Idempotency-Key": str(uuid.uuid4())}
    commit = secrets.token_hex(20)
    before = build_record_ids(stack_outputs["BuildsTableName"])
    first_status, first = http("POST", f"{api}/builds", {"commit": commit}, headers)
    # When the client sends it again with the same key, twice
    retries = [http("POST", f"{api}/builds", {"commit": commit}, headers) for _ in range(2)]
    # Then every answer names the same build, and one build was recorded
    assert first_status == 202, first
    assert {status for status, _ in retries} == {202}
    assert {body["buildId"] for _, body in retries} == {first["buildId"]}
    assert build_record_ids(stack_outputs["BuildsTableName"]) - before == {first["buildId"]}
    # and the same key with another commit is refused
    status, body = http("POST", f"{api}/builds", {"commit": secrets.token_hex(20)}, headers)
    assert status == 422
    assert "Idempotency-Key" in body["message"]
