#!/bin/sh
# examples/hello's validate hook, except that it fails on about half of the hosts, on purpose: to show a
# deployment's health gate stopping a wave and rolling the region back (examples/README.md). Which hosts
# fail is decided by a hash of the host and the build, so the same deployment fails on the same hosts.
coin="$(printf '%s:%s' "$HOST_ID" "$BUILD_ID" | cksum | cut -d ' ' -f 1)"
if [ $((coin % 2)) -eq 1 ]; then
  echo "flaky: failing validate_service on purpose on $HOST_ID for $BUILD_ID (cksum of host:build $coin is odd;" \
    "about half of the hosts fail: examples/flaky)" >&2
  exit 1
fi
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
      echo "healthy: $answer (cksum of host:build $coin is even: flaky passes here)"
      exit 0
      ;;
  esac
  sleep 0.1
done
echo "not healthy: GET $url answered '$answer', not build $BUILD_ID" >&2
exit 1
