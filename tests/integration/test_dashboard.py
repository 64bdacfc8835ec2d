"""`deployctl dashboard` in a real headless Chromium (Debian's chromium, driven by Selenium through
Debian's chromium-driver): the page shows a build this test submits and follows it to its final state
without a reload, and so its deployment, and every region's hosts on it; and a region's real hosts (an agent
this test starts) in their table.

    DASHBOARD_SCREENSHOT=docs/dashboard.png  keeps a screenshot of the final page (the README's)
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import time

import boto3
import pytest

from tests.integration.helpers import DEPLOYCTL, deployctl_environment, http, local_agents
from tools import fleet as local_fleet
from tools.stack import regional_outputs, regions

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="headless Chromium not installed: scripts/install-browser.sh installs Debian's chromium and chromium-driver",
)
DEADLINE_SECONDS = 120


@pytest.fixture
def dashboard_url():
    server = subprocess.Popen(
        [str(DEPLOYCTL), "dashboard", "--port", "0", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=deployctl_environment(),
    )
    try:
        line = server.stdout.readline()
        if not line:
            pytest.fail(f"deployctl dashboard did not start: {server.stderr.read()}")
        yield json.loads(line)["url"]
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture
def browser(tmp_path, monkeypatch):
    # Debian's chromium-driver is given below: Selenium Manager must never try to download one.
    monkeypatch.setenv("SE_OFFLINE", "true")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--window-size=1280,720",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def text_of(driver, selector: str) -> str:
    from selenium.webdriver.common.by import By

    found = driver.find_elements(By.CSS_SELECTOR, selector)
    return found[0].text if found else ""


def test_the_dashboard_follows_a_submitted_build_live_to_every_host(
    api, dashboard_url, browser, hosts_per_region, buckets
):
    # Given the dashboard open, marked so that a reload would show
    browser.get(dashboard_url)
    browser.execute_script("window.loadedOnce = 'yes';")
    # When a build is submitted through the API
    code, accepted = http("POST", f"{api}/builds", {"commit": secrets.token_hex(20)})
    assert code == 202, accepted
    build_id = accepted["buildId"]
    # Then it appears in the page's list by itself, and once picked, the page follows it to DEPLOYED
    item = f'#build-list li[data-build-id="{build_id}"]'
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not text_of(browser, item) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert build_id in text_of(browser, item), "the new build never appeared in the list"
    browser.find_element("css selector", item).click()
    state = ""
    while time.monotonic() < deadline:
        shown = browser.execute_script("return document.getElementById('detail').dataset.buildId || null;")
        state = text_of(browser, "#deployment-status") if shown == build_id else ""
        if state in ("DEPLOYED", "FAILED"):
            break
        time.sleep(0.2)
    assert state == "DEPLOYED", f"the page shows {state or 'nothing'} for {build_id}"
    # without a reload: the mark set after the first load is still there
    assert browser.execute_script("return window.loadedOnce;") == "yes"
    for region in buckets:
        card = text_of(browser, f'.region[data-region="{region}"]')
        assert "SUCCEEDED" in card and f"{hosts_per_region:,}/{hosts_per_region:,} hosts" in card, card
    if os.environ.get("DASHBOARD_SCREENSHOT"):
        browser.save_screenshot(os.environ["DASHBOARD_SCREENSHOT"])


def test_the_dashboard_follows_a_deployment_live_and_shows_the_regions_hosts(api, dashboard_url, browser, buckets):
    # Given the dashboard open, marked so that a reload would show
    browser.get(dashboard_url)
    browser.execute_script("window.loadedOnce = 'yes';")
    # When a build lands (AutoDeploy deploys it to every region, one wave)
    code, accepted = http("POST", f"{api}/builds", {"commit": secrets.token_hex(20)})
    assert code == 202, accepted
    build_id = accepted["buildId"]
    # Then its deployment appears in the deployments list by itself
    # (found and clicked in the page's own script: the list is redrawn on every refresh, so an element
    # Selenium held could be gone by the time it is clicked)
    deadline = time.monotonic() + DEADLINE_SECONDS
    deployment_id = None
    while deployment_id is None and time.monotonic() < deadline:
        deployment_id = browser.execute_script(
            "const li = [...document.querySelectorAll('#deployment-list li')]"
            ".find((li) => li.textContent.includes(arguments[0]));"
            "if (li) { li.click(); return li.dataset.deploymentId; } return null;",
            build_id,
        )
        time.sleep(0.2)
    assert deployment_id, "the build's deployment never appeared in the list"
    # and once picked, the page follows it to SUCCEEDED
    state = ""
    while time.monotonic() < deadline:
        shown = browser.execute_script("return document.getElementById('deployment-detail').dataset.deploymentId;")
        state = text_of(browser, "#dep-status") if shown == deployment_id else ""
        if state in ("SUCCEEDED", "ROLLED_BACK", "ABORTED", "SUPERSEDED", "FAILED"):
            break
        time.sleep(0.2)
    assert state == "SUCCEEDED", f"the page shows {state or 'nothing'} for {deployment_id}"
    # and the regions panel shows every region's hosts on the build, without a reload
    while time.monotonic() < deadline and not all(
        build_id in text_of(browser, f'#fleet .fleet[data-region="{region}"] .builds-on-hosts') for region in buckets
    ):
        time.sleep(0.2)
    for region in buckets:
        assert build_id in text_of(browser, f'#fleet .fleet[data-region="{region}"] .builds-on-hosts')
    assert browser.execute_script("return window.loadedOnce;") == "yes"


def test_the_dashboard_shows_each_regions_real_hosts(api, dashboard_url, browser, stack_outputs, tmp_path):
    # Given a real agent of a group of this test's own in the first region (as `make fleet` starts them)
    region = regions(stack_outputs)[0]
    fleet_table = boto3.resource("dynamodb", region_name=region).Table(
        regional_outputs(stack_outputs, region)["FleetTableName"]
    )
    with local_agents(fleet_table, "dashboard", tmp_path / "fleet"):
        [host_id] = local_fleet.start(
            agents=1, group="dashboard", base_dir=tmp_path / "fleet", only_regions=[region], timeout=60
        )[region]
        # When the dashboard is open
        browser.get(dashboard_url)
        # Then the region's table of real hosts shows it, idle, without a reload
        row = f'#real-hosts .region-hosts[data-region="{region}"] tr[data-host-id="{host_id}"]'
        deadline = time.monotonic() + 30
        while "idle" not in text_of(browser, row) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert host_id in text_of(browser, row) and "dashboard" in text_of(browser, row), text_of(
            browser, "#real-hosts"
        )
        assert "idle" in text_of(browser, row)
        assert browser.execute_script("return document.getElementById('real-hosts-panel').hidden;") is False
