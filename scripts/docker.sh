#!/usr/bin/env bash
# Starts a Docker daemon for `sam local invoke` / `sam local start-api`, or reuses the one answering.
# `docker.sh stop` stops only one it started. Exits non-zero, saying why, where no daemon can run
# (no dockerd installed, not root, or dockerd dies: e.g. in a container without the privileges).
set -euo pipefail
cd "$(dirname "$0")/.."

state_dir=".emulator"
pid_file="$state_dir/dockerd.pid"
log_file="$state_dir/dockerd.log"

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
    for _ in $(seq 1 60); do
      answering && { echo "==> Docker daemon ready"; exit 0; }
      kill -0 "$(cat "$pid_file")" 2>/dev/null || { echo "dockerd exited; see $log_file:" >&2; tail -5 "$log_file" >&2; rm -f "$pid_file"; exit 1; }
      sleep 0.5
    done
    echo "dockerd did not answer within 30 s; see $log_file" >&2
    exit 1
    ;;
  stop)
    if [ -f "$pid_file" ]; then
      pid="$(cat "$pid_file")"
      kill "$pid" 2>/dev/null && echo "==> stopped dockerd ($pid)" || true
      for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
      rm -f "$pid_file"
    fi
    ;;
  *)
    echo "usage: $0 [start|stop]" >&2
    exit 2
    ;;
esac
