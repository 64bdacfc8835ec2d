#!/bin/sh
# Starts the app in the background and returns at once: the agent waits for this script, not for the
# server, and the server's output goes to a file of its own. Idempotent: an app this release already
# runs (a restart after a crash runs the hook again) is left as it is.
if [ -f server.pid ] && [ -n "$(ps -o stat= -p "$(cat server.pid)" 2>/dev/null | grep -v '^Z')" ]; then
  echo "build $BUILD_ID already running"
  exit 0
fi
nohup python3 server.py > server.log 2>&1 &
echo $! > server.pid
echo "started build $BUILD_ID on port $APP_PORT (pid $!)"
