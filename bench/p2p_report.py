"""The P2P model's figures: the design problem's scale, how the exact simulation and the closed form
agree, and how rollout time grows with hosts and with artifact size, for the swarm and for every host
pulling straight from the bucket. Plain Python over code_deploy.swarm: no AWS, no emulator.

    python -m bench.p2p_report [--out bench/plots]      prints the figures, writes two PNGs

`make bench` calls report() and keeps its figures under "p2p" in bench/results.json.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from code_deploy.swarm import (
    DEFAULT_BUCKET_EGRESS,
    DEFAULT_HOST_BANDWIDTH,
    MIB,
    SwarmParameters,
    direct_from_bucket_seconds,
    physical_limit_seconds,
    pipelined_broadcast_seconds,
    simulate_swarm,
)

GB = 10**9
# The design problem: 100,000 hosts a region, 10 regions, a 10 GB binary, 1 Gbit/s a host, a
# 30-minute build-and-deploy budget of which the build takes 15. The rest are our assumptions (docs/p2p-model.md).
DESIGN = SwarmParameters(
    hosts=100_000,
    artifact_bytes=10 * GB,
    seeds=3,
    fanout=4,
    piece_bytes=4 * MIB,  # Kraken's default
    host_bandwidth=DEFAULT_HOST_BANDWIDTH,  # 1 Gbit/s
    bucket_egress=DEFAULT_BUCKET_EGRESS,  # 100 Gbit/s out of the regional bucket to the region's hosts
)
DESIGN_REGIONS = 10
BUDGET_SECONDS = 30 * 60
BUILD_SECONDS = 15 * 60
# Cross-region replication of the artifact: a server-side multipart copy (UploadPartCopy), the regions
# in parallel (CopyToMultipleBuckets, Map of up to 10). Assumed sustained rate per destination:
REPLICATION_BYTES_PER_SECOND = 250_000_000.0

# Where the exact simulation and the closed form are compared: (hosts, artifact MiB, fanout), 4 MiB pieces.
AGREEMENT_CASES = [(64, 64, 8), (256, 128, 8), (1000, 200, 8), (1000, 200, 4), (2000, 100, 4)]
# Many pieces, as at the design scale: the log term fades and the swarm nears the physical limit.
# About 15 s of CPU, so `quick` reports (the CI smoke) leave it out.
LONG_AGREEMENT_CASE = (1000, 2000, 4)
HOSTS_AXIS = [10, 30, 100, 300, 1_000, 3_000, 10_000, 30_000, 100_000, 300_000, 1_000_000]
SIZE_AXIS_GB = [0.1, 0.3, 1, 3, 10, 30, 100]
SIMULATED_HOSTS_AXIS = [4, 16, 64, 256, 1000, 2000]  # a 256 MiB artifact: 64 pieces, simulated piece by piece


def design_scale() -> dict[str, float]:
    rollout = pipelined_broadcast_seconds(DESIGN)
    physical = physical_limit_seconds(DESIGN)
    direct = direct_from_bucket_seconds(DESIGN)
    replication = DESIGN.artifact_bytes / REPLICATION_BYTES_PER_SECOND
    return {
        "hostsPerRegion": DESIGN.hosts,
        "regions": DESIGN_REGIONS,
        "artifactBytes": DESIGN.artifact_bytes,
        "pieces": DESIGN.pieces,
        "pieceSeconds": DESIGN.piece_seconds,
        "physicalLimitSeconds": physical,
        "swarmSeconds": rollout,
        "swarmVsPhysical": rollout / physical,
        "directFromBucketSeconds": direct,
        "directVsPhysical": direct / physical,
        "replicationSeconds": replication,
        "buildSeconds": BUILD_SECONDS,
        "buildReplicateRolloutSeconds": BUILD_SECONDS + replication + rollout,
        "budgetSeconds": BUDGET_SECONDS,
    }


def agreement(quick: bool = False) -> list[dict[str, float]]:
    rows = []
    for hosts, artifact_mib, fanout in AGREEMENT_CASES + ([] if quick else [LONG_AGREEMENT_CASE]):
        params = SwarmParameters(hosts=hosts, artifact_bytes=artifact_mib * MIB, fanout=fanout)
        started = time.perf_counter()
        simulated = simulate_swarm(params).seconds
        rows.append(
            {
                "hosts": hosts,
                "pieces": params.pieces,
                "fanout": fanout,
                "simulatedSeconds": simulated,
                "closedFormSeconds": pipelined_broadcast_seconds(params),
                "simulatedVsClosedForm": simulated / pipelined_broadcast_seconds(params),
                "simulatedVsPhysical": simulated / physical_limit_seconds(params),
                "cpuSeconds": time.perf_counter() - started,
            }
        )
    return rows


def curves() -> dict[str, list[dict[str, float]]]:
    by_hosts = [
        {
            "hosts": hosts,
            "swarmSeconds": pipelined_broadcast_seconds(replace(DESIGN, hosts=hosts)),
            "directSeconds": direct_from_bucket_seconds(replace(DESIGN, hosts=hosts)),
        }
        for hosts in HOSTS_AXIS
    ]
    small = SwarmParameters(hosts=1, artifact_bytes=256 * MIB)
    simulated = [
        {
            "hosts": hosts,
            "simulatedSeconds": simulate_swarm(replace(small, hosts=hosts)).seconds,
            "swarmSeconds": pipelined_broadcast_seconds(replace(small, hosts=hosts)),
            "directSeconds": direct_from_bucket_seconds(replace(small, hosts=hosts)),
        }
        for hosts in SIMULATED_HOSTS_AXIS
    ]
    by_size = [
        {
            "artifactBytes": int(size * GB),
            "swarmSeconds": pipelined_broadcast_seconds(replace(DESIGN, artifact_bytes=int(size * GB))),
            "directSeconds": direct_from_bucket_seconds(replace(DESIGN, artifact_bytes=int(size * GB))),
            "physicalLimitSeconds": physical_limit_seconds(replace(DESIGN, artifact_bytes=int(size * GB))),
        }
        for size in SIZE_AXIS_GB
    ]
    return {"byHosts": by_hosts, "simulatedByHosts": simulated, "bySize": by_size}


def plot(figures: dict[str, Any], out_dir: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    from matplotlib import pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    by_hosts, simulated, by_size = (figures["curves"][name] for name in ("byHosts", "simulatedByHosts", "bySize"))
    physical = figures["designScale"]["physicalLimitSeconds"]

    fig, (design, small) = plt.subplots(1, 2, figsize=(12, 4.5))
    hosts = [row["hosts"] for row in by_hosts]
    design.loglog(hosts, [row["swarmSeconds"] for row in by_hosts], "o-", label="P2P swarm (closed form)")
    design.loglog(hosts, [row["directSeconds"] for row in by_hosts], "s-", label="every host from the bucket")
    design.axhline(physical, color="grey", linestyle=":", label="physical limit (size / host bandwidth)")
    design.set(title="10 GB binary, 1 Gbit/s hosts, 100 Gbit/s bucket", xlabel="hosts in the region", ylabel="s")
    design.legend()
    hosts = [row["hosts"] for row in simulated]
    small.loglog(hosts, [row["simulatedSeconds"] for row in simulated], "o", color="C0", label="P2P swarm, simulated")
    small.loglog(hosts, [row["swarmSeconds"] for row in simulated], "-", color="C0", label="P2P swarm, closed form")
    small.loglog(
        hosts, [row["directSeconds"] for row in simulated], "s-", color="C1", label="every host from the bucket"
    )
    small.axhline(256 * MIB / DESIGN.host_bandwidth, color="grey", linestyle=":", label="physical limit")
    small.set(title="256 MiB binary (64 pieces): simulation vs closed form", xlabel="hosts in the region")
    small.legend()
    fig.tight_layout()
    by_hosts_png = out_dir / "p2p_time_vs_hosts.png"
    fig.savefig(by_hosts_png, dpi=110)
    plt.close(fig)

    fig, axes = plt.subplots(figsize=(6.5, 4.5))
    sizes = [row["artifactBytes"] / GB for row in by_size]
    axes.loglog(sizes, [row["swarmSeconds"] for row in by_size], "o-", label="P2P swarm (closed form)")
    axes.loglog(sizes, [row["directSeconds"] for row in by_size], "s-", label="every host from the bucket")
    axes.loglog(sizes, [row["physicalLimitSeconds"] for row in by_size], ":", color="grey", label="physical limit")
    axes.set(title="100,000 hosts, 1 Gbit/s each", xlabel="artifact size (GB)", ylabel="s")
    axes.legend()
    fig.tight_layout()
    by_size_png = out_dir / "p2p_time_vs_artifact_size.png"
    fig.savefig(by_size_png, dpi=110)
    plt.close(fig)
    return [by_hosts_png, by_size_png]


def report(out_dir: Path, quick: bool = False) -> dict[str, Any]:
    """The model's figures; writes the two plots into out_dir."""
    figures = {"designScale": design_scale(), "agreement": agreement(quick), "curves": curves()}
    figures["plots"] = [str(path) for path in plot(figures, out_dir)]
    return figures


