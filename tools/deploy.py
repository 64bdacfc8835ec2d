"""Deploys the global stack, then one regional stack per region, with plain `sam deploy`: the same
commands on the emulator (AWS_ENDPOINT_URL set) and on AWS.

    python -m tools.deploy [--stack-name NAME] [--home-region us-east-1] [Key=Value ...]

The regions are the global stack's `Regions` parameter (template.yaml's default, or `Regions=a,b`
here): the one place they are set. Each region gets stack `<NAME>-<region>` (regional.yaml) in that
region, told the global stack's name and builds table. A `Key=Value` goes to every template that
declares the parameter, so `HostsPerRegion=5000` reaches the global stack and every region. Run
`sam build` for both templates first (make build).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
import yaml

from code_deploy.regions import REGION_NAME_PATTERN

REPO = Path(__file__).resolve().parent.parent
GLOBAL_BUILD = REPO / ".aws-sam" / "global" / "template.yaml"
REGIONAL_BUILD = REPO / ".aws-sam" / "regional" / "template.yaml"
# SAM CLI of the virtualenv this runs in (make runs it with .venv/tools), else the project's tools
# virtualenv's (the benchmark runs in .venv/test), else the one on PATH.
SAM = shutil.which(
    "sam",
    path=os.pathsep.join(
        [str(Path(sys.executable).parent), str(REPO / ".venv" / "tools" / "bin"), os.environ.get("PATH", "")]
    ),
)


class _IntrinsicsAsText(yaml.SafeLoader):
    """Reads a template's short-form intrinsics (!Ref, !Sub ...) without interpreting them."""


_IntrinsicsAsText.add_multi_constructor("!", lambda loader, suffix, node: None)


def declared_parameters(template: Path) -> dict[str, dict]:
    return yaml.load(template.read_text(), Loader=_IntrinsicsAsText).get("Parameters", {})


def parse_overrides(pairs: list[str]) -> dict[str, str]:
    overrides = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"parameter override {pair!r} is not Key=Value")
        overrides[key] = value
    return overrides


def for_template(overrides: dict[str, str], template: Path) -> dict[str, str]:
    declared = declared_parameters(template)
    return {key: value for key, value in overrides.items() if key in declared}


def regional_stack_name(app_name: str, region: str) -> str:
    return f"{app_name}-{region}"


def sam_deploy(template: Path, stack_name: str, region: str, parameters: dict[str, str]) -> str:
    if SAM is None:
        raise RuntimeError("SAM CLI not found: run this with .venv/tools/bin/python (make deploy) or put sam on PATH")
    command = [
        SAM, "deploy", "--template-file", str(template), "--stack-name", stack_name, "--region", region,
        # samconfig.toml's deploy defaults (capabilities, resolve_s3 ...): SAM CLI would look beside the template.
        "--config-file", str(REPO / "samconfig.toml"), "--no-progressbar",
    ]  # fmt: skip
    if parameters:
        command += ["--parameter-overrides", *(f"{key}={value}" for key, value in parameters.items())]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"sam deploy of {stack_name} in {region} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def stack_outputs(stack_name: str, region: str) -> dict[str, str]:
    stack = boto3.client("cloudformation", region_name=region).describe_stacks(StackName=stack_name)["Stacks"][0]
    return {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}


def deploy(app_name: str, home_region: str, overrides: dict[str, str]) -> list[str]:
    """Deploys everything; returns the regions."""
    print(f"==> global stack {app_name} in {home_region}", flush=True)
    print(sam_deploy(GLOBAL_BUILD, app_name, home_region, for_template(overrides, GLOBAL_BUILD))[-400:], flush=True)
    outputs = stack_outputs(app_name, home_region)
    regions = [region for region in outputs["RegionNames"].split(",") if region]
    bad = [region for region in regions if not re.fullmatch(REGION_NAME_PATTERN, region)]
    if bad:
        raise SystemExit(f"not AWS region names: {', '.join(bad)} (Regions=us-west-2,eu-west-1,...)")
    regional = {
        **for_template(overrides, REGIONAL_BUILD),
        "AppName": app_name,
        # Where the rollout workflow runs: a region's host reports wake its waits there.
        "HomeRegion": home_region,
    }
    print(f"==> regional stacks in {', '.join(regions)}", flush=True)
    with ThreadPoolExecutor(max_workers=len(regions)) as pool:
        futures = {
            region: pool.submit(sam_deploy, REGIONAL_BUILD, regional_stack_name(app_name, region), region, regional)
            for region in regions
        }
        for region, future in futures.items():
            future.result()
            print(f"    {regional_stack_name(app_name, region)} in {region}: deployed", flush=True)
    return regions


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack-name", default="sam-code-deploy")
    parser.add_argument("--home-region", default="us-east-1")
    parser.add_argument("overrides", nargs="*", metavar="Key=Value")
    args = parser.parse_args(argv)
    try:
        deploy(args.stack_name, args.home_region, parse_overrides(args.overrides))
    except RuntimeError as error:
        print(error, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
