#!/bin/sh
# What makes examples/flaky flaky: its validate_service runs this first, then examples/hello's validate hook
# (deploy.yaml), so it fails on about half of the hosts, on purpose: to show a deployment's health gate
# stopping a wave and rolling the region back (examples/README.md). The hosts whose id ends in an odd digit
# fail (a numbered fleet's every other host, as `make fleet` numbers them); any other host id fails when
# the cksum of it is odd. The same host fails every time.
case "$HOST_ID" in
  *[13579]) fails=1 ;;
  *[02468]) fails=0 ;;
  *) fails=$(( $(printf '%s' "$HOST_ID" | cksum | cut -d ' ' -f 1) % 2 )) ;;
esac
if [ "$fails" -eq 1 ]; then
  echo "flaky: failing validate_service on purpose on $HOST_ID for $BUILD_ID (examples/flaky)" >&2
  exit 1
fi
echo "flaky passes on $HOST_ID"
