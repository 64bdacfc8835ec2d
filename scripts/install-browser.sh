#!/usr/bin/env bash
# Installs Debian's headless Chromium and its WebDriver (chromium, chromium-driver) for the dashboard's
# browser test (tests/integration/test_dashboard.py). Browser downloads (Playwright's, Selenium Manager's)
# are not used: where apt cannot install them, the test is skipped and says why.
set -euo pipefail

if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "==> chromium/chromedriver not installed and apt-get not usable here: the dashboard's browser test will be skipped" >&2
  exit 0
fi
echo "==> installing chromium and chromium-driver (apt) for the dashboard's browser test"
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null; }; then
  echo "==> apt-get could not install chromium: the dashboard's browser test will be skipped" >&2
fi
