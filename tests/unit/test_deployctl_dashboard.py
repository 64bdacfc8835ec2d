"""deployctl dashboard's server without a stack: the page, and the read-only proxy of the builds, deployments,
regions and hosts API (the page itself is tested in a real browser: tests/integration/test_dashboard.py)."""

from __future__ import annotations

import http.client
import json
import threading
from http.server import ThreadingHTTPServer

import pytest

from deployctl import dashboard
from deployctl.api import DeployctlError
from tests.unit.test_deployctl_deployments import DEPLOYMENT_ID, REGIONS_ANSWER, FakeApi, deployment
from tests.unit.test_deployctl_hosts import HOSTS_ANSWER

DEPLOYMENTS_PAGE = {"deployments": [], "nextCursor": "c1"}


@pytest.fixture(autouse=True)
def no_instance_metadata(monkeypatch):
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def api() -> FakeApi:
    return FakeApi(
        {
            ("GET", "/deployments"): [(200, DEPLOYMENTS_PAGE)],
            ("GET", f"/deployments/{DEPLOYMENT_ID}"): [(200, deployment())],
            ("GET", "/regions"): [(200, REGIONS_ANSWER)],
            ("GET", "/regions/us-west-2"): [(200, REGIONS_ANSWER["regions"][0])],
            ("GET", "/regions/us-west-2/hosts"): [(200, HOSTS_ANSWER)],
            ("GET", "/builds"): [(200, {"builds": []})],
        }
    )


@pytest.fixture
def server(api):
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), dashboard.make_handler(api, dashboard.static_files()))
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield httpd.server_address[1]
    finally:
        httpd.shutdown()
        httpd.server_close()


def request(port: int, path: str, method: str = "GET", host: str = "127.0.0.1") -> tuple[int, str, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request(method, path, body=b"{}" if method == "POST" else None, headers={"Host": f"{host}:{port}"})
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type", ""), response.read()
    finally:
        connection.close()


@pytest.mark.parametrize(
    ("path", "api_path", "query", "answer"),
    [
        ("/api/deployments?limit=20", "/deployments", {"limit": "20"}, DEPLOYMENTS_PAGE),
        (f"/api/deployments/{DEPLOYMENT_ID}", f"/deployments/{DEPLOYMENT_ID}", None, deployment()),
        ("/api/regions", "/regions", None, REGIONS_ANSWER),
        ("/api/regions/us-west-2", "/regions/us-west-2", None, REGIONS_ANSWER["regions"][0]),
        ("/api/regions/us-west-2/hosts?limit=50", "/regions/us-west-2/hosts", {"limit": "50"}, HOSTS_ANSWER),
        ("/api/builds?limit=20", "/builds", {"limit": "20"}, {"builds": []}),
    ],
)
def test_the_page_reads_builds_deployments_and_regions_through_the_proxy(server, api, path, api_path, query, answer):
    # When the page reads a collection or one of its items
    status, content_type, body = request(server, path)
    # Then the API is asked the same, signed by deployctl, and its answer passed on as it is
    assert (status, content_type) == (200, "application/json")
    assert json.loads(body) == answer
    assert api.sent == [("GET", api_path, None, query)]


def test_the_apis_refusals_are_passed_on(server, api):
    status, _, body = request(server, "/api/deployments/deploy-unknown")
    assert status == 404
    assert json.loads(body) == {"message": "no route for GET /deployments/deploy-unknown"}


def test_only_the_api_collections_are_proxied(server, api):
    for path in ("/api/buildsandmore", "/api/deploymentsx", "/api/", "/api/hosts", "/deployments"):
        status, _, body = request(server, path)
        assert status == 404, path
        assert json.loads(body)["message"] == f"no page {path}"
    assert api.sent == []


def test_the_proxy_is_read_only_pausing_is_deployctls(server, api):
    status, _, _ = request(server, f"/api/deployments/{DEPLOYMENT_ID}/pause", method="POST")
    assert status == 501
    assert api.sent == []


def test_another_host_name_is_refused(server, api):
    status, _, body = request(server, "/api/deployments", host="evil.example")
    assert status == 403
    assert "127.0.0.1 or localhost only" in json.loads(body)["message"]
    assert api.sent == []


def test_an_api_out_of_reach_is_a_bad_gateway_with_deployctls_message(server, api, monkeypatch):
    def unreachable(*_args, **_kwargs):
        raise DeployctlError("cannot reach the API at http://x (refused): run `make demo` first")

    monkeypatch.setattr(api, "send", unreachable)
    status, _, body = request(server, "/api/regions")
    assert status == 502
    assert json.loads(body) == {"message": "cannot reach the API at http://x (refused): run `make demo` first"}


def test_the_page_has_the_deployments_and_regions_panels(server):
    status, content_type, body = request(server, "/")
    assert (status, content_type) == (200, "text/html; charset=utf-8")
    page = body.decode()
    for element in (
        'id="build-list"',
        'id="deployment-list"',
        'id="deployment-detail"',
        'id="fleet"',
        'id="real-hosts"',
    ):
        assert element in page
    status, _, script = request(server, "/dashboard.js")
    assert status == 200
    for path in (
        "/deployments?limit=20",
        "/regions",
        "/deployments/${encodeURIComponent(selected)}",
        "/regions/${encodeURIComponent(region.region)}/hosts?limit=${HOSTS_PER_REGION_SHOWN}",
    ):
        assert path.encode() in script
