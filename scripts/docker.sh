#!/usr/bin/env bash
# Starts a Docker daemon for `sam local invoke` / `sam local start-api`, or reuses the one answering.
# `docker.sh stop` stops only one it started. Exits non-zero, saying why, where no daemon can run
# (no dockerd installed, not root, or dockerd dies: e.g. in a container without the privileges).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/daemon.sh

daemon_files dockerd

answering() { docker info >/dev/null 2>&1; }

case "${1:-start}" in
  start)
    if answering; then
      exit 0
    fi
    command -v dockerd >/dev/null || { echo "no Docker daemon: dockerd is not installed (Debian: apt-get install docker.io)" >&2; exit 1; }
    command -v docker >/dev/null || { echo "no Docker client on PATH" >&2; exit 1; }
    [ "$(id -u)" = 0 ] || { echo "no Docker daemon answering, and starting one needs root" >&2; exit 1; }
    mkdir -p "$state_dir"
    echo "==> starting dockerd (log: $log_file)"
    nohup dockerd >"$log_file" 2>&1 &
    echo $! >"$pid_file"
    wait_for_daemon dockerd "Docker daemon ready" 5
    ;;
  stop)
    stop_daemon dockerd
    ;;
  *)
    echo "usage: $0 [start|stop]" >&2
    exit 2
    ;;
esac
