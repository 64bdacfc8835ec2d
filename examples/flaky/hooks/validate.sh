#!/bin/sh
# examples/hello's validate hook, except that it fails on about half of the hosts, on purpose: to show a
# deployment's health gate stopping a wave and rolling the region back (examples/README.md). The hosts
# whose id ends in an odd digit fail (a numbered fleet's every other host, as `make fleet` numbers them);
# any other host id fails when the cksum of it is odd. The same host fails every time.
case "$HOST_ID" in
  *[13579]) fails=1 ;;
  *[02468]) fails=0 ;;
  *) fails=$(( $(printf '%s' "$HOST_ID" | cksum | cut -d ' ' -f 1) % 2 )) ;;
esac
if [ "$fails" -eq 1 ]; then
  echo "flaky: failing validate_service on purpose on $HOST_ID for $BUILD_ID (examples/flaky)" >&2
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
      echo "healthy: $answer (flaky passes on $HOST_ID)"
      exit 0
      ;;
  esac
  sleep 0.1
done
echo "not healthy: GET $url answered '$answer', not build $BUILD_ID" >&2
exit 1