def lines(figures: dict[str, Any]) -> list[str]:
    design = figures["designScale"]
    out = [
        f"design scale: {design['hostsPerRegion']:,} hosts/region x {design['regions']} regions, "
        f"{design['artifactBytes'] / GB:.0f} GB in {design['pieces']:,} pieces "
        f"of {design['pieceSeconds'] * 1000:.1f} ms each",
        f"  physical limit (size / host bandwidth) : {design['physicalLimitSeconds']:10.1f} s",
        f"  P2P swarm (closed form)                : {design['swarmSeconds']:10.1f} s  "
        f"= {design['swarmVsPhysical']:.3f}x the physical limit",
        f"  every host from the bucket             : {design['directFromBucketSeconds']:10.1f} s  "
        f"= {design['directVsPhysical']:,.0f}x ({design['directFromBucketSeconds'] / 3600:.1f} h)",
        f"  build + replication + rollout          : {design['buildReplicateRolloutSeconds'] / 60:10.1f} min "
        f"of the {design['budgetSeconds'] / 60:.0f}-minute budget",
        "simulated vs closed form (4 MiB pieces):",
    ]
    for row in figures["agreement"]:
        out.append(
            f"  {row['hosts']:>5} hosts x {row['pieces']:>3} pieces, fanout {row['fanout']}: "
            f"{row['simulatedVsClosedForm']:.3f}x the closed form, {row['simulatedVsPhysical']:.2f}x physical "
            f"({row['cpuSeconds']:.2f} s to simulate)"
        )
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("bench/plots"))
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--quick", action="store_true", help="leave out the 15-second simulation")
    args = parser.parse_args()
    figures = report(args.out, args.quick)
    print(json.dumps(figures, indent=2) if args.json else "\n".join(lines(figures)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
