#!/usr/bin/env bash
# Installs Debian's headless Chromium and its WebDriver (chromium, chromium-driver) for the dashboard's
# browser test (tests/integration/test_dashboard.py). Browser downloads (Playwright's, Selenium Manager's)
# are not used: where apt cannot install them, the test is skipped and says why.
set -euo pipefail
exec "$(dirname "$0")/apt-install.sh" "the dashboard's browser test" "chromium chromium-driver" "chromium chromedriver"
