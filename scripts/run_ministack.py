"""MiniStack as scripts/emulator.sh starts it: the emulator, with the one gap of it that this project's code
cannot work around closed first (docs/emulator-gaps.md).

MiniStack (1.5.33) takes a JSONata Task state's `TimeoutSeconds` as written, a "{% ... %}" string, and fails
the execution (States.Runtime: '>' not supported between 'str' and 'int') where AWS evaluates it. The rollout
workflow needs it: a region's bake is one wait that ends at the bake's end (statemachine/roll_out_deployment
.asl.json, state Waiting), and no other state can end a wait that something else may wake sooner. Here the
expression is evaluated as AWS does, with MiniStack's own JSONata evaluator, before MiniStack runs the Task.
Delete this file, and start .venv/emulator/bin/ministack again, once MiniStack evaluates it itself.

    .venv/emulator/bin/python scripts/run_ministack.py      # what `make emulator` runs
"""

from __future__ import annotations

import sys

from ministack.app import main
from ministack.services import stepfunctions


def evaluate_jsonata_timeouts() -> None:
    """A Task state's `TimeoutSeconds` written as JSONata is evaluated (a number) before the Task runs."""
    run_task = stepfunctions._execute_task  # an AttributeError here: MiniStack changed, see the docstring

    def run_task_with_its_timeout(state_def, raw_input, execution, ctx):
        timeout = state_def.get("TimeoutSeconds")
        if isinstance(timeout, str) and timeout.strip().startswith("{%"):
            seconds = stepfunctions._jsonata_state_field(state_def, "TimeoutSeconds", "number", raw_input, ctx)
            state_def = {**state_def, "TimeoutSeconds": seconds}
        return run_task(state_def, raw_input, execution, ctx)

    stepfunctions._execute_task = run_task_with_its_timeout


if __name__ == "__main__":
    evaluate_jsonata_timeouts()
    sys.exit(main())
