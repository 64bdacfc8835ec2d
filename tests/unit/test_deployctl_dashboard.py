"""deployctl dashboard's server without a stack: the page, the proxy of the builds, deployments, regions and
hosts API, and of the operator's actions, which only the page's token opens (the page itself is tested in a
real browser: tests/integration/test_dashboard.py)."""

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
ACTION_TOKEN = "the-pages-token"


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
            ("GET", "/freeze"): [(404, {"message": "no freeze"})],
            ("POST", f"/deployments/{DEPLOYMENT_ID}/pause"): [
                (202, {"deploymentId": DEPLOYMENT_ID, "status": "PAUSED"})
            ],
            ("POST", f"/deployments/{DEPLOYMENT_ID}/abort"): [(409, {"message": "it has ended: SUCCEEDED"})],
            ("POST", "/freeze"): [(200, {"frozen": True})],
            ("DELETE", "/freeze"): [(200, {"frozen": False})],
        }
    )


@pytest.fixture
def server(api):
    httpd = ThreadingHTTPServer(
        ("127.0.0.1", 0), dashboard.make_handler(api, dashboard.static_files(), action_token=ACTION_TOKEN)
    )
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield httpd.server_address[1]
    finally:
        httpd.shutdown()
        httpd.server_close()


def request(
    port: int,
    path: str,
    method: str = "GET",
    host: str = "127.0.0.1",
    token: str | None = None,
    body: bytes | None = None,
) -> tuple[int, str, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    headers = {"Host": f"{host}:{port}"} | ({dashboard.ACTION_TOKEN_HEADER: token} if token else {})
    if body is None and method in ("POST", "DELETE"):
        body = b"{}"
    try:
        connection.request(method, path, body=body, headers=headers)
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
    # as is no freeze in force, which the page reads every few seconds
    status, _, body = request(server, "/api/freeze")
    assert (status, json.loads(body)) == (404, {"message": "no freeze"})


def test_only_the_api_collections_are_proxied(server, api):
    for path in ("/api/buildsandmore", "/api/deploymentsx", "/api/", "/api/hosts", "/deployments"):
        status, _, body = request(server, path)
        assert status == 404, path
        assert json.loads(body)["message"] == f"no page {path}"
    assert api.sent == []


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "answer"),
    [
        ("POST", f"/deployments/{DEPLOYMENT_ID}/pause", {}, 202, {"deploymentId": DEPLOYMENT_ID, "status": "PAUSED"}),
        ("POST", f"/deployments/{DEPLOYMENT_ID}/abort", {}, 409, {"message": "it has ended: SUCCEEDED"}),
        ("POST", "/freeze", {"reason": "incident 42"}, 200, {"frozen": True}),
        ("DELETE", "/freeze", {}, 200, {"frozen": False}),
    ],
)
def test_the_pages_actions_are_signed_and_sent_with_their_token(server, api, method, path, body, status, answer):
    # When the page asks for an action, with the token it read from /api/stack
    assert json.loads(request(server, "/api/stack")[2])["actionToken"] == ACTION_TOKEN
    answered, _, answer_body = request(
        server, f"/api{path}", method=method, token=ACTION_TOKEN, body=json.dumps(body).encode()
    )
    # Then the API is asked the same, and its answer (an acceptance or a refusal) passed on as it is
    assert (answered, json.loads(answer_body)) == (status, answer)
    assert api.sent == [(method, path, body, None)]


def test_an_actions_query_is_passed_on(server, api):
    # (a service's freeze is named in the query: DELETE /freeze?service=web)
    status, _, _ = request(server, "/api/freeze?service=web", method="DELETE", token=ACTION_TOKEN)
    assert status == 200
    assert api.sent == [("DELETE", "/freeze", {}, {"service": "web"})]


@pytest.mark.parametrize("token", [None, "another-token", ACTION_TOKEN[:-1]])
def test_an_action_without_the_pages_token_is_refused(server, api, token):
    # (a page of another origin can neither read the token nor send its header without a preflight)
    status, _, body = request(server, f"/api/deployments/{DEPLOYMENT_ID}/pause", method="POST", token=token)
    assert status == 403
    assert dashboard.ACTION_TOKEN_HEADER in json.loads(body)["message"]
    assert api.sent == []


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", f"/api/deployments/{DEPLOYMENT_ID}/delete"),
        ("POST", "/api/builds"),
        ("POST", "/api/deployments"),
        ("DELETE", f"/api/deployments/{DEPLOYMENT_ID}"),
        ("POST", f"/api/deployments/{DEPLOYMENT_ID}/pause/more"),
        ("PUT", f"/api/deployments/{DEPLOYMENT_ID}/pause"),
        ("POST", f"/deployments/{DEPLOYMENT_ID}/pause"),
    ],
)
def test_only_the_operators_actions_are_proxied(server, api, method, path):
    status, _, _ = request(server, path, method=method, token=ACTION_TOKEN)
    assert status in (404, 501)
    assert api.sent == []


@pytest.mark.parametrize(("body", "status"), [(b"[1]", 400), (b"not json", 400), (b"{" + b" " * 5000 + b"}", 413)])
def test_an_actions_body_must_be_a_small_json_object(server, api, body, status):
    answered, _, answer = request(server, "/api/freeze", method="POST", token=ACTION_TOKEN, body=body)
    assert answered == status and json.loads(answer)["message"]
    assert api.sent == []


def test_each_server_makes_a_token_of_its_own(api):
    tokens = set()
    for _ in range(2):
        handler = dashboard.make_handler(api, dashboard.static_files())
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        try:
            tokens.add(json.loads(request(httpd.server_address[1], "/api/stack")[2])["actionToken"])
        finally:
            httpd.shutdown()
            httpd.server_close()
    assert len(tokens) == 2 and all(len(token) >= 32 for token in tokens)


def test_another_host_name_is_refused(server, api):
    for method in ("GET", "POST"):
        status, _, body = request(
            server, f"/api/deployments/{DEPLOYMENT_ID}/pause", method=method, host="evil.example", token=ACTION_TOKEN
        )
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


def test_the_page_has_its_panels_actions_and_scripts(server):
    status, content_type, body = request(server, "/")
    assert (status, content_type) == (200, "text/html; charset=utf-8")
    page = body.decode()
    for element in (
        'id="build-list"',
        'id="deployment-list"',
        'id="deployment-detail"',
        'id="fleet"',
        'id="real-hosts"',
        'id="dep-actions"',
        'id="timeline"',
        'id="grids"',
        'id="confirm"',
        'id="freeze"',
        'id="frozen"',
        'id="dep-action-log"',
    ):
        assert element in page
    for script in ("/grid.js", "/timeline.js"):
        status, content_type, _ = request(server, script)
        assert (status, content_type) == (200, "text/javascript; charset=utf-8")
    status, _, script = request(server, "/dashboard.js")
    assert status == 200
    for path in (
        "/deployments?limit=20",
        "/regions",
        "/deployments/${encodeURIComponent(selected)}",
        "/regions/${encodeURIComponent(region.region)}/hosts?limit=${HOSTS_PER_REGION_SHOWN}",
        "/regions/${encodeURIComponent(region.region)}/grid",
        "/regions/${encodeURIComponent(region)}/hosts/${encodeURIComponent(found.real.hostId)}",
        "/deployments/${encodeURIComponent(view.deploymentId)}/${action.name}",
        '"/api/freeze"',
    ):
        assert path.encode() in script
