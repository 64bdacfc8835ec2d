#!/bin/sh
# Starts the server in the background and returns at once: the agent waits for this script, not for the
# server, which answers with the build id the agent gives this hook (BUILD_ID, in the environment it
# inherits). An application this release already runs (the hook run again after a restart) is left alone;
# a process left a zombie (state Z) is not running.
if [ -f server.pid ] && [ -n "$(ps -o stat= -p "$(cat server.pid)" 2>/dev/null | grep -v '^Z')" ]; then
  echo "build $BUILD_ID already running"
  exit 0
fi
nohup python3 server.py > server.log 2>&1 &
echo $! > server.pid
echo "started build $BUILD_ID on port $APP_PORT (pid $!)"
