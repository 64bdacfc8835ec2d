"""The application each build deploys: an HTTP server on APP_PORT answering GET /health with the build it
runs (its manifest.json: build id, commit, when it was built) and the host it runs on."""

import http.server
import json
import os
from pathlib import Path

MANIFEST = json.loads((Path(__file__).parent / "manifest.json").read_text())
HEALTH = json.dumps(
    {"status": "ok", "buildId": MANIFEST["buildId"], "commit": MANIFEST["commit"], "host": os.environ.get("HOST_ID")}
).encode()


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
