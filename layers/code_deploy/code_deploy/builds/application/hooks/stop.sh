#!/bin/sh
# Stops the application this release started and waits until it is gone, so the next release can take
# the port. A process left a zombie (state Z) has already closed its socket: that counts as gone.
[ -f server.pid ] || exit 0
pid="$(cat server.pid)"
kill "$pid" 2>/dev/null
for _ in $(seq 1 100); do
  if [ -z "$(ps -o stat= -p "$pid" 2>/dev/null | grep -v '^Z')" ]; then
    rm -f server.pid
    echo "stopped build $BUILD_ID"
    exit 0
  fi
  sleep 0.1
done
echo "pid $pid of build $BUILD_ID did not stop" >&2
exit 1
