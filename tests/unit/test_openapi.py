import json

from tests.utils import REPO
from tools.openapi import openapi_document


def test_openapi_json_is_generated_from_the_code_and_current():
    # `make openapi` rewrites it; a route or model change without it fails here.
    assert json.loads((REPO / "openapi.json").read_text()) == json.loads(openapi_document())


def test_the_document_describes_both_routes_and_the_commit_rule():
    document = json.loads(openapi_document())
    assert set(document["paths"]) == {"/builds", "/builds/{buildId}"}
    assert "202" in document["paths"]["/builds"]["post"]["responses"]
    commit = document["components"]["schemas"]["BuildRequest"]["properties"]["commit"]
    assert commit["pattern"] == "^[0-9a-f]{7,64}$"
