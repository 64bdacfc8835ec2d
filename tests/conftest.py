"""Fixtures shared by the suites that run against the deployed stacks (tests/integration, tests/e2e);
a fixture only runs where a test asks for it, so the unit tests never reach for a stack."""

from __future__ import annotations

import pytest

from tools.stack import outputs


@pytest.fixture(scope="session")
def stack_outputs() -> dict[str, str]:
    """The global stack's outputs, as deployed (make deploy)."""
    return outputs()
