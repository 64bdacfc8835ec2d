"""`deployctl dashboard` in a real headless Chromium (Debian's chromium, driven by Selenium through
Debian's chromium-driver): the page shows a build this test submits and follows it to its final state
without a reload, and so its deployment, and every region's hosts on it; a region's real hosts (an agent
this test starts) in their table; the operator pausing, resuming and promoting a deployment from the page,
each confirmed, and its timeline following it to its end; and every host of every region on the grid, a
click on one telling what it runs and last reported.

    DASHBOARD_SCREENSHOT=docs/dashboard.png  keeps a screenshot of a deployment under way (the README's)
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

from tests.integration.helpers import (
    DEPLOYCTL,
    deploy,
    deployctl_environment,
    deployment,
    finished,
    http,
    local_agents,
    wait_for,
)
from tests.integration.test_deployments import deployed_build
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


def page_click(driver, selector: str) -> None:
    """Clicks what `selector` finds now, in the page's own script: the page redraws every second, so an element
    Selenium held could be gone by the time it is clicked."""
    assert driver.execute_script(
        "const found = document.querySelector(arguments[0]); if (found) found.click(); return Boolean(found);", selector
    ), f"nothing to click at {selector}"


def confirm_action(driver, action: str) -> None:
    """Clicks the deployment's `action` button, then confirms it in the page's dialog."""
    page_click(driver, f'#dep-actions button[data-action="{action}"]:not([disabled])')
    while not driver.execute_script("return document.getElementById('confirm').open;"):
        time.sleep(0.1)
    assert action in text_of(driver, "#confirm-question").lower()
    page_click(driver, "#confirm-yes")


def shown_status(driver, deployment_id: str) -> str:
    shown = driver.execute_script("return document.getElementById('deployment-detail').dataset.deploymentId;")
    return text_of(driver, "#dep-status") if shown == deployment_id else ""


def test_the_operator_pauses_resumes_and_promotes_a_deployment_from_the_page_and_its_timeline_follows(
    api, dashboard_url, browser, buckets, hosts_per_region
):
    # Given two builds, the later on every host, and a deployment of the earlier one that bakes two minutes after
    # its first wave (time enough for what follows, short enough to show on the timeline), with a few simulated
    # failures (under the gate's 5%)
    older = deployed_build(api)
    deployed_build(api)
    deployment_id = deploy(
        api,
        {"buildId": older, "waves": [50, 100], "bakeSeconds": 120, "simulate": {"hostFailurePercent": 2, "seed": 7}},
    )
    # and the dashboard open on it, marked so that a reload would show
    browser.set_window_size(1280, 1600)
    browser.get(f"{dashboard_url}#{deployment_id}")
    browser.execute_script("window.loadedOnce = 'yes';")
    wait_for(lambda: shown_status(browser, deployment_id) in ("QUEUED", "IN_PROGRESS"), "the deployment shown")
    # When the operator clicks pause and confirms
    confirm_action(browser, "pause")
    # Then the deployment is PAUSED, in the API and on the page
    wait_for(lambda: deployment(api, deployment_id)["status"] == "PAUSED", f"{deployment_id} paused")
    wait_for(lambda: shown_status(browser, deployment_id) == "PAUSED", "the page showing it paused")
    assert "PAUSED" in text_of(browser, "#action-result")
    # and once resumed, its regions bake after their first wave, half their hosts on the build
    confirm_action(browser, "resume")
    wait_for(lambda: all(r["status"] == "BAKING" for r in deployment(api, deployment_id)["regions"].values()), "baking")
    wait_for(
        lambda: all(
            browser.execute_script(
                "return document.querySelectorAll(arguments[0]).length;",
                f'#timeline .timeline-region[data-region="{region}"] .lane.actual .segment.bake',
            )
            for region in buckets
        ),
        "the timeline showing the bakes",
    )
    if os.environ.get("DASHBOARD_SCREENSHOT"):
        time.sleep(15)  # the bake under way on the timeline, the grids read after the first wave
        browser.save_screenshot(os.environ["DASHBOARD_SCREENSHOT"])
    # and promoted, it ends SUCCEEDED: the timeline reaches it without a reload, every wave done on it
    confirm_action(browser, "promote")
    assert finished(api, deployment_id)["status"] == "SUCCEEDED"
    wait_for(
        lambda: browser.execute_script("return document.getElementById('timeline').dataset.status;") == "SUCCEEDED",
        "the timeline at SUCCEEDED",
    )
    for region in buckets:
        lane = f'#timeline .timeline-region[data-region="{region}"] .lane'
        done_waves = browser.execute_script(
            "return [...document.querySelectorAll(arguments[0])].map((s) => s.dataset.wave + s.dataset.done);",
            f"{lane}.actual .segment.wave",
        )
        assert done_waves == ["1yes", "2yes"], (region, done_waves)
        assert (
            browser.execute_script("return document.querySelectorAll(arguments[0]).length;", f"{lane}.plan .wave") == 2
        )
        assert browser.execute_script("return document.querySelectorAll(arguments[0]).length;", f"{lane} .pause") == 1
    # the history says who did what (each action, when)
    history = text_of(browser, "#dep-history")
    assert "PAUSED" in history and "SUCCEEDED" in history
    assert browser.execute_script("return window.loadedOnce;") == "yes"
    # and nothing applies to it any more but a rollback
    enabled = browser.execute_script(
        "return [...document.querySelectorAll('#dep-actions button:not([disabled])')].map((b) => b.dataset.action);"
    )
    assert enabled == ["rollback"]


def grid_of(api: str, region: str) -> dict:
    status, grid = http("GET", f"{api}/regions/{region}/grid")
    assert status == 200, grid
    return grid


def grid_drawn(driver, region: str) -> int | None:
    """How many hosts the region's grid drew last."""
    drawn = driver.execute_script(
        "const canvas = document.querySelector(arguments[0]); return canvas && canvas.dataset.hosts;",
        f'#grids .grid-region[data-region="{region}"] canvas',
    )
    return int(drawn) if drawn else None


