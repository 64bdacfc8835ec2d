"""The benchmark's plots, drawn from its results with matplotlib's Agg backend (PNG files, no display)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # after choosing the backend

DPI = 110


def _save(figure, path: Path) -> str:
    figure.tight_layout()
    figure.savefig(path, dpi=DPI)
    plt.close(figure)
    return path.name


def timeline(offsets: dict[str, list[float]], path: Path) -> str:
    """The median run's stages as bars on one time axis: they overlap (a region's sync starts as soon
    as its copy lands), so a stacked bar would mislead."""
    figure, axes = plt.subplots(figsize=(8, 0.45 * len(offsets) + 1.2))
    names = list(offsets)[::-1]
    for row, name in enumerate(names):
        start, end = offsets[name]
        axes.barh(row, max(end - start, 0.002), left=start, color="tab:orange" if "rollout" in name else "tab:blue")
        axes.text(end, row, f" {end - start:.2f} s", va="center", fontsize=8)
    axes.set_yticks(range(len(names)), names)
    axes.set_xlabel("seconds after POST /builds")
    axes.set_title("One build, POST to every host (the median run)")
    return _save(figure, path)


def end_to_end_vs_floor(results: dict[str, Any], path: Path) -> str:
    floor, stages = results["floor"], results["endToEnd"]["medianStages"]
    figure, axes = plt.subplots(figsize=(8, 2.6))
    left = 0.0
    for label, seconds in [
        ("PutObject", floor["putSeconds"]),
        ("CopyObject x regions", floor["copySeconds"]),
        ("BatchWriteItem", floor["batchWriteSeconds"]),
    ]:
        axes.barh("emulator floor", seconds, left=left, label=label)
        left += seconds
    axes.barh("end-to-end", stages["endToEnd"], color="tab:gray", label="end-to-end (median)")
    axes.axvline(2 * floor["totalSeconds"], color="tab:red", linestyle="--", label="target: 2x floor")
    axes.set_xlabel("seconds")
    axes.set_title(f"End-to-end vs the emulator's floor ({results['endToEnd']['overFloor']:.1f}x)")
    axes.legend(fontsize=8, loc="lower right")
    return _save(figure, path)


def throughput(results: dict[str, Any], path: Path) -> str:
    rates = results["throughput"]
    labels = ["naive PutItem loop", "regional sync", "raw BatchWriteItem"]
    values = [rates["naiveHostsPerSecond"], rates["syncHostsPerSecond"], rates["ceilingHostsPerSecond"]]
    figure, axes = plt.subplots(figsize=(7, 3.2))
    bars = axes.bar(labels, values, color=["tab:gray", "tab:orange", "tab:blue"])
    axes.bar_label(bars, labels=[f"{v:,.0f}" for v in values], fontsize=9)
    axes.set_ylabel("host records a second")
    axes.set_title(
        f"Host-record throughput: sync = {rates['syncOverCeiling']:.2f}x ceiling, {rates['syncOverNaive']:.1f}x naive"
    )
    return _save(figure, path)


def scaling(points: list[dict[str, Any]], sweep: str, fixed: int, path: Path) -> str | None:
    """Time against hosts per region (`fixed` regions) or against regions (`fixed` hosts a region)."""
    key, other = ("hosts_per_region", "regions") if sweep == "hosts" else ("regions", "hosts_per_region")
    chosen = sorted((p for p in points if p[other] == fixed), key=lambda p: p[key])
    if len(chosen) < 2:
        return None
    xs = [p[key] for p in chosen]
    ys = [p["medianSeconds"] for p in chosen]
    figure, axes = plt.subplots(figsize=(6, 4))
    axes.plot(xs, ys, "o-", label="POST -> every host (median)")
    # Linear growth through the largest point, for the eye to compare against.
    axes.plot(xs, [ys[-1] * x / xs[-1] for x in xs], ":", color="tab:gray", label="proportional to the largest")
    if sweep == "hosts":
        axes.set_xscale("log")
        axes.set_yscale("log")
        axes.set_xlabel(f"hosts per region ({fixed} regions)")
    else:
        axes.axhline(2 * ys[0], color="tab:red", linestyle="--", label=f"target: 2x {xs[0]} regions")
        axes.set_xlabel(f"regions ({fixed:,} hosts each)")
    for x, y in zip(xs, ys, strict=True):
        axes.annotate(f"{y:.1f} s", (x, y), textcoords="offset points", xytext=(4, -12), fontsize=8)
    axes.set_ylabel("seconds")
    axes.set_title(f"Rollout time vs {sweep}")
    axes.legend(fontsize=8)
    return _save(figure, path)


def draw_all(results: dict[str, Any], median_offsets: dict[str, list[float]], plots_dir: Path) -> list[str]:
    config = results["config"]
    drawn = [
        timeline(median_offsets, plots_dir / "timeline.png"),
        end_to_end_vs_floor(results, plots_dir / "floor.png"),
        throughput(results, plots_dir / "throughput.png"),
        scaling(results["scaling"], "hosts", config["hostsSweepRegions"], plots_dir / "scaling_hosts.png"),
        scaling(results["scaling"], "regions", config["regionsSweepHosts"], plots_dir / "scaling_regions.png"),
    ]
    return [name for name in drawn if name]
