#!/bin/sh
# Starts the application in the background and returns: the agent waits for this script, not for the
# server. An application this release already runs (the hook run again after a restart) is left alone.
if [ -f server.pid ] && kill -0 "$(cat server.pid)" 2>/dev/null; then
  echo "build $BUILD_ID already running"
  exit 0
fi
nohup python3 server.py > server.log 2>&1 &
echo $! > server.pid
echo "started build $BUILD_ID on port $APP_PORT (pid $!)"
