"""Each function's cold import: what `import app` costs before a function can answer its first event,
on Lambda and on the emulator (where every concurrent invocation is a new worker with its own import).

It is measured as Lambda's bootstrap does it: the runtime's interpreter (.venv/emulator, Python 3.13 with
boto3, as MiniStack runs the functions), the function's built code and the layer on the path, the deployed
function's environment (so Powertools sees what it sees there), and `python -X importtime`'s cumulative
time of the `app` module. Two figures a function, each the median of a few fresh processes:

- warm: the files already in the page cache (a machine that just ran the import);
- cold: every file the import reads (.py, .pyc, .so) evicted from the page cache first with
  posix_fadvise(POSIX_FADV_DONTNEED), file by file, so other processes' caches are left alone: a
  fresh Lambda sandbox or a freshly started emulator reads them from disk.

    python -m bench.cold_imports [--runs 5]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

REPO = Path(__file__).resolve().parents[1]
RUNTIME_PYTHON = REPO / ".venv" / "emulator" / "bin" / "python"
# What `make build` writes: the global stack's functions, and a region's (its regional sync).
GLOBAL_BUILD_DIR = REPO / ".aws-sam" / "global"
REGIONAL_BUILD_DIR = REPO / ".aws-sam" / "regional"
LAYER = "CodeDeployLayer"
# What the import must stay under, measured this way on this project's 2-core machine (issue 9).
TARGET_SECONDS = {"ApiFunction": 0.35}
DEFAULT_TARGET_SECONDS = 0.25
LOADED_FILES = (
    "import json, sys, app;"
    "print(json.dumps(sorted({m.__file__ for m in list(sys.modules.values()) if getattr(m, '__file__', None)})))"
)


@dataclass(frozen=True)
class ColdImport:
    function: str  # the template's logical id, e.g. ApiFunction
    warm_seconds: float  # importtime's cumulative time of `app`, page cache warm (median)
    cold_seconds: float  # the same, the import's files evicted from the page cache first (median)
    warm_cpu_seconds: float  # the process's CPU time, warm (median)
    cold_cpu_seconds: float  # the process's CPU time, cold (median)
    modules: int  # modules in sys.modules after the import

    @property
    def target_seconds(self) -> float:
        return TARGET_SECONDS.get(self.function, DEFAULT_TARGET_SECONDS)

    def summary(self) -> dict[str, object]:
        return {
            "function": self.function,
            "warmSeconds": round(self.warm_seconds, 3),
            "coldSeconds": round(self.cold_seconds, 3),
            "warmCpuSeconds": round(self.warm_cpu_seconds, 3),
            "coldCpuSeconds": round(self.cold_cpu_seconds, 3),
            "modules": self.modules,
            "targetSeconds": self.target_seconds,
            "result": "PASS" if self.cold_seconds <= self.target_seconds else "MISS",
        }


def built_functions(build_dir: Path) -> list[str]:
    """The Python functions `sam build` wrote: a folder with an app.py each, named by logical id."""
    return sorted(path.parent.name for path in build_dir.glob("*/app.py"))


def deployed_environment(function: str, stack_outputs: dict[str, str], region: str = "us-east-1") -> dict[str, str]:
    """The deployed function's environment variables and the ones Lambda sets itself (Powertools reads
    LAMBDA_TASK_ROOT to tell a Lambda sandbox from a laptop). Empty of the stack's own variables when
    the stack is not deployed: the figures then show the import without them."""
    import boto3  # the benchmark's process, not the measured one

    name = stack_outputs.get(f"{function}Name")
    variables: dict[str, str] = {}
    if name:
        try:
            configuration = boto3.client("lambda", region_name=region).get_function_configuration(FunctionName=name)
            variables = configuration.get("Environment", {}).get("Variables", {})
        except (BotoCoreError, ClientError):
            variables = {}
    return {"AWS_LAMBDA_FUNCTION_NAME": name or function, "AWS_REGION": region, **variables}


def _environment(code: Path, layer: Path, variables: dict[str, str]) -> dict[str, str]:
    keep = {key: os.environ[key] for key in ("PATH", "HOME", "LANG") if key in os.environ}
    # No .pyc written: Lambda's /var/task and /opt are read-only and MiniStack's workers write none, so
    # a cold start runs the bytecode the build shipped, or compiles every module from source.
    return {
        **keep,
        **variables,
        "LAMBDA_TASK_ROOT": str(code),
        "PYTHONPATH": f"{code}:{layer}",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def _import_seconds(environment: dict[str, str], code: Path) -> tuple[float, float]:
    """One fresh interpreter importing `app`: importtime's cumulative time of `app`, and the CPU time
    (user + system) of the whole process, which other processes on the machine do not inflate."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(
        [str(RUNTIME_PYTHON), "-X", "importtime", "-c", "import app"],
        cwd=code,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_seconds = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    for line in done.stderr.splitlines():
        fields = [field.strip() for field in line.removeprefix("import time:").split("|")]
        if len(fields) == 3 and fields[2] == "app":
            return int(fields[1]) / 1_000_000, cpu_seconds
    raise RuntimeError(f"no import time of app in:\n{done.stderr[-2000:]}")


