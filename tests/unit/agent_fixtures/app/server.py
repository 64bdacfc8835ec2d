"""The tiny application the agent's unit tests deploy: answers GET /health with its build id."""

import http.server
import os

BUILD_ID = os.environ["BUILD_ID"]
PORT = int(os.environ["APP_PORT"])


class Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path != "/health":
            self.send_error(404)
            return
        body = BUILD_ID.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the tests read the answers, not the access log."""


http.server.HTTPServer(("127.0.0.1", PORT), Health).serve_forever()
