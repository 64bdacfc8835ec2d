"""The sample events of events/, filled in for the deployed stack: its buckets instead of the sample's,
and the newest build artifact in its global bucket instead of the sample build (its id, commit, and
the real object's size, ETag and version id). So `make invoke` and `make local-invoke` run a function
on something that exists: the replication starter sees an S3 event of an artifact already
replicating (no second execution), the build worker a build already built, the API's GET a real build.

    python -m tools.sample_event events/s3_put.json     # prints the filled-in event
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import boto3

from code_deploy.builds.model import ARTIFACT_PREFIX
from tools.stack import outputs, regional_buckets

# What the files in events/ name (template.yaml's names for stack sam-code-deploy in the emulator's
# account and region, and one build).
SAMPLE_BUILD_ID = "build-20261122T101500Z-1a2b3c4d"
SAMPLE_COMMIT = "9fceb02d0ae598e95dc970b74767f19372d61af8"
SAMPLE_GLOBAL_BUCKET = "sam-code-deploy-global-builds-000000000000-us-east-1"
SAMPLE_REGIONS = ("us-west-2", "eu-west-1", "ap-southeast-2")
SAMPLE_REGIONAL_BUCKET = re.compile(r"sam-code-deploy-builds-000000000000-(us-west-2|eu-west-1|ap-southeast-2)")


class NoBuildYet(Exception):
    """The stack has no build artifact to fill the sample in with."""


@dataclass(frozen=True)
class Artifact:
    build_id: str
    commit: str
    key: str


def newest_artifact(global_bucket: str) -> Artifact:
    s3 = boto3.client("s3")
    newest = None
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=global_bucket, Prefix=ARTIFACT_PREFIX):
        for item in page.get("Contents", []):
            if item["Key"].endswith(".zip") and (newest is None or item["LastModified"] > newest["LastModified"]):
                newest = item
    if newest is None:
        raise NoBuildYet(f"no build artifact in s3://{global_bucket}/{ARTIFACT_PREFIX} yet: run `make demo` first")
    metadata = s3.head_object(Bucket=global_bucket, Key=newest["Key"]).get("Metadata", {})
    build_id = metadata.get("build-id") or Path(newest["Key"]).stem
    return Artifact(build_id, metadata.get("commit", SAMPLE_COMMIT), newest["Key"])


def filled_event(event_path: str | Path, stack_outputs: dict[str, str] | None = None) -> dict:
    """The sample event at `event_path`, naming the deployed stack's buckets and newest build."""
    stack_outputs = stack_outputs or outputs()
    global_bucket = stack_outputs["GlobalBuildsBucketName"]
    regional = list(regional_buckets(stack_outputs).items())
    artifact = newest_artifact(global_bucket)
    text = Path(event_path).read_text().replace(SAMPLE_GLOBAL_BUCKET, global_bucket)
    # The samples' regions stand for the stack's first, second, third region.
    stands_for = {sample: regional[i % len(regional)] for i, sample in enumerate(SAMPLE_REGIONS)}
    text = SAMPLE_REGIONAL_BUCKET.sub(lambda match: stands_for[match.group(1)][1], text)
    text = re.sub(
        r'"awsRegion": "(us-west-2|eu-west-1|ap-southeast-2)"',
        lambda match: f'"awsRegion": "{stands_for[match.group(1)][0]}"',
        text,
    )
    text = text.replace(SAMPLE_BUILD_ID, artifact.build_id).replace(SAMPLE_COMMIT, artifact.commit)
    text = text.replace(f"{ARTIFACT_PREFIX}{artifact.build_id}.zip", artifact.key)
    event = json.loads(text)
    for record in event.get("Records", []) if isinstance(event, dict) else []:
        if "s3" in record:
            _describe_real_object(record["s3"])
    return event


def _describe_real_object(s3_record: dict) -> None:
    """An S3 record carries the size, ETag and version id of the object it names, as S3 sends them
    (so the replication starter's execution name is the one the real event gave)."""
    s3_object = s3_record["object"]
    head = boto3.client("s3").head_object(Bucket=s3_record["bucket"]["name"], Key=s3_object["key"])
    s3_object.update(size=head["ContentLength"], eTag=head["ETag"].strip('"'))
    if head.get("VersionId"):
        s3_object["versionId"] = head["VersionId"]
    else:
        s3_object.pop("versionId", None)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    try:
        print(json.dumps(filled_event(sys.argv[1]), indent=2))
    except NoBuildYet as error:
        print(error, file=sys.stderr)
        sys.exit(2)
