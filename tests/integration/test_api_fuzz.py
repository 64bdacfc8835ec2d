"""The API fuzzed from its own OpenAPI document (openapi.json) by schemathesis, against the deployed
stack: requests that follow the document and requests that break it. No answer is a 5xx, every
answer's status is one the document lists for the operation and its body has the documented shape,
and the only builds recorded are those of the requests answered 202."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from tests.integration.conftest import SigV4, build_record_ids
from tests.utils import REPO

CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
# Per operation and phase: enough to cover the document's edges, few enough to finish in seconds.
EXAMPLES_PER_OPERATION = 25


@dataclass
class FuzzRun:
    recorded_before: set[str]
    answers: Counter = field(default_factory=Counter)  # (operation, status) -> requests
    accepted_build_ids: set[str] = field(default_factory=set)


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


@pytest.fixture(scope="module")
def fuzz_run(stack_outputs) -> FuzzRun:
    return FuzzRun(recorded_before=build_record_ids(stack_outputs["BuildsTableName"]))


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
def test_every_answer_is_documented_and_no_5xx(case, fuzz_run):
    # Given a request generated from the OpenAPI document, valid or not
    # When it is sent to the deployed API
    response = case.call(auth=SigV4())
    fuzz_run.answers[(case.operation.label, response.status_code)] += 1
    if response.status_code == 202:
        fuzz_run.accepted_build_ids.add(response.json()["buildId"])
    # Then no answer is a 5xx, and each is documented for the operation, with its documented body
    case.validate_response(response, checks=CHECKS)


def test_only_the_accepted_requests_recorded_a_build(stack_outputs, fuzz_run):
    if not fuzz_run.answers:
        pytest.skip("the fuzzing test did not run in this session")
    # Given the builds recorded while the fuzzer ran
    recorded = build_record_ids(stack_outputs["BuildsTableName"]) - fuzz_run.recorded_before
    # Then they are exactly the ones answered 202: a refused request recorded (and queued) nothing
    assert recorded == fuzz_run.accepted_build_ids
    # and the fuzzer did send requests that were refused
    refused = sum(count for (_, status), count in fuzz_run.answers.items() if 400 <= status < 500)
    assert refused > 0, fuzz_run.answers
