"""A tiny HTTP server: GET /health answers {"status": "ok", "buildId": ..., "host": ...}, the build it runs as
the agent told its start hook (BUILD_ID), on the port the agent gives the application (APP_PORT)."""

import http.server
import json
import os

HEALTH = json.dumps(
    {"status": "ok", "buildId": os.environ["BUILD_ID"], "host": os.environ.get("HOST_ID", "")},
    separators=(",", ":"),
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
