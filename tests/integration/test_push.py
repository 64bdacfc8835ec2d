"""deployctl push against the deployed stack: an application's directory becomes a build that every region
holds byte for byte and every host runs (the simulated hosts, with AutoDeploy)."""

from __future__ import annotations

import hashlib
import io
import json

import boto3
import pytest
from botocore.exceptions import ClientError

from code_deploy.builds import store as build_store
from deployctl import push
from tests.integration.helpers import deployctl
from tests.utils import REPO

HELLO = REPO / "examples" / "hello"


def test_push_wait_deploys_the_uploaded_zip_to_every_region(stack_outputs, buckets):
    # Given examples/hello, which push zips to the same bytes every time
    expected = io.BytesIO()
    push.package(HELLO, expected)
    content = expected.getvalue()
    sha256 = hashlib.sha256(content).hexdigest()
    # When it is pushed, waiting for it
    run = deployctl("push", str(HELLO), "--wait", "--json", "--timeout", "60", timeout=90)
    # Then the build is DEPLOYED, and its artifact is the zip, by the record's hashes
    assert run.returncode == 0, run.stderr + run.stdout
    view = json.loads(run.stdout)
    assert view["deploymentStatus"] == "DEPLOYED", view
    artifact = view["artifact"]
    assert (artifact["sha256"], artifact["artifactSha256"], artifact["sizeBytes"]) == (sha256, sha256, len(content))
    # and every regional bucket holds it byte for byte, with its piece list beside it
    key = f"builds/{view['buildId']}.zip"
    for region, bucket in buckets.items():
        s3 = boto3.client("s3", region_name=region)
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == content, region
        s3.head_object(Bucket=bucket, Key=f"{key}.pieces.json")
    # and the staging bucket holds the upload no more
    table = boto3.resource("dynamodb").Table(stack_outputs["BuildsTableName"])
    upload_id = build_store.get_build_record(table, view["buildId"]).upload_id
    assert upload_id
    with pytest.raises(ClientError) as gone:
        boto3.client("s3").head_object(Bucket=stack_outputs["StagingBucketName"], Key=f"uploads/{upload_id}.zip")
    assert gone.value.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound")
