"""deploy.yaml's rules, and how a hook runs: in its release, with the documented environment only, its
output's tail kept, its whole process group killed at its timeout."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import pytest

from code_deploy_agent.hooks import HookContext, HookFailed, Hooks, HooksFileError, HookStep, parse_hooks, run_event


@pytest.mark.parametrize(
    ("hooks_file", "message"),
    [
        ("version: 2\n", "version: 1"),
        ("version: 1\nhooks:\n  application_start: hooks/start.sh\n", "a list of"),
        ("version: 1\nhooks:\n  application_start: [{run: /bin/start.sh}]\n", "not a path inside the release"),
        ("version: 1\nhooks:\n  application_start: [{run: start.sh, timeout: 0}]\n", "timeout must be"),
        ("version: 1\nhooks:\n  application_start: [{run: start.sh, user: root}]\n", "each entry is"),
    ],
)
def test_the_hooks_file_rules(hooks_file, message):
    with pytest.raises(HooksFileError, match=message):
        parse_hooks(hooks_file, lambda _: True)


def test_hooks_default_to_60_seconds_and_run_in_order():
    hooks = parse_hooks(
        "version: 1\nhooks:\n  validate_service: [{run: a.sh}, {run: b.sh, timeout: 5}]\n", lambda _: True
    )

    assert hooks.for_event("validate_service") == (HookStep("a.sh", 60.0), HookStep("b.sh", 5.0))
    assert hooks.for_event("application_stop") == ()


def write_script(directory: Path, name: str, body: str, mode: int = 0o755) -> None:
    path = directory / name
    path.write_text(body)
    path.chmod(mode)


CONTEXT = HookContext(deployment_id="d1", host_id="h1", group="web", region="us-east-1", app_port=8123)


def run(event: str, directory: Path, *steps: HookStep) -> None:
    run_event(
        event,
        Hooks({event: steps}),
        build_id="b1",
        release_dir=directory,
        context=CONTEXT,
        log=logging.getLogger("test"),
        scratch=directory,
    )


def test_a_hook_sees_only_the_documented_environment_in_its_release(tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not for hooks")
    write_script(tmp_path, "env.sh", "#!/bin/sh\nenv | sort > env.out\npwd > pwd.out\n")

    run("after_install", tmp_path, HookStep("env.sh", 5))

    seen = dict(line.split("=", 1) for line in (tmp_path / "env.out").read_text().splitlines() if "=" in line)
    assert {name: seen[name] for name in ("LIFECYCLE_EVENT", "DEPLOYMENT_ID", "BUILD_ID", "APP_PORT")} == {
        "LIFECYCLE_EVENT": "after_install",
        "DEPLOYMENT_ID": "d1",
        "BUILD_ID": "b1",
        "APP_PORT": "8123",
    }
    assert (seen["HOST_ID"], seen["GROUP"], seen["REGION"]) == ("h1", "web", "us-east-1")
    assert seen["RELEASE_DIR"] == str(tmp_path)
    assert "AWS_SECRET_ACCESS_KEY" not in seen
    assert (tmp_path / "pwd.out").read_text().strip() == os.path.realpath(tmp_path)


def test_a_failing_hook_reports_the_last_2048_characters_of_its_output(tmp_path):
    write_script(tmp_path, "loud.sh", "#!/bin/sh\nseq 1 5000\necho 'the end'\nexit 7\n")

    with pytest.raises(HookFailed) as failure:
        run("validate_service", tmp_path, HookStep("loud.sh", 5))

    assert failure.value.exit_code == 7
    assert len(failure.value.output_tail) == 2048
    assert failure.value.output_tail.endswith("5000\nthe end\n")


def test_a_timeout_kills_the_hooks_whole_process_group(tmp_path):
    write_script(tmp_path, "hang.sh", "#!/bin/sh\nsleep 60 &\necho $! > child.pid\necho waiting\nwait\n")
    started = time.monotonic()

    with pytest.raises(HookFailed) as failure:
        run("application_start", tmp_path, HookStep("hang.sh", 1))

    assert time.monotonic() - started < 5
    assert (failure.value.exit_code, failure.value.output_tail) == ("timeout", "waiting\n")
    child = int((tmp_path / "child.pid").read_text())
    deadline = time.monotonic() + 5  # SIGKILL reaches the group at once, the scheduler runs it soon after
    while child_running(child):
        assert time.monotonic() < deadline, f"the hook's child {child} outlived its timeout"
        time.sleep(0.02)


def child_running(pid: int) -> bool:
    """A process nobody reaps stays a zombie (state Z): it is gone for this purpose."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_script_that_is_not_executable_fails_like_a_shell_would(tmp_path):
    write_script(tmp_path, "plain.sh", "#!/bin/sh\nexit 0\n", mode=0o644)

    with pytest.raises(HookFailed) as failure:
        run("before_install", tmp_path, HookStep("plain.sh", 5))

    assert failure.value.exit_code == 126