def click_host(driver, region: str, place: int) -> None:
    """Clicks host `place` of the region's grid (its cell's centre), as the operator would."""
    from selenium.webdriver.common.action_chains import ActionChains

    canvas = driver.find_element("css selector", f'#grids .grid-region[data-region="{region}"] canvas')
    size, columns, width, height = driver.execute_script(
        "arguments[1].scrollIntoView({block: 'start'});"
        "const drawn = grids[arguments[0]].drawn, box = arguments[1].getBoundingClientRect();"
        "return [drawn.size, drawn.columns, box.width, box.height];",
        region,
        canvas,
    )
    x = (place % columns) * size + size / 2
    y = (place // columns) * size + size / 2
    ActionChains(driver).move_to_element_with_offset(canvas, int(x - width / 2), int(y - height / 2)).click().perform()


def test_the_grid_draws_every_host_of_every_region_and_a_click_tells_one_hosts_story(
    api, dashboard_url, browser, stack_outputs, buckets, hosts_per_region, tmp_path
):
    # Given a real agent in the first region, besides the simulated hosts of every region
    region = regions(stack_outputs)[0]
    fleet_table = boto3.resource("dynamodb", region_name=region).Table(
        regional_outputs(stack_outputs, region)["FleetTableName"]
    )
    with local_agents(fleet_table, "dashboard-grid", tmp_path / "fleet"):
        [host_id] = local_fleet.start(
            agents=1, group="dashboard-grid", base_dir=tmp_path / "fleet", only_regions=[region], timeout=60
        )[region]
        # When the dashboard is open
        browser.set_window_size(1280, 1600)
        browser.get(dashboard_url)
        # Then each region's grid draws every one of its hosts, simulated and real
        for name in buckets:
            wait_for(
                lambda name=name: grid_drawn(browser, name) == hosts_per_region + len(grid_of(api, name)["real"]),
                f"{name}'s grid drawing every host",
            )
        # and a click on the real host shows its last report (read for it), a click on a simulated host what it runs
        place = browser.execute_script(
            "return grids[arguments[0]].grid.real.findIndex((row) => row.hostId === arguments[1]);", region, host_id
        )
        assert place >= 0
        click_host(browser, region, place)
        wait_for(lambda: host_id in text_of(browser, "#host-detail h3"), "the real host's story")
        wait_for(lambda: "last report" in text_of(browser, "#host-detail"), "its last report")
        real_hosts = len(grid_of(api, region)["real"])
        click_host(browser, region, real_hosts)
        wait_for(lambda: f"{region}-host-000000" in text_of(browser, "#host-detail h3"), "the first simulated host")
        assert "runs" in text_of(browser, "#host-detail")


def test_the_operator_rolls_a_deployment_back_and_freezes_deployments_from_the_page(api, dashboard_url, browser):
    # Given a deployment that ended on its build, and the dashboard open on it
    older, newer = deployed_build(api), deployed_build(api)
    deployment_id = deploy(api, {"buildId": older})
    assert finished(api, deployment_id)["status"] == "SUCCEEDED"
    browser.set_window_size(1280, 1600)
    browser.get(f"{dashboard_url}#{deployment_id}")
    wait_for(lambda: shown_status(browser, deployment_id) == "SUCCEEDED", "the deployment shown")
    # When the operator rolls it back from the page, and confirms
    confirm_action(browser, "rollback")
    # Then its regions go back to the build before, and the page says who asked, and when
    wait_for(lambda: deployment(api, deployment_id)["status"] == "ROLLED_BACK", f"{deployment_id} rolled back")
    assert {region["goalBuildId"] for region in http("GET", f"{api}/regions")[1]["regions"]} == {newer}
    wait_for(lambda: shown_status(browser, deployment_id) == "ROLLED_BACK", "the page showing it rolled back")
    logged = '#dep-action-log tr[data-action="rollback"]'
    wait_for(lambda: text_of(browser, logged), "the rollback in who did what")
    recorded = deployment(api, deployment_id)["actions"][-1]
    assert recorded["action"] == "rollback" and recorded["by"] and recorded["by"] in text_of(browser, logged)
    # When the operator freezes deployments, saying why, then lifts the freeze
    reason = f"incident {secrets.token_hex(3)}"
    try:
        page_click(browser, "#freeze")
        wait_for(lambda: browser.execute_script("return document.getElementById('confirm').open;"), "the dialog")
        browser.find_element("css selector", "#confirm-reason").send_keys(reason)
        page_click(browser, "#confirm-yes")
        # Then the freeze is in force, with its reason, on the page too
        wait_for(lambda: http("GET", f"{api}/freeze")[0] == 200, "the freeze")
        assert http("GET", f"{api}/freeze")[1]["reason"] == reason
        wait_for(lambda: reason in text_of(browser, "#frozen"), "the freeze's banner")
        page_click(browser, "#thaw")
        wait_for(lambda: browser.execute_script("return document.getElementById('confirm').open;"), "the dialog")
        page_click(browser, "#confirm-yes")
        wait_for(lambda: http("GET", f"{api}/freeze")[0] == 404, "the freeze lifted")
        wait_for(lambda: browser.execute_script("return document.getElementById('frozen').hidden;"), "no banner")
    finally:
        http("DELETE", f"{api}/freeze")  # never leave later tests' deployments frozen
