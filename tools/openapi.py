"""Prints the REST API's OpenAPI document, generated from the API function's routes and models."""

from __future__ import annotations

import sys

from tools.functions import load_function

TITLE = "sam-code-deploy"
VERSION = "1.0.0"
DESCRIPTION = (
    "Submit a build of a commit or of an uploaded application; follow it through build, replication to every "
    "region and rollout."
)


def openapi_document() -> str:
    module = load_function("api")
    return module.app.get_openapi_json_schema(title=TITLE, version=VERSION, description=DESCRIPTION) + "\n"


if __name__ == "__main__":
    sys.stdout.write(openapi_document())
