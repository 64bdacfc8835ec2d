#!/usr/bin/env bash
# Runs tests/docker (make docker-test, with the emulator's environment; `sam local invoke` of every function with its events/ file, `sam local start-api`)
# against the stack deployed on the emulator, where a Docker daemon answers or can be started here.
# Where none can (no dockerd, not root, no privileges), says so and exits 0: the rest of the suite
# does not need Docker (scripts/install-docker.sh installs Debian's docker.io and debootstrap).
set -euo pipefail
cd "$(dirname "$0")/.."

skip() {
  echo "SKIPPED: the sam local (Docker) tests: $*"
  exit 0
}

reason="$(scripts/docker.sh start 2>&1 >/dev/null)" || skip "no Docker daemon can run here (${reason//$'\n'/ })"
scripts/lambda-image.sh || skip "the Lambda Python 3.13 image can neither be pulled nor built here"
.venv/test/bin/pytest tests/docker
