"""Prints the REST API's OpenAPI document, generated from the API function's routes and models."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TITLE = "sam-code-deploy"
VERSION = "1.0.0"
DESCRIPTION = "Submit a build of a commit; follow it through build, replication to every region and rollout."


def openapi_document() -> str:
    sys.path.insert(0, str(REPO / "layers" / "code_deploy"))
    spec = importlib.util.spec_from_file_location("api_app", REPO / "functions" / "api" / "app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.app.get_openapi_json_schema(title=TITLE, version=VERSION, description=DESCRIPTION) + "\n"


if __name__ == "__main__":
    sys.stdout.write(openapi_document())
