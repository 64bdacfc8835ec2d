"""A small `make bench`: it runs through on the deployed stack and a scratch stack, writes its results
and plots, and leaves the deployed stack as it was. The figures are not checked: on two shared cores
they say little at these sizes."""

import json
import subprocess
import sys

import boto3
from botocore.exceptions import ClientError

from bench.scratch import SCRATCH_STACK
from tests.utils import REPO
from tools.stack import outputs


def test_bench_smoke_writes_results_and_plots(stack_outputs, tmp_path):
    # When the benchmark runs at its smallest sizes
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--out", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,  # a safety net on a busy machine, not a measure: the figures are make bench's
        check=False,
    )
    print(done.stdout[-4000:], done.stderr[-4000:])
    assert done.returncode == 0

    # Then it wrote its results, with a verdict for every target, and its plots
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["config"]["smoke"] is True
    assert {target["result"] for target in results["targets"]} <= {"PASS", "MISS"}
    assert len(results["targets"]) == 7
    # the deployments' figures: three waves to every region, and a rollback faster than what it undid
    deployments = results["deployments"]
    assert deployments["waves_seconds"] > 0 and deployments["rollback_model_seconds"] == 2.0
    # a real fleet: every agent on the pushed build, then back on it from its cache, downloading nothing
    (fleet,) = results["fleets"]
    assert fleet["agents"] == 2 and fleet["artifact_bytes"] > 8 * 1024 * 1024
    assert fleet["rollout_seconds"] > fleet["physical_limit_seconds"] > 0
    assert fleet["rollback_seconds"] > 0 and fleet["rollback_downloaded_bytes"] == 0
    plots = ("timeline", "floor", "throughput", "scaling_hosts", "scaling_regions")
    for plot in (*plots, "p2p_time_vs_hosts", "p2p_time_vs_artifact_size"):
        assert (tmp_path / "plots" / f"{plot}.png").read_bytes().startswith(b"\x89PNG")
    assert results["p2p"]["designScale"]["swarmVsPhysical"] > 1
    # and every function's cold import, warm and cold
    functions = {
        "ApiFunction",
        "BuildWorkerFunction",
        "ReplicationStarterFunction",
        "DeploymentStepFunction",
        "RegionalSyncFunction",
    }
    assert functions <= {found["function"] for found in results["coldImports"]}
    assert all(found["coldSeconds"] > 0 and found["warmSeconds"] > 0 for found in results["coldImports"])

    # And the deployed stack is as it was; the scratch stack is gone
    outputs.cache_clear()
    assert outputs() == stack_outputs
    assert scratch_stack_status() in (None, "DELETE_COMPLETE")


def scratch_stack_status() -> str | None:
    try:
        return boto3.client("cloudformation").describe_stacks(StackName=SCRATCH_STACK)["Stacks"][0]["StackStatus"]
    except ClientError:
        return None
