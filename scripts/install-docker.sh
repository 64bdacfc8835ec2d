#!/usr/bin/env bash
# Installs Debian's Docker daemon and debootstrap (docker.io, debootstrap) for the sam local tests
# (tests/docker, make docker-test). Where apt cannot install them, those tests are skipped and say why.
set -euo pipefail
exec "$(dirname "$0")/apt-install.sh" "the sam local tests" "docker.io debootstrap" "dockerd debootstrap"
