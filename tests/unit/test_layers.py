"""What the layers leave out must be what nothing imports: the Powertools utilities the layer's Makefile
removes (UNUSED_POWERTOOLS), checked against the installed Powertools, so an upgrade that starts to import
one of them, or a function that starts to use one, fails here and not at a cold start on AWS. And what the
layer holds is what the functions load: not the capacity model, a developer's tool (capacity/)."""

import importlib.util
import json
import re
import subprocess
import sys

from tests.utils import FUNCTIONS, REPO

LAYER = REPO / "layers" / "code_deploy"
POWERTOOLS_IMPORT = re.compile(r"^\s*(?:from|import)\s+(aws_lambda_powertools[\w.]*)", re.MULTILINE)


def unused_powertools() -> list[str]:
    found = re.search(r"^UNUSED_POWERTOOLS = (.+)$", (LAYER / "Makefile").read_text(), re.MULTILINE)
    assert found, "layers/code_deploy/Makefile names no UNUSED_POWERTOOLS"
    return found.group(1).split()


def powertools_modules_we_import() -> set[str]:
    """Every Powertools module the functions and the domain package import, at load time or inside a
    function (the API's idempotency utility, the build worker's batch processing)."""
    sources = [*FUNCTIONS.glob("*/app.py"), *(LAYER / "code_deploy").glob("*.py")]
    return {name for path in sources for name in POWERTOOLS_IMPORT.findall(path.read_text())}


def test_the_layer_leaves_out_only_powertools_utilities_nothing_imports():
    # Given every Powertools module we import, with pydantic loaded first (Powertools' batch utility then
    # imports its parser's models) and the X-Ray SDK's tracer as on AWS
    modules = sorted(powertools_modules_we_import())
    assert "aws_lambda_powertools.utilities.batch" in modules
    probe = (
        "import json, sys, pydantic\n"
        + "".join(f"import {name}\n" for name in modules)
        + "from aws_lambda_powertools import Tracer; Tracer()\n"
        + "print(json.dumps(sorted(sys.modules)))"
    )
    # When they are imported
    done = subprocess.run(
        [sys.executable, "-c", probe],
        env={"AWS_REGION": "us-east-1", "POWERTOOLS_TRACE_DISABLED": "false"},
        capture_output=True,
        text=True,
        check=True,
    )
    loaded = json.loads(done.stdout)
    # Then none of the utilities the layer leaves out came with them
    left_out = tuple(f"aws_lambda_powertools.utilities.{name}" for name in unused_powertools())
    assert [name for name in loaded if name.startswith(left_out)] == []


def test_the_layer_holds_no_capacity_model():
    # Given the domain package, which the layer's Makefile copies whole
    package = LAYER / "code_deploy"
    # Then the capacity model is not in it: no function imports it, and every new execution environment
    # would unpack it for nothing (it lives in capacity/, beside its results)
    assert list(package.glob("capacity*")) == []
    assert importlib.util.find_spec("code_deploy.capacity") is None
