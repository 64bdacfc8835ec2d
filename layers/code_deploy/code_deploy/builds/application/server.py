"""The application every build deploys, and examples/hello's (pushed as it is): an HTTP server on APP_PORT
answering GET /health with the build it runs as the agent told its start hook (BUILD_ID), the host it runs
on and, in a build of a commit, the commit its manifest.json names."""

import http.server
import json
import os
from pathlib import Path

MANIFEST = Path(__file__).parent / "manifest.json"
ANSWER = {"status": "ok", "buildId": os.environ["BUILD_ID"], "host": os.environ.get("HOST_ID", "")}
if MANIFEST.is_file():
    ANSWER["commit"] = json.loads(MANIFEST.read_text())["commit"]
HEALTH = json.dumps(ANSWER, separators=(",", ":")).encode()


class Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path != "/health":
            self.send_error(404, "this application serves GET /health")
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(HEALTH)))
        self.end_headers()
        self.wfile.write(HEALTH)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: a load balancer's health checks would fill the log."""


http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["APP_PORT"])), Health).serve_forever()
