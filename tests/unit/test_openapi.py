import json

from tests.utils import REPO
from tools.openapi import openapi_document


def test_openapi_json_is_generated_from_the_code_and_current():
    # `make openapi` rewrites it; a route or model change without it fails here.
    assert json.loads((REPO / "openapi.json").read_text()) == json.loads(openapi_document())


def test_the_document_describes_every_route_and_the_commit_rule():
    document = json.loads(openapi_document())
    assert set(document["paths"]) == {
        "/builds",
        "/builds/uploads",
        "/builds/{buildId}",
        "/deployments",
        "/deployments/plan",
        "/deployments/{deploymentId}",
        "/deployments/{deploymentId}/{action}",
        "/freeze",
        "/regions",
        "/regions/{region}",
        "/regions/{region}/hosts",
        "/services",
        "/services/{name}",
        "/regions/{region}/hosts/{hostId}",
        "/regions/{region}/grid",
    }
    assert "202" in document["paths"]["/builds"]["post"]["responses"]
    commit = document["components"]["schemas"]["BuildRequest"]["properties"]["commit"]
    assert commit["pattern"] == "^[0-9a-f]{7,64}$"
    assert "201" in document["paths"]["/builds/uploads"]["post"]["responses"]


def test_the_document_describes_every_refusal_with_the_error_model():
    # The fuzzer (tests/integration/test_api_fuzz.py) holds every answer to this list and model.
    document = json.loads(openapi_document())
    submit = document["paths"]["/builds"]["post"]["responses"]
    read = document["paths"]["/builds/{buildId}"]["get"]["responses"]
    assert set(submit) == {"202", "400", "404", "409", "413", "415", "422"}
    assert set(read) == {"200", "404", "422"}
    refusals = [submit[code] for code in ("400", "404", "409", "413", "415", "422")] + [read["404"], read["422"]]
    for refusal in refusals:
        assert refusal["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ApiError"}
    assert document["components"]["schemas"]["ApiError"]["required"] == ["statusCode", "message"]
