"""The builds and deployments API as deployctl reaches it: the stack's outputs say where the API is, every request is
SigV4-signed with the caller's AWS credentials (the API uses IAM authorization), and every failure
becomes one DeployctlError whose message is a sentence for the person at the terminal.

deployctl uses the public API only, never the tables behind it. The one thing it reads besides the
API is the stack itself (CloudFormation outputs, and for `logs` the stack's log groups).
"""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from functools import cached_property
from typing import Any, BinaryIO

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError

DEFAULT_STACK_NAME = "sam-code-deploy"
DEFAULT_REGION = "us-east-1"
DEFAULT_EMULATOR_ENDPOINT = "http://127.0.0.1:4566"
# What the emulator accepts; used only against an emulator, when no credentials are configured.
EMULATOR_CREDENTIALS = Credentials("test", "test")
TIMEOUT_SECONDS = 30
START_HINT = "run `make demo` first"
# A stopped emulator should be reported in a second or two, not after botocore's default retries.
CLIENT_CONFIG = Config(connect_timeout=5, read_timeout=TIMEOUT_SECONDS, retries={"mode": "standard", "max_attempts": 2})


class DeployctlError(Exception):
    """Something the user can act on; the CLI prints it as one line, never a traceback."""


class ApiError(DeployctlError):
    def __init__(self, status: int, message: str, api_message: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        # The API's own words, without the request: what a refused pause or resume prints.
        self.api_message = api_message or message


@dataclass(frozen=True)
class Target:
    """Which stack, in which region, behind which endpoint: None for AWS itself."""

    stack_name: str = DEFAULT_STACK_NAME
    region: str = DEFAULT_REGION
    endpoint_url: str | None = DEFAULT_EMULATOR_ENDPOINT

    @classmethod
    def resolve(cls, stack_name: str | None, region: str | None, endpoint_url: str | None, use_aws: bool) -> Target:
        """Flags first, then the environment (STACK_NAME, AWS_REGION, AWS_ENDPOINT_URL, as `make local-env`
        exports them), then the emulator on its default port; --aws means AWS itself."""
        endpoint = (
            None if use_aws else (endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or DEFAULT_EMULATOR_ENDPOINT)
        )
        return cls(
            stack_name=stack_name or os.environ.get("STACK_NAME") or DEFAULT_STACK_NAME,
            region=region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION,
            endpoint_url=endpoint.rstrip("/") if endpoint else None,
        )

    @property
    def where(self) -> str:
        return f"the emulator at {self.endpoint_url}" if self.endpoint_url else f"AWS ({self.region})"


class Api:
    """The deployed stack's API, found through the stack's outputs."""

    def __init__(self, target: Target) -> None:
        self.target = target
        if target.endpoint_url:
            # An emulator needs no instance role: without credentials configured, boto3 would otherwise
            # probe the EC2 instance metadata service before deployctl falls back to the emulator's.
            os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
        self.session = boto3.session.Session(region_name=target.region)

    @cached_property
    def credentials(self):
        credentials = self.session.get_credentials()
        if credentials is None:
            if self.target.endpoint_url:
                return EMULATOR_CREDENTIALS
            raise DeployctlError("no AWS credentials found: configure them (aws configure, AWS_PROFILE, ...)")
        return credentials.get_frozen_credentials()

    def client(self, service: str, region: str | None = None):
        """A boto3 client of the target (the emulator's endpoint, or AWS), in the stack's region or another."""
        return self.session.client(
            service,
            region_name=region or self.target.region,
            endpoint_url=self.target.endpoint_url,
            config=CLIENT_CONFIG,
            aws_access_key_id=self.credentials.access_key,
            aws_secret_access_key=self.credentials.secret_key,
            aws_session_token=self.credentials.token,
        )

    @cached_property
    def outputs(self) -> dict[str, str]:
        return stack_outputs(self, self.target.stack_name)

    @cached_property
    def base_url(self) -> str:
        if self.target.endpoint_url:
            # MiniStack and LocalStack serve REST APIs at /_aws/execute-api/{apiId}/{stage}: the
            # ApiUrl output names a host that only resolves on AWS.
            return f"{self.target.endpoint_url}/_aws/execute-api/{self.outputs['ApiId']}/{self.outputs['ApiStage']}"
        return self.outputs["ApiUrl"].rstrip("/")

    def request(
        self,
        method: str,
        path: str,
        body: dict | None = None,
        query: dict | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """One signed request; the JSON answer, or ApiError with the API's own message."""
        status, answer = self.send(method, path, body, query, headers)
        if status >= 400:
            api_message = str(answer.get("message", answer))
            raise ApiError(status, f"{method} {path} answered {status}: {api_message}", api_message)
        return answer

    def send(
        self,
        method: str,
        path: str,
        body: dict | bytes | None = None,
        query: dict | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """One signed request; the status and the JSON answer, whatever the status."""
        url = f"{self.base_url}{path}"
        if query:
            url += "?" + urllib.parse.urlencode({name: value for name, value in query.items() if value is not None})
        data = json.dumps(body).encode() if isinstance(body, dict) else body
        headers = ({"Content-Type": "application/json"} if data is not None else {}) | (headers or {})
        signed = AWSRequest(method=method, url=url, data=data, headers=headers)
        SigV4Auth(self.credentials, "execute-api", self.target.region).add_auth(signed)
        request = urllib.request.Request(url, data=data, method=method, headers=dict(signed.headers.items()))
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
                return response.status, _json(response.read())
        except urllib.error.HTTPError as error:
            return error.code, _json(error.read())
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise DeployctlError(f"cannot reach the API at {self.base_url} ({reason}): {START_HINT}") from None

    # --- the API's operations -----------------------------------------------------------------------

    def submit_build(
        self, commit: str, upload: str | None = None, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        """A build of the commit, or of an upload's zip (filed under the commit); with an Idempotency-Key,
        a retry answers the first request's build."""
        body = {"commit": commit} | ({"upload": upload} if upload else {})
        return self.request(
            "POST", "/builds", body, headers={"Idempotency-Key": idempotency_key} if idempotency_key else None
        )

    def request_upload(self) -> dict[str, Any]:
        """Where to PUT an application's zip: uploadId, uploadUrl, expiresAt, maxBytes. The API takes no
        body, but a JSON one keeps every POST alike."""
        return self.request("POST", "/builds/uploads", {})

    def put_upload(self, upload_url: str, archive: BinaryIO, size: int) -> None:
        """PUTs the zip to the presigned URL: a plain PUT, streamed from the file, no SigV4 (the URL is signed)."""
        put = urllib.request.Request(
            upload_url,
            data=archive,
            method="PUT",
            headers={"Content-Type": "application/zip", "Content-Length": str(size)},
        )
        try:
            with urllib.request.urlopen(put, timeout=TIMEOUT_SECONDS):
                return
        except urllib.error.HTTPError as error:
            raise DeployctlError(f"the upload's PUT answered {error.code}: {_s3_error(error.read())}") from None
        except (urllib.error.URLError, OSError) as error:
            host = urllib.parse.urlsplit(upload_url).netloc
            raise DeployctlError(f"cannot PUT the upload to {host} ({getattr(error, 'reason', error)})") from None

    def get_build(self, build_id: str) -> dict[str, Any]:
        return self.request("GET", f"/builds/{_segment(build_id)}")

    def list_builds(self, limit: int | None = None, cursor: str | None = None) -> dict[str, Any]:
        return self.request("GET", "/builds", query={"limit": limit, "cursor": cursor})

    def submit_deployment(self, spec: dict[str, Any]) -> dict[str, Any]:
        return self.request("POST", "/deployments", spec)

    def plan_deployment(self, spec: dict[str, Any]) -> dict[str, Any]:
        return self.request("POST", "/deployments/plan", spec)

    def get_deployment(self, deployment_id: str) -> dict[str, Any]:
        return self.request("GET", f"/deployments/{_segment(deployment_id)}")

    def list_deployments(self, limit: int | None = None, cursor: str | None = None) -> dict[str, Any]:
        return self.request("GET", "/deployments", query={"limit": limit, "cursor": cursor})

    def act_on_deployment(self, deployment_id: str, action: str) -> dict[str, Any]:
        """pause, resume, promote, approve, abort or rollback: the API takes no body, but a JSON one keeps every
        POST alike."""
        return self.request("POST", f"/deployments/{_segment(deployment_id)}/{action}", {})

    def freeze(self, reason: str, until: str | None = None, service: str | None = None) -> dict[str, Any]:
        body = {"reason": reason} | ({"until": until} if until else {}) | ({"service": service} if service else {})
        return self.request("POST", "/freeze", body)

    def unfreeze(self, service: str | None = None) -> dict[str, Any]:
        return self.request("DELETE", "/freeze", query={"service": service} if service else None)

    def list_regions(self) -> dict[str, Any]:
        return self.request("GET", "/regions")

    def get_region(self, region: str) -> dict[str, Any]:
        return self.request("GET", f"/regions/{_segment(region)}")

    def list_hosts(
        self, region: str, group: str | None = None, limit: int | None = None, cursor: str | None = None
    ) -> dict[str, Any]:
        return self.request(
            "GET", f"/regions/{_segment(region)}/hosts", query={"group": group, "limit": limit, "cursor": cursor}
        )


def _segment(value: str) -> str:
    """One path segment: an id with a slash or a question mark stays one (and gets the API's 404)."""
    return urllib.parse.quote(value, safe="")


def _s3_error(payload: bytes) -> str:
    """S3's XML error as `Code: Message` (an expired URL: `AccessDenied: Request has expired`)."""
    text = payload.decode(errors="replace")
    found = {tag: re.search(f"<{tag}>(.*?)</{tag}>", text, re.DOTALL) for tag in ("Code", "Message")}
    parts = [match.group(1).strip() for match in found.values() if match]
    return ": ".join(parts) or text[:200] or "no message"


def _json(payload: bytes) -> dict[str, Any]:
    try:
        answer = json.loads(payload or b"{}")
    except json.JSONDecodeError:
        return {"message": payload.decode(errors="replace")[:200]}
    return answer if isinstance(answer, dict) else {"message": str(answer)}


def stack_outputs(api: Api, stack_name: str, region: str | None = None, require_api: bool = True) -> dict[str, str]:
    """A stack's outputs (the global stack's API, unless require_api is False); a DeployctlError that says
    what to do when the emulator or the stack is not up."""
    try:
        stacks = api.client("cloudformation", region).describe_stacks(StackName=stack_name)["Stacks"]
    except EndpointConnectionError:
        raise DeployctlError(f"cannot reach {api.target.where}: {START_HINT}") from None
    except NoCredentialsError:
        raise DeployctlError("no AWS credentials found: configure them (aws configure, AWS_PROFILE, ...)") from None
    except ClientError as error:
        message = error.response["Error"].get("Message", str(error))
        if "does not exist" in message:
            raise DeployctlError(
                f"no stack {stack_name!r} on {api.target.where}: {START_HINT} (or pass --stack NAME)"
            ) from None
        raise DeployctlError(f"cannot read stack {stack_name!r} on {api.target.where}: {message}") from None
    except BotoCoreError as error:
        raise DeployctlError(f"cannot read stack {stack_name!r} on {api.target.where}: {error}") from None
    if not stacks:
        raise DeployctlError(f"no stack {stack_name!r} on {api.target.where}: {START_HINT} (or pass --stack NAME)")
    outputs = {output["OutputKey"]: output["OutputValue"] for output in stacks[0].get("Outputs", [])}
    if require_api and "ApiId" not in outputs:
        raise DeployctlError(f"stack {stack_name!r} has no API outputs (status {stacks[0].get('StackStatus')})")
    return outputs
