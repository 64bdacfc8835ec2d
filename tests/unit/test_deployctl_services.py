"""deployctl's services: `services` (the list, one, create, delete) and --service (or $DEPLOYCTL_SERVICE) on the
other commands, against a recording stand-in for the API."""

from __future__ import annotations

import pytest
from rich.console import Console

from deployctl import cli
from deployctl.api import Api, Target

SERVICE = {
    "name": "checkout",
    "regions": ["us-west-2"],
    "policy": {"waves": [10, 100], "bakeSeconds": 30, "regionWaves": None, "maxFailurePercent": 5},
    "createdAt": "2026-12-06T07:00:00Z",
    "links": {},
}


class RecordingApi(Api):
    """The real Api's requests, recorded and answered here instead of sent."""

    def __init__(self) -> None:
        super().__init__(Target("stack", "us-east-1", "http://127.0.0.1:1"))
        self.sent: list[tuple[str, str, dict | None, dict | None]] = []

    def request(self, method, path, body=None, query=None, headers=None):
        self.sent.append((method, path, body, query))
        if path.startswith("/services") and method == "DELETE":
            return {"name": "checkout", "deleted": True}
        if path.startswith("/services"):
            return SERVICE if path != "/services" or method == "POST" else {"services": [SERVICE]}
        return {"regions": [], "builds": [], "buildId": "b", "commit": "c" * 40, "deploymentId": "deploy-x"}


@pytest.fixture
def api(monkeypatch):
    recording = RecordingApi()
    monkeypatch.setattr(cli, "Api", lambda target: recording)
    monkeypatch.delenv("DEPLOYCTL_SERVICE", raising=False)
    return recording


def run(*argv: str) -> int:
    return cli.main(list(argv), Console(width=160, record=True))


def test_services_lists_shows_creates_and_deletes(api):
    assert run("services") == 0
    assert run("services", "checkout") == 0
    assert run("services", "create", "checkout", "--regions", "us-west-2", "--waves", "10,100", "--bake", "30") == 0
    assert run("services", "delete", "checkout") == 0
    assert [(method, path) for method, path, _, _ in api.sent] == [
        ("GET", "/services"),
        ("GET", "/services/checkout"),
        ("POST", "/services"),
        ("DELETE", "/services/checkout"),
    ]
    assert api.sent[2][2] == {
        "name": "checkout",
        "regions": ["us-west-2"],
        "policy": {"waves": [10, 100], "bakeSeconds": 30},
    }
    assert run("services", "rename", "a", "b") == cli.EXIT_ERROR


def test_service_names_the_service_of_every_other_command(api, monkeypatch):
    run("--service", "checkout", "regions")
    run("build", "9fceb02d", "--service", "checkout")
    monkeypatch.setenv("DEPLOYCTL_SERVICE", "checkout")
    run("builds")
    run("deploy", "build-1")
    assert api.sent[0][3] == {"service": "checkout"}
    assert api.sent[1][2] == {"commit": "9fceb02d", "service": "checkout"}
    assert api.sent[2][3]["service"] == "checkout"
    assert api.sent[3][2] == {"service": "checkout", "buildId": "build-1"}


def test_without_a_service_nothing_names_one(api):
    run("regions")
    run("build", "9fceb02d")
    assert api.sent[0][3] is None
    assert api.sent[1][2] == {"commit": "9fceb02d"}
