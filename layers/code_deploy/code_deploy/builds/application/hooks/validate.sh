#!/bin/sh
# Passes once the application answers GET /health with this release's build id (it may take a moment to
# start): up to 10 s.
exec python3 - "http://127.0.0.1:$APP_PORT/health" "$BUILD_ID" <<'PYTHON'
import json, sys, time, urllib.request

url, build_id = sys.argv[1], sys.argv[2]
answer = None
for _ in range(100):
    try:
        answer = json.loads(urllib.request.urlopen(url, timeout=1).read())
        if answer.get("buildId") == build_id:
            print(f"healthy: {answer}")
            sys.exit(0)
    except OSError as error:
        answer = str(error)
    time.sleep(0.1)
print(f"{url} did not answer build {build_id}: last answer {answer}", file=sys.stderr)
sys.exit(1)
PYTHON
