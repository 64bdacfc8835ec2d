"""Fixtures of the agent's suite: an in-memory region, and a host (its agent in a tmp directory) against
it, fresh or already serving build b1; every process a host starts is stopped at the end."""

from __future__ import annotations

import pytest

from tests.unit.agent.fixtures.fake_region import FakeRegion
from tests.unit.agent.fixtures.harness import Host, hooks_path


@pytest.fixture
def region() -> FakeRegion:
    return FakeRegion()


@pytest.fixture
def host(tmp_path, region, monkeypatch):
    monkeypatch.setenv("PATH", hooks_path())
    host = Host(tmp_path, region)
    yield host
    host.close()


@pytest.fixture
def host_on_b1(host):
    """A host serving build b1, deployed by deployment d1."""
    assert host.deploy(host.publish("b1"), "d1").status == "DEPLOYED"
    return host
