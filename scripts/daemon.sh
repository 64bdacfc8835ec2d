# Sourced by emulator.sh and docker.sh: a daemon each starts in the background, its pid in $pid_file and its
# output in $log_file, then waits for until `answering` (which each defines) succeeds; and its stop.

state_dir=".emulator"

# daemon_files NAME: where the daemon's pid and output go (.emulator/NAME.pid, .emulator/NAME.log).
daemon_files() {
  pid_file="$state_dir/$1.pid"
  log_file="$state_dir/$1.log"
}

# wait_for_daemon NAME READY TAIL [WHERE]: up to 30 s for it to answer; if it exits first, its log's last
# TAIL lines. READY is said once it answers; WHERE says where it was asked (" on <url>").
wait_for_daemon() {
  local name="$1" ready="$2" tail_lines="$3" where="${4:-}"
  for _ in $(seq 1 60); do
    answering && { echo "==> $ready"; return 0; }
    kill -0 "$(cat "$pid_file")" 2>/dev/null || {
      echo "$name exited; see $log_file:" >&2
      tail -n "$tail_lines" "$log_file" >&2
      rm -f "$pid_file"
      return 1
    }
    sleep 0.5
  done
  echo "$name did not answer$where within 30 s; see $log_file" >&2
  return 1
}

# stop_daemon NAME: stops the daemon this script started (none: nothing to do), and waits up to 10 s for it.
stop_daemon() {
  [ -f "$pid_file" ] || return 0
  local pid
  pid="$(cat "$pid_file")"
  kill "$pid" 2>/dev/null && echo "==> stopped $1 ($pid)" || true
  for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
  rm -f "$pid_file"
}
