#!/bin/sh
# Passes once the app answers GET /health with this release's build id (it may take a moment to start):
# up to 5 s, with curl (python3's urllib where there is no curl).
url="http://127.0.0.1:$APP_PORT/health"
health() {
  if command -v curl > /dev/null; then
    curl --silent --max-time 1 "$url"
  else
    python3 -c "import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=1).read().decode())" "$url" 2>/dev/null
  fi
}
for _ in $(seq 1 100); do
  answer="$(health)"
  if [ "$answer" = "$BUILD_ID" ]; then
    echo "healthy: $answer"
    exit 0
  fi
  sleep 0.05
done
echo "not healthy: GET /health answered '$answer', not '$BUILD_ID'"
exit 1
