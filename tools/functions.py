"""Loads a function's handler module as its Lambda runtime would: its code folder first on the path."""

from __future__ import annotations

import importlib.util
import sys
import uuid
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parent.parent
FUNCTIONS = REPO / "functions"
LAYER = REPO / "layers" / "code_deploy"


def load_function(function: str) -> ModuleType:
    """Imports functions/<function>/app.py as a fresh module, as a cold start would: every function's
    module is called `app`, so each load gets a unique name, and the modules beside it (the API's
    routers) are imported afresh too, from the function's folder, as Lambda puts it on the path."""
    folder = FUNCTIONS / function
    for path in (str(LAYER), str(folder)):
        if path in sys.path:
            sys.path.remove(path)
        sys.path.insert(0, path)
    beside = {path.stem for path in folder.glob("*.py")}
    for name in beside & set(sys.modules):
        del sys.modules[name]
    name = f"{function}_app_{uuid.uuid4().hex[:8]}"
    spec = importlib.util.spec_from_file_location(name, folder / "app.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
