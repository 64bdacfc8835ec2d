#!/usr/bin/env bash
# Installs Debian's Docker daemon and debootstrap (docker.io, debootstrap) for the sam local tests
# (tests/docker, make docker-test). Where apt cannot install them, those tests are skipped and say why.
set -euo pipefail

if command -v dockerd >/dev/null && command -v debootstrap >/dev/null; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "==> docker.io/debootstrap not installed and apt-get not usable here: the sam local tests will be skipped" >&2
  exit 0
fi
echo "==> installing docker.io and debootstrap (apt) for the sam local tests"
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get update -qq && apt-get install -y -qq docker.io debootstrap >/dev/null; }; then
  echo "==> apt-get could not install docker.io: the sam local tests will be skipped" >&2
fi
