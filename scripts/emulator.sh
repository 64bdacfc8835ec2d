#!/usr/bin/env bash
# Starts the embedded emulator (MiniStack) on 127.0.0.1:$EMULATOR_PORT, or reuses one already answering
# there (MiniStack or LocalStack, e.g. from docker-compose). `emulator.sh stop` stops only one it started.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/daemon.sh

port="${EMULATOR_PORT:-4566}"
health="http://127.0.0.1:$port/_localstack/health"
daemon_files ministack

answering() { curl -fsS --max-time 2 "$health" >/dev/null 2>&1; }

case "${1:-start}" in
  start)
    if answering; then
      echo "==> emulator already answering on 127.0.0.1:$port, reusing it"
      exit 0
    fi
    mkdir -p "$state_dir"
    echo "==> starting MiniStack on 127.0.0.1:$port (log: $log_file)"
    # scripts/run_ministack.py: MiniStack with the gap our code cannot work around closed (docs/emulator-gaps.md)
    BIND_HOST=127.0.0.1 GATEWAY_PORT="$port" nohup .venv/emulator/bin/python scripts/run_ministack.py >"$log_file" 2>&1 &
    echo $! > "$pid_file"
    wait_for_daemon MiniStack "emulator ready" 20 " on $health"
    ;;
  stop)
    stop_daemon MiniStack
    ;;
  *)
    echo "usage: $0 [start|stop]" >&2
    exit 2
    ;;
esac
