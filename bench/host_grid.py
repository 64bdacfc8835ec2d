"""How long the dashboard's host grid (deployctl/static/grid.js) takes to draw a region of 3,000 and of
100,000 hosts in headless Chromium, and how large the API's answer it draws (GET /regions/{region}/grid) is.

The region is drawn as it looks half-way through a deployment: its first half on the new build, 2% of those
failed at random (each failure splits a run of hosts alike, so this is more runs than a deployment without
failures gives), its second half still on the build before, and 50 real hosts. The grid is drawn into a canvas
1,000 pixels wide, as the page does on a laptop's screen: one warm-up, then the median of the runs.

    python -m bench.host_grid [--hosts 3000,100000] [--runs 7] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import tempfile
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GRID_SCRIPT = REPO / "deployctl" / "static" / "grid.js"
DEFAULT_HOSTS = (3_000, 100_000)
CANVAS_WIDTH_PX = 1000
REAL_HOSTS = 50
FAILED_SHARE = 0.02
NEW, OLD = "build-20261206T080000Z-0000000b", "build-20261205T080000Z-0000000a"


@dataclass(frozen=True)
class GridDraw:
    hosts: int  # simulated + real
    runs: int  # the simulated hosts' runs in the answer
    answer_bytes: int  # the answer's JSON, as the API sends it
    cell_px: int  # each host's cell, a side
    median_ms: float  # grid.js's draw, median of the runs
    max_ms: float


def half_deployed_grid(simulated: int, seed: int = 1) -> dict:
    """A region's grid answer half-way through a deployment (see the module's docstring)."""
    chooser = random.Random(seed)
    runs: list[list] = []
    for host in range(simulated):
        on_new = host < simulated // 2
        failed = on_new and chooser.random() < FAILED_SHARE
        # [current, previous, change]: the new build over the old, a failure left on the old, or the old alone
        cell = [1, None, "failed"] if failed else ([0, 1, "fetched"] if on_new else [1, None, "fetched"])
        if runs and runs[-1][1:] == cell:
            runs[-1][0] += 1
        else:
            runs.append([1, *cell])
    real = [
        {"hostId": f"web-{n:04d}", "group": "web", "state": "deployed" if n % 2 else "idle", "build": n % 2}
        for n in range(REAL_HOSTS)
    ]
    return {
        "region": "us-west-2",
        "builds": [NEW, OLD],
        "lostAfterSeconds": 90,
        "simulated": {"hostsTotal": simulated, "runs": runs},
        "real": real,
    }


def browser(profile_dir: str):
    """Headless Chromium through Debian's chromium-driver (scripts/install-browser.sh), as the dashboard's
    browser test drives it."""
    os.environ["SE_OFFLINE"] = "true"  # the driver is given: Selenium Manager must not try to download one
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or ""
    for argument in ("--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={profile_dir}"):
        options.add_argument(argument)
    return webdriver.Chrome(service=Service(executable_path=shutil.which("chromedriver") or ""), options=options)


# Draws the grid `runs` times after one warm-up, in the page's own script; the draw times in ms and the cell.
DRAW_TIMES = """
const [grid, width, runs] = arguments;
const canvas = document.createElement("canvas");
document.body.append(canvas);
HostGrid.draw(canvas, grid, grid.builds[0], width);
const times = [];
let drawn = null;
for (let run = 0; run < runs; run += 1) {
  const start = performance.now();
  drawn = HostGrid.draw(canvas, grid, grid.builds[0], width);
  canvas.getContext("2d").getImageData(0, 0, 1, 1);  // waits for the canvas to hold the drawing
  times.push(performance.now() - start);
}
canvas.remove();
return [times, drawn.size, drawn.hosts];
"""


def measure(hosts: tuple[int, ...] = DEFAULT_HOSTS, runs: int = 7) -> list[GridDraw] | None:
    """Each size's draw; None where Chromium is not installed (scripts/install-browser.sh installs it)."""
    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        return None
    found = []
    with tempfile.TemporaryDirectory() as profile_dir:
        driver = browser(profile_dir)
        try:
            driver.get("about:blank")
            driver.execute_script(GRID_SCRIPT.read_text() + "\nwindow.HostGrid = HostGrid;")
            for total in hosts:
                grid = half_deployed_grid(total - REAL_HOSTS)
                times, cell_px, drawn = driver.execute_script(DRAW_TIMES, grid, CANVAS_WIDTH_PX, runs)
                assert drawn == total, f"drew {drawn} hosts of {total}"
                found.append(
                    GridDraw(
                        hosts=total,
                        runs=len(grid["simulated"]["runs"]),
                        answer_bytes=len(json.dumps(grid, separators=(",", ":"))),
                        cell_px=cell_px,
                        median_ms=round(statistics.median(times), 2),
                        max_ms=round(max(times), 2),
                    )
                )
        finally:
            driver.quit()
    return found


def summaries(found: list[GridDraw] | None) -> list[dict]:
    return [asdict(draw) for draw in found or []]


def report_lines(figures: list[dict]) -> list[str]:
    if not figures:
        return ["Host grid: not measured (headless Chromium not installed: scripts/install-browser.sh)"]
    lines = ["Host grid (deployctl dashboard): a region drawn in headless Chromium, 1,000 px wide"]
    for draw in figures:
        lines.append(
            f"  {draw['hosts']:>7,} hosts: {draw['median_ms']:7.2f} ms median draw (max {draw['max_ms']:.2f}), "
            f"{draw['cell_px']} px cells, answer {draw['answer_bytes'] / 1024:,.1f} KiB in {draw['runs']:,} runs"
        )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.host_grid", description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", default=",".join(map(str, DEFAULT_HOSTS)))
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--out", type=Path, help="write the figures there as JSON, with when and how many draws")
    args = parser.parse_args()
    figures = summaries(measure(tuple(int(n) for n in args.hosts.split(",")), args.runs))
    print("\n".join(report_lines(figures)))
    if args.out:
        at = datetime.now().astimezone().isoformat(timespec="seconds")
        args.out.write_text(json.dumps({"at": at, "draws": args.runs, "hostGrid": figures}, indent=2) + "\n")
    return 0 if figures else 1


if __name__ == "__main__":
    raise SystemExit(main())
