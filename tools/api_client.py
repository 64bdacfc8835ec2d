"""Calls the REST API the way every client of this project does: JSON in, JSON out, and signed with
SigV4 (service execute-api) whenever AWS credentials are at hand, so the same call works against an
API with IAM authorization on AWS and against an open one on the emulator."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

TIMEOUT_SECONDS = 30


def signed_headers(method: str, url: str, body: bytes | None, headers: dict[str, str]) -> dict[str, str]:
    """`headers` plus a SigV4 signature for execute-api (unchanged when no credentials are found)."""
    session = boto3.session.Session()
    credentials = session.get_credentials()
    if credentials is None:
        return headers
    region = session.region_name or os.environ.get("AWS_REGION") or "us-east-1"
    request = AWSRequest(method=method, url=url, data=body, headers=headers)
    SigV4Auth(credentials.get_frozen_credentials(), "execute-api", region).add_auth(request)
    return dict(request.headers.items())


def call(
    method: str,
    url: str,
    body: dict | str | bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = TIMEOUT_SECONDS,
) -> tuple[int, dict]:
    """Sends one request; returns the status code and the JSON body ({} when there is none)."""
    if isinstance(body, dict):
        body = json.dumps(body)
    data = body.encode() if isinstance(body, str) else body
    headers = {"Content-Type": "application/json"} if headers is None else dict(headers)
    request = urllib.request.Request(url, data=data, method=method, headers=signed_headers(method, url, data, headers))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        payload = error.read()
        try:
            return error.code, json.loads(payload or b"{}")
        except json.JSONDecodeError:
            return error.code, {"raw": payload.decode(errors="replace")}
