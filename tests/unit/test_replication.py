import re

from code_deploy.replication import execution_input, execution_name


def test_execution_name_is_stable_per_object_version_and_valid():
    name = execution_name("bucket", "builds/my build+1 ü.zip", "v1")
    assert name == execution_name("bucket", "builds/my build+1 ü.zip", "v1")
    assert name != execution_name("bucket", "builds/my build+1 ü.zip", "v2")
    assert name != execution_name("other", "builds/my build+1 ü.zip", "v1")
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,80}", name)
    assert len(execution_name("b", "k" * 500, "v")) <= 80


def test_execution_input_has_the_plans_shape():
    assert execution_input("src", "key.zip", ["a", "b"]) == {
        "sourceBucket": "src",
        "sourceKey": "key.zip",
        "destinationBuckets": ["a", "b"],
    }
