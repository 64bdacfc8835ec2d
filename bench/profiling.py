"""Samples the emulator and the regional sync's Lambda workers with py-spy while one build rolls out, to
see where a missed target's time goes (`python -m bench --profile`).

MiniStack runs each warm Lambda in a worker process whose command line names the function, and this
project's `make emulator` records the emulator's pid in .emulator/ministack.pid: both are read here.
"""

from __future__ import annotations

import collections
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAMPLES_A_SECOND = 100


def emulator_pid() -> int | None:
    pid_file = REPO / ".emulator" / "ministack.pid"
    return int(pid_file.read_text()) if pid_file.exists() else None


def worker_pids(function_name_part: str) -> list[int]:
    """This project's MiniStack workers of one function (another checkout's emulator may run the same
    stack: its workers' command lines name its own virtualenv, not this one)."""
    interpreter = str(REPO / ".venv" / "emulator")
    pids = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            command = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if command.startswith(interpreter) and f"ministack-lambda-{function_name_part}-" in command:
            pids.append(int(cmdline.parent.name))
    return sorted(pids)


def self_time_by_module(raw_profile: Path, count: int = 10) -> list[tuple[str, float]]:
    """Where the CPU went: the share of samples whose innermost frame is in each module, from py-spy's
    raw output (one `frame;frame;... samples` line per stack, frames as `function (path:line)`)."""
    modules: collections.Counter[str] = collections.Counter()
    for line in raw_profile.read_text().splitlines():
        stack, _, samples = line.rpartition(" ")
        innermost = stack.rsplit(";", 1)[-1]
        modules[innermost.rpartition("(")[2].split(".py")[0]] += int(samples)
    total = sum(modules.values())
    return [(module, round(n / total, 3)) for module, n in modules.most_common(count)] if total else []


def profile(function_name_part: str, seconds: float, out_dir: Path, action: Callable[[], object]) -> dict:
    """Runs `action` while py-spy samples the emulator and the function's workers for `seconds`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    targets = {f"sync-worker-{pid}": pid for pid in worker_pids(function_name_part)}
    if (pid := emulator_pid()) is not None:
        targets["emulator"] = pid
    spies = {
        name: subprocess.Popen(
            [
                str(Path(sys.executable).parent / "py-spy"),
                "record",
                "--pid",
                str(pid),
                "--duration",
                str(int(seconds)),
                "--rate",
                str(SAMPLES_A_SECOND),
                "--format",
                "raw",
                "--nonblocking",  # py-spy would otherwise pause the process at every sample
                "--output",
                str(out_dir / f"{name}.txt"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for name, pid in targets.items()
    }
    action()
    for spy in spies.values():
        spy.wait()
    found = {}
    for name in spies:
        path = out_dir / f"{name}.txt"
        if path.exists() and path.stat().st_size:
            found[name] = self_time_by_module(path)
    return found
