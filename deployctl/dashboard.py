"""`deployctl dashboard`: a live page of builds, deployments, regions and their hosts on 127.0.0.1, as
`kubectl proxy` serves the Kubernetes API; and the operator's actions on a deployment.

A stdlib HTTP server serves one static page (deployctl/static/: no build step, no framework), proxies the
page's reads under /api/ (builds, deployments, regions, services, the freeze) to the API, and its actions
(pause, resume, promote, approve, abort, roll back a deployment; freeze deployments, lift the freeze), signed
with SigV4 by deployctl's own credentials. So the API keeps its IAM authorization and no credential ever
reaches the browser.

The proxy answers only requests addressed to 127.0.0.1 or localhost (no other host name: DNS rebinding), and
an action only with the token this server made when it started, which the page reads from /api/stack: a page
of another origin can neither read it (no CORS) nor send the header without a preflight this server never
allows, so a web page elsewhere cannot make the browser pause or abort a deployment through it.
"""

from __future__ import annotations

import hmac
import json
import re
import secrets
import urllib.parse
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.resources import files

from deployctl.api import Api, DeployctlError

API_PREFIX = "/api"
LOCAL_HOSTS = ("127.0.0.1", "localhost")
# What the page reads: the API's collections, each with what lies under it (/builds/{id}, /regions/{region} ...),
# and the freeze in force.
PROXIED = ("/builds", "/deployments", "/regions", "/services", "/freeze")
# What the page may ask the API to do, (method, API path): an action on a deployment, a freeze and its lifting.
ACTIONS = (
    ("POST", re.compile(r"/deployments/deploy-[A-Za-z0-9-]{1,100}/(pause|resume|promote|approve|abort|rollback)")),
    ("POST", re.compile(r"/freeze")),
    ("DELETE", re.compile(r"/freeze")),
)
ACTION_TOKEN_HEADER = "X-Deployctl-Action-Token"
MAX_ACTION_BODY_BYTES = 4096


# The page's files, by URL path: (file under deployctl/static, Content-Type).
STATIC = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/dashboard.js": ("dashboard.js", "text/javascript; charset=utf-8"),
    "/grid.js": ("grid.js", "text/javascript; charset=utf-8"),
    "/timeline.js": ("timeline.js", "text/javascript; charset=utf-8"),
}


def static_files() -> dict[str, tuple[bytes, str]]:
    return {
        path: (files("deployctl").joinpath("static", name).read_bytes(), kind) for path, (name, kind) in STATIC.items()
    }


def proxied(path: str) -> bool:
    """Whether the page may read `path` through the proxy: an API collection or something under it."""
    if not path.startswith(API_PREFIX + "/"):
        return False
    api_path = path[len(API_PREFIX) :]
    return any(api_path == collection or api_path.startswith(collection + "/") for collection in PROXIED)


def action(method: str, path: str) -> str | None:
    """The API path of the action the page asks for with `method` on `path`, or None when it is not one."""
    if not path.startswith(API_PREFIX + "/"):
        return None
    api_path = path[len(API_PREFIX) :]
    allowed = any(method == allowed_method and pattern.fullmatch(api_path) for allowed_method, pattern in ACTIONS)
    return api_path if allowed else None


def make_handler(
    api: Api, pages: dict[str, tuple[bytes, str]], action_token: str | None = None
) -> type[BaseHTTPRequestHandler]:
    """The server's handler; `action_token` is what the page must send with an action (a new one if None)."""
    token = action_token or secrets.token_urlsafe(32)

    class DashboardHandler(BaseHTTPRequestHandler):
        server_version = "deployctl-dashboard"

        def do_GET(self) -> None:
            if not self._addressed_locally():
                return
            url = urllib.parse.urlsplit(self.path)
            if url.path in pages:
                body, content_type = pages[url.path]
                self._send(HTTPStatus.OK, content_type, body)
            elif url.path == API_PREFIX + "/stack":
                self._json(
                    HTTPStatus.OK, {"stack": api.target.stack_name, "where": api.target.where, "actionToken": token}
                )
            elif proxied(url.path):
                query = dict(urllib.parse.parse_qsl(url.query))
                self._forward("GET", url.path[len(API_PREFIX) :], query=query or None)
            else:
                self._json(HTTPStatus.NOT_FOUND, {"message": f"no page {url.path}"})

        def do_POST(self) -> None:
            self._act("POST")

        def do_DELETE(self) -> None:
            self._act("DELETE")

        def _act(self, method: str) -> None:
            if not self._addressed_locally():
                return
            url = urllib.parse.urlsplit(self.path)
            api_path = action(method, url.path)
            if api_path is None:
                self._json(HTTPStatus.NOT_FOUND, {"message": f"no action {method} {self.path}"})
                return
            if not hmac.compare_digest(self.headers.get(ACTION_TOKEN_HEADER) or "", token):
                self._json(HTTPStatus.FORBIDDEN, {"message": f"an action needs this page's {ACTION_TOKEN_HEADER}"})
                return
            body = self._json_body()
            if body is not None:
                # (the query names what an action is about where its path does not: a service's freeze)
                self._forward(method, api_path, query=dict(urllib.parse.parse_qsl(url.query)) or None, body=body)

        def _json_body(self) -> dict | None:
            """The action's JSON object ({} when none); None once a refusal has been answered."""
            declared = self.headers.get("Content-Length") or "0"
            length = int(declared) if declared.isdigit() else MAX_ACTION_BODY_BYTES + 1
            if length > MAX_ACTION_BODY_BYTES:
                self._json(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"message": f"over {MAX_ACTION_BODY_BYTES} bytes"})
                return None
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
            except ValueError:
                body = None
            if not isinstance(body, dict):
                self._json(HTTPStatus.BAD_REQUEST, {"message": "the action's body is not a JSON object"})
                return None
            return body

        def _forward(self, method: str, api_path: str, *, query: dict | None = None, body: dict | None = None) -> None:
            try:
                status, answer = api.send(method, api_path, body=body, query=query)
            except DeployctlError as error:
                status, answer = HTTPStatus.BAD_GATEWAY, {"message": str(error)}
            self._json(status, answer)

        def _addressed_locally(self) -> bool:
            host = (self.headers.get("Host") or "").rsplit(":", 1)[0]
            if host not in LOCAL_HOSTS:
                self._json(
                    HTTPStatus.FORBIDDEN, {"message": f"the dashboard answers on {' or '.join(LOCAL_HOSTS)} only"}
                )
            return host in LOCAL_HOSTS

        def _json(self, status: int, answer: dict) -> None:
            self._send(status, "application/json", json.dumps(answer).encode())

        def _send(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args) -> None:
            # The page polls every second: one line a request would bury everything else.
            pass

    return DashboardHandler


def serve(api: Api, port: int, on_ready=None) -> None:
    """Serves until interrupted. Fails early, with deployctl's one-line errors, when the stack is not up."""
    _ = api.base_url  # finds the stack now rather than on the page's first request
    server = ThreadingHTTPServer(("127.0.0.1", port), make_handler(api, static_files()))
    if on_ready:
        on_ready(f"http://127.0.0.1:{server.server_address[1]}/")
    try:
        server.serve_forever(poll_interval=0.5)
    finally:
        server.server_close()
