"""The API fuzzed from its own OpenAPI document (openapi.json) by schemathesis, against the deployed
stack: requests that follow the document and requests that break it. No answer is a 5xx, every
answer's status is one the document lists for the operation and its body has the documented shape,
and the only builds recorded are those of the requests answered 202."""

from __future__ import annotations

import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from tests.integration.helpers import SigV4, build_record_ids
from tests.utils import REPO

CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
# Per operation and phase: enough to cover the document's edges, few enough to finish in seconds.
EXAMPLES_PER_OPERATION = 25


@pytest.fixture(scope="module")
def api_schema(api):
    schema = schemathesis.openapi.from_path(REPO / "openapi.json")
    schema.config.update(base_url=api)
    # The same examples every run, so a failure is reproducible and CI is not flaky (and no .hypothesis/).
    schema.config.generation.update(max_examples=EXAMPLES_PER_OPERATION, deterministic=True, database="none")
    # The examples and coverage phases send valid requests too (the 202s), the fuzzing phase only
    # invalid ones: every accepted build rolls out to every host, which would load the emulator for
    # minutes, and valid commits are the unit tests' business.
    schema.config.phases.fuzzing.generation.update(modes=[schemathesis.GenerationMode.NEGATIVE])
    return schema


# GET /regions and POST /builds/uploads take no input at all: there is no invalid request of them to make
# (schemathesis reports the negative phase as impossible); tests/integration/test_deployments.py reads the
# regions, tests/integration/test_push.py asks for uploads. A valid POST /freeze would refuse every
# deployment the later tests make: tests/integration/test_rollout_controls.py freezes and lifts.
schema = (
    schemathesis.pytest.from_fixture("api_schema")
    .exclude(path="/regions", method="GET")
    .exclude(path="/builds/uploads", method="POST")
    .exclude(path="/freeze", method="POST")
)


@schema.parametrize()
def test_every_answer_is_documented_and_only_accepted_requests_record_a_build(case, stack_outputs):
    # Given a request generated from the OpenAPI document, valid or not, and the builds recorded so far
    builds_table = stack_outputs["BuildsTableName"]
    recorded_before = build_record_ids(builds_table)

    # When it is sent to the deployed API
    response = case.call(auth=SigV4())

    # Then no answer is a 5xx, and each is documented for the operation, with its documented body
    case.validate_response(response, checks=CHECKS)
    # and it recorded a build only if it was answered 202: a refused request records (and queues) nothing,
    # and a 202 that replays an Idempotency-Key already used (on this emulator, maybe by an earlier run of
    # these same examples) answers that key's build, recorded before
    accepted = {response.json()["buildId"]} if response.status_code == 202 and case.path == "/builds" else set()
    assert build_record_ids(builds_table) - recorded_before == accepted - recorded_before