def _loaded_files(environment: dict[str, str], code: Path) -> list[Path]:
    done = subprocess.run(
        [str(RUNTIME_PYTHON), "-c", LOADED_FILES], cwd=code, env=environment, capture_output=True, text=True, check=True
    )
    files = [Path(name) for name in json.loads(done.stdout.splitlines()[-1])]
    cached = [Path(importlib.util.cache_from_source(str(path))) for path in files if path.suffix == ".py"]
    return [path for path in files + cached if path.is_file()]


def evict(files: list[Path]) -> None:
    """Drops these files' pages from the page cache (clean pages only, which these are)."""
    for path in files:
        descriptor = os.open(path, os.O_RDONLY)
        try:
            os.posix_fadvise(descriptor, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(descriptor)


def measure(function: str, build_dir: Path, variables: dict[str, str], runs: int) -> ColdImport:
    code, layer = build_dir / function, build_dir / LAYER / "python"
    environment = _environment(code, layer, variables)
    files = _loaded_files(environment, code)  # also leaves the files in the page cache, and .pyc written
    warm = [_import_seconds(environment, code) for _ in range(runs)]
    cold = []
    for _ in range(runs):
        evict(files)
        cold.append(_import_seconds(environment, code))
    return ColdImport(
        function,
        warm_seconds=statistics.median(seconds for seconds, _ in warm),
        cold_seconds=statistics.median(seconds for seconds, _ in cold),
        warm_cpu_seconds=statistics.median(cpu for _, cpu in warm),
        cold_cpu_seconds=statistics.median(cpu for _, cpu in cold),
        modules=len(files),
    )


def measure_all(stack_outputs: dict[str, str], runs: int, overrides: dict[str, str] | None = None) -> list[ColdImport]:
    """Every built function: the global stack's with its deployed environment, a region's with the first
    regional stack's (in its region)."""
    from tools.stack import regional_outputs, regions  # the benchmark's process, not the measured one

    home = os.environ.get("AWS_REGION", "us-east-1")
    targets = [(GLOBAL_BUILD_DIR, stack_outputs, home)]
    if stack_outputs:
        region = regions(stack_outputs)[0]
        targets.append((REGIONAL_BUILD_DIR, regional_outputs(stack_outputs, region), region))
    else:
        targets.append((REGIONAL_BUILD_DIR, {}, home))
    return [
        measure(function, build_dir, {**deployed_environment(function, found, region), **(overrides or {})}, runs)
        for build_dir, found, region in targets
        for function in built_functions(build_dir)
    ]


def report_lines(results: list[dict[str, object]]) -> list[str]:
    lines = [
        "Cold import of each function (python -X importtime of `import app`, median; cold: its files evicted "
        "from the page cache first; CPU: the process's user + system time)"
    ]
    lines.append(f"  {'function':<28} {'warm s':>7} {'cold s':>7} {'CPU warm':>9} {'CPU cold':>9} {'target':>7}")
    lines += [
        f"  {r['function']:<28} {r['warmSeconds']:>7.3f} {r['coldSeconds']:>7.3f} {r['warmCpuSeconds']:>9.3f} "
        f"{r['coldCpuSeconds']:>9.3f} {r['targetSeconds']:>7.2f}  {r['result']}"
        for r in results
    ]
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.cold_imports",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="an environment variable over the deployed"
    )
    args = parser.parse_args()
    from tools.stack import outputs

    try:
        stack_outputs = outputs()
    except (BotoCoreError, ClientError):
        stack_outputs = {}
    overrides = dict(setting.split("=", 1) for setting in args.set)
    results = [found.summary() for found in measure_all(stack_outputs, args.runs, overrides)]
    print("\n".join(report_lines(results)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
