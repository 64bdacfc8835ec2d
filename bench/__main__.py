"""Benchmarks the pipeline on the emulator: end-to-end latency by stage against the emulator's own floor,
the regional sync's host-record throughput against raw BatchWriteItem and a naive PutItem loop, and how
the rollout's time grows with hosts and regions. Prints a table with a PASS/MISS per target, writes
<out>/results.json and PNG plots under <out>/plots/.

    python -m bench [--runs 5] [--hosts 1000,10000,100000] [--regions 2,5,10] [--out bench]
                    [--fleets 5,20,50] [--fleet-artifact-mib 256] [--fleet-mib-per-second 16]
    python -m bench --smoke --out /tmp/bench     # small sizes, for CI

The latency and throughput runs use the deployed stack (STACK_NAME) as it is. The scaling runs deploy a
scratch stack (`sam deploy` of the same build with the deployed stack's parameters but other HostsPerRegion
and Regions), update it from one size to the next and delete it at the end, so the deployed stack is left
as `make deploy` made it. The real fleets (bench/fleets.py) are agents started in the deployed stack's
first region, a group of their own, stopped at the end. The dashboard's host grid is drawn in headless
Chromium at 3,000 and 100,000 hosts (bench/host_grid.py).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from bench import cold_imports, host_grid, p2p_report
from bench import deployments as bench_deployments
from bench import fleets as bench_fleets
from bench import plots as bench_plots
from bench import profiling as bench_profile
from bench.measure import SMOKE, ScalingPoint, Sizes, measure_deployed_stack, measure_scaling, sync_config
from bench.report import report_lines
from bench.scratch import SCRATCH_STACK
from bench.targets import median_stages, targets, throughput
from bench.timing import run_build
from tools.stack import api_base_url, emulator_endpoint, outputs, regional_outputs, regions, stack_name

REPO = Path(__file__).resolve().parents[1]
PROFILED_BUILDS = 5


def parse_sizes(args: argparse.Namespace) -> Sizes:
    if args.smoke:
        return SMOKE
    return Sizes(
        runs=args.runs,
        scaling_runs=args.scaling_runs,
        hosts=[int(h) for h in args.hosts.split(",")],
        regions=[int(r) for r in args.regions.split(",")],
        regions_sweep_hosts=args.regions_sweep_hosts,
    )


def parse_fleets(args: argparse.Namespace) -> bench_fleets.FleetSettings | None:
    if args.smoke:
        return bench_fleets.SMOKE
    if args.no_fleets:
        return None
    return bench_fleets.FleetSettings(
        sizes=tuple(int(agents) for agents in args.fleets.split(",")),
        artifact_bytes=int(args.fleet_artifact_mib * bench_fleets.MIB),
        bytes_per_second=args.fleet_mib_per_second * bench_fleets.MIB,
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--scaling-runs", type=int, default=2)
    parser.add_argument("--hosts", default="1000,10000,100000", help="hosts per region of the hosts sweep (3 regions)")
    parser.add_argument("--regions", default="2,5,10", help="region counts of the regions sweep")
    parser.add_argument("--regions-sweep-hosts", type=int, default=1000)
    parser.add_argument("--no-scaling", action="store_true", help="skip the scaling sweeps (no scratch stack)")
    parser.add_argument("--fleets", default="5,20,50", help="agents in each real fleet, one fleet after another")
    parser.add_argument("--fleet-artifact-mib", type=float, default=256, help="the real fleets' artifact's padding")
    parser.add_argument("--fleet-mib-per-second", type=float, default=16, help="each agent's download cap")
    parser.add_argument("--no-fleets", action="store_true", help="skip the real fleets")
    parser.add_argument("--smoke", action="store_true", help="small sizes, to check that it all runs (CI)")
    parser.add_argument(
        "--profile", action="store_true", help="py-spy samples of the emulator and the sync during more builds"
    )
    parser.add_argument("--scratch-stack", default=SCRATCH_STACK)
    parser.add_argument("--out", type=Path, default=REPO / "bench")
    args = parser.parse_args()
    if not emulator_endpoint():
        print("The benchmark runs on the emulator: set AWS_ENDPOINT_URL (make bench does).", file=sys.stderr)
        return 2
    sizes = parse_sizes(args)
    plots_dir = args.out / "plots"
    plots_dir.mkdir(parents=True, exist_ok=True)

    stack_outputs = outputs()
    # First, before the runs below load the machine: each function's import as a cold start runs it.
    print("Cold imports of the functions (sam build's output in the runtime's interpreter)", flush=True)
    found = cold_imports.measure_all(stack_outputs, runs=1 if args.smoke else 5)
    imports = [function.summary() for function in found]
    config = sync_config(stack_outputs)
    print(f"Stack {stack_name()}: end-to-end, floor and throughput ({sizes.runs} runs after a warm-up)", flush=True)
    measured = measure_deployed_stack(stack_outputs, sizes.runs, config)
    profiled = {}
    if args.profile:
        # Several builds, for enough samples of a rollout that lasts a fraction of a second.
        builds = PROFILED_BUILDS
        seconds = 3 + 2 * builds * statistics.median(run.end_to_end for run in measured.runs)
        print(f"Profiling {builds} more builds ({seconds:.0f} s of py-spy samples)", flush=True)
        profiled = bench_profile.profile(
            regional_outputs(stack_outputs, regions(stack_outputs)[0])["RegionalSyncFunctionName"],
            seconds,
            args.out / "profile",
            lambda: [run_build(stack_outputs, 120) for _ in range(builds)],
        )
    # The last two builds of the runs above: the newer on every host, the older its previous build.
    *_, older, newer = [measured.warmup.build_id, *(run.build_id for run in measured.runs)]
    print(f"Deployments: {older} in three waves, then {newer} failing and rolled back", flush=True)
    deployment_figures = bench_deployments.measure(api_base_url(stack_outputs), older, newer).summary()
    fleet_settings = parse_fleets(args)
    fleet_figures = []
    if fleet_settings:
        print(f"Real fleets of {', '.join(map(str, fleet_settings.sizes))} agents", flush=True)
        fleet_figures = [found.summary() for found in bench_fleets.measure(stack_outputs, fleet_settings)]
    points: list[ScalingPoint] = []
    if not args.no_scaling:
        print(f"Scaling, on the scratch stack {args.scratch_stack}", flush=True)
        points = measure_scaling(sizes, args.scratch_stack, config)

    floor_medians = {
        "putSeconds": statistics.median(f.put_seconds for f in measured.floors),
        "copySeconds": statistics.median(f.copy_seconds for f in measured.floors),
        "batchWriteSeconds": statistics.median(f.batch_write_seconds for f in measured.floors),
        "totalSeconds": statistics.median(f.total_seconds for f in measured.floors),
    }
    stages = median_stages(measured.runs)
    stack_regions = regions(stack_outputs)
    results: dict[str, Any] = {
        "config": {
            "stack": stack_name(),
            "regions": stack_regions,
            "hostsPerRegion": int(stack_outputs["SimulatedHostsPerRegion"]),
            "artifactBytes": measured.warmup.artifact_bytes,
            "runs": sizes.runs,
            "scalingRuns": sizes.scaling_runs,
            "syncWriters": config.write_workers,
            "hostsSweepRegions": sizes.hosts_sweep_regions,
            "regionsSweepHosts": sizes.regions_sweep_hosts,
            "smoke": args.smoke,
            "at": datetime.now().astimezone().isoformat(timespec="seconds"),
        },
        "endToEnd": {
            "warmupSeconds": measured.warmup.end_to_end,
            "medianStages": stages,
            "medianRolloutByRegion": {
                region: statistics.median(run.rollout_seconds()[region] for run in measured.runs)
                for region in stack_regions
            },
            "overFloor": stages["endToEnd"] / floor_medians["totalSeconds"],
            "warmup": measured.warmup.summary(),
            "runs": [run.summary() for run in measured.runs],
        },
        "floor": {**floor_medians, "runs": [asdict(f) for f in measured.floors]},
        "throughput": {**throughput(measured), "naiveRunsSeconds": measured.naive_seconds},
        "scaling": [point.summary() for point in points],
        "deployments": deployment_figures,
        "fleets": fleet_figures,
    }
    if profiled:
        results["profile"] = profiled
    results["coldImports"] = imports
    results["targets"] = [target.summary() for target in targets(results, points, sizes)]
    median_run = sorted(measured.runs, key=lambda run: run.end_to_end)[len(measured.runs) // 2]
    results["plots"] = bench_plots.draw_all(results, median_run.offsets(), plots_dir)
    # The P2P model's figures and plots (no emulator); a smoke run leaves out its 15-second simulation.
    results["p2p"] = p2p_report.report(plots_dir, quick=args.smoke)
    # The dashboard's host grid, drawn in headless Chromium (no emulator).
    results["hostGrid"] = host_grid.summaries(host_grid.measure())
    (args.out / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    print("\n".join(report_lines(results)))
    print("\n".join(bench_deployments.report_lines(deployment_figures)))
    print("\n".join(bench_fleets.report_lines(fleet_figures)))
    print("\n".join(cold_imports.report_lines(imports)))
    print("\n".join(host_grid.report_lines(results["hostGrid"])))
    print("\n".join(p2p_report.lines(results["p2p"])))
    for name, frames in profiled.items():
        print(f"Profile of {name}: share of CPU samples by module of the innermost frame")
        print("\n".join(f"  {share:6.1%}  {frame}" for frame, share in frames[:8]))
    print(f"Wrote {args.out / 'results.json'} and {len(results['plots'])} plots in {plots_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
