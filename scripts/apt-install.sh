#!/usr/bin/env bash
# Installs Debian packages some tests need, where apt can: nothing to do when their commands are on PATH;
# where apt-get is not usable (not root, no apt) or fails, says so and exits 0: those tests then skip,
# saying why. Used by install-browser.sh and install-docker.sh.
#   scripts/apt-install.sh "<who needs them>" "<packages>" "<commands they provide>"
set -euo pipefail

needed_by="$1"
packages="$2"
commands="$3"

missing=0
for command in $commands; do
  command -v "$command" >/dev/null || missing=1
done
[ "$missing" -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "==> $packages not installed and apt-get not usable here: $needed_by will be skipped" >&2
  exit 0
fi
echo "==> installing $packages (apt) for $needed_by"
export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC2086  # the package list is word-split on purpose
if ! { apt-get update -qq && apt-get install -y -qq $packages >/dev/null; }; then
  echo "==> apt-get could not install $packages: $needed_by will be skipped" >&2
fi
