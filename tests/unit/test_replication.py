import re

import pytest

from code_deploy.replication.model import (
    InvalidReplicationRequest,
    ReplicationRequest,
    execution_input,
    execution_name,
    replication_requests,
)


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


def test_an_s3_event_asks_for_one_replication_per_record_to_the_stacks_regions():
    # Given an S3 event with two records, one key URL-encoded
    records = [
        {"s3": {"bucket": {"name": "global"}, "object": {"key": "builds/a+b%2B1.zip", "versionId": "v1"}}},
        {"s3": {"bucket": {"name": "global"}, "object": {"key": "builds/c.zip", "eTag": "e2"}}},
    ]
    # When it is parsed
    requests = replication_requests({"Records": records})
    # Then each record is a request to the stack's own regions (no destinations of its own)
    assert requests == [
        ReplicationRequest("global", "builds/a b+1.zip", "v1"),
        ReplicationRequest("global", "builds/c.zip", "e2"),
    ]


def test_the_plans_direct_input_names_its_own_destinations():
    requests = replication_requests({"sourceBucket": "global", "sourceKey": "k.zip", "destinationBuckets": ["a", "b"]})
    assert requests == [ReplicationRequest("global", "k.zip", "direct:a,b", ("a", "b"))]
    # the same input is the same request (one execution); other destinations are another
    again = replication_requests({"sourceBucket": "global", "sourceKey": "k.zip", "destinationBuckets": ["a"]})
    assert again[0].version != requests[0].version


@pytest.mark.parametrize(
    ("event", "words"),
    [
        ({"hello": "world"}, ["expected an S3 event notification", "sourceBucket", "got fields ['hello']"]),
        ([1, 2], ["expected an S3 event notification", "got list"]),
        ({"Records": []}, ["Records must be a non-empty list"]),
        ({"Records": [{"s3": {"bucket": {}}}]}, ["Records[0] is not an S3 event record", "missing 'name'"]),
        ({"sourceBucket": "b", "sourceKey": "k"}, ["destinationBuckets: must be a non-empty list"]),
        ({"sourceBucket": "", "sourceKey": "k", "destinationBuckets": ["a"]}, ["sourceBucket: must be"]),
        ({"sourceBucket": "b", "sourceKey": 3, "destinationBuckets": ["a"]}, ["sourceKey: must be"]),
        ({"sourceBucket": "b", "sourceKey": "k", "destinationBuckets": ["a", ""]}, ["destinationBuckets: must be"]),
        ({"sourceBucket": "b", "sourceKey": "k", "destinationBuckets": ["a"], "x": 1}, ["unknown field: x"]),
    ],
)
def test_anything_else_is_refused_with_what_was_expected(event, words):
    with pytest.raises(InvalidReplicationRequest) as refused:
        replication_requests(event)
    for word in words:
        assert word in str(refused.value)
