#!/bin/sh
# Passes once the server answers GET /health with this release's build id (it may take a moment to start):
# up to 10 s, asking with curl (python3's urllib where there is no curl).
url="http://127.0.0.1:$APP_PORT/health"
health() {
  if command -v curl > /dev/null; then
    curl --silent --max-time 1 "$url"
  else
    python3 -c "import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=1).read().decode())" "$url" 2>/dev/null
  fi
}
answer=""
for _ in $(seq 1 100); do
  answer="$(health)"
  case "$answer" in
    *"\"buildId\":\"$BUILD_ID\""*)
      echo "healthy: $answer"
      exit 0
      ;;
  esac
  sleep 0.1
done
echo "not healthy: GET $url answered '$answer', not build $BUILD_ID" >&2
exit 1
