"""`deployctl dashboard`: a live page of builds, deployments and regions on 127.0.0.1, as `kubectl proxy`
serves the Kubernetes API.

A stdlib HTTP server serves one static page (deployctl/static/index.html: no build step, no framework)
and proxies the page's reads under /api/ (builds, deployments, regions, services) to the API, signed with
SigV4 by deployctl's own credentials. So the API keeps its IAM authorization and no credential ever reaches the browser.

The proxy is read-only (GET) and answers only requests addressed to 127.0.0.1 or localhost: a web page
elsewhere cannot make the browser submit builds, or pause or abort a deployment, through it, nor reach it
under another host name (DNS rebinding). Pausing and the like stay deployctl's commands.
"""

from __future__ import annotations

import json
import urllib.parse
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.resources import files

from deployctl.api import Api, DeployctlError

API_PREFIX = "/api"
LOCAL_HOSTS = ("127.0.0.1", "localhost")
# The API's collections the page reads: each with what lies under it (/builds/{id}, /regions/{region} ...).
PROXIED = ("/builds", "/deployments", "/regions", "/services")


# The page's files, by URL path: (file under deployctl/static, Content-Type).
STATIC = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/dashboard.js": ("dashboard.js", "text/javascript; charset=utf-8"),
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


def make_handler(api: Api, pages: dict[str, tuple[bytes, str]]) -> type[BaseHTTPRequestHandler]:
    class DashboardHandler(BaseHTTPRequestHandler):
        server_version = "deployctl-dashboard"

        def do_GET(self) -> None:
            host = (self.headers.get("Host") or "").rsplit(":", 1)[0]
            if host not in LOCAL_HOSTS:
                self._json(
                    HTTPStatus.FORBIDDEN, {"message": f"the dashboard answers on {' or '.join(LOCAL_HOSTS)} only"}
                )
                return
            url = urllib.parse.urlsplit(self.path)
            if url.path in pages:
                body, content_type = pages[url.path]
                self._send(HTTPStatus.OK, content_type, body)
            elif url.path == API_PREFIX + "/stack":
                self._json(HTTPStatus.OK, {"stack": api.target.stack_name, "where": api.target.where})
            elif proxied(url.path):
                query = dict(urllib.parse.parse_qsl(url.query))
                try:
                    status, answer = api.send("GET", url.path[len(API_PREFIX) :], query=query or None)
                except DeployctlError as error:
                    status, answer = HTTPStatus.BAD_GATEWAY, {"message": str(error)}
                self._json(status, answer)
            else:
                self._json(HTTPStatus.NOT_FOUND, {"message": f"no page {url.path}"})

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
