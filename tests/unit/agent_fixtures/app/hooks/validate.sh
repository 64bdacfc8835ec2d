#!/bin/sh
# Passes once the app answers GET /health with this release's build id (it may take a moment to start).
exec python3 - <<'PYTHON'
import os
import sys
import time
import urllib.request

url = f"http://127.0.0.1:{os.environ['APP_PORT']}/health"
deadline = time.monotonic() + 5
while True:
    try:
        with urllib.request.urlopen(url, timeout=1) as answer:
            body = answer.read().decode()
        if body == os.environ["BUILD_ID"]:
            print(f"healthy: {body}")
            sys.exit(0)
        last = f"answered {body!r}"
    except OSError as error:
        last = str(error)
    if time.monotonic() > deadline:
        print(f"not healthy: {last}")
        sys.exit(1)
    time.sleep(0.05)
PYTHON
