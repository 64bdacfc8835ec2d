"""`sam local invoke` and `sam local start-api` against the deployed stack's services: the function runs
in Docker in the Lambda image, with the environment of the deployed function (every name and ARN it
reads, from Lambda's GetFunctionConfiguration of the stack's physical resource, any stack, any
region) and AWS_ENDPOINT_URL pointing at the emulator. Run with the tools virtualenv after `sam build`
(`make local-invoke` and `make local-api` do both):

    python -m tools.local_invoke invoke ReplicationStarterFunction events/s3_put.json [--template T] [--region R]
    python -m tools.local_invoke start-api [--port 3000]

Why each piece:
- SAM resolves `!Ref` to placeholders locally, so the values come from the deployed function, written
  to an `--env-vars` file.
- `--env-vars` only sets variables the template declares for the function, and the template does not
  declare AWS_ENDPOINT_URL (on the emulator the function's own value would win over the one MiniStack
  injects): the function is run from a copy of the built template that declares it.
- The emulator listens on 127.0.0.1 only, which a container on Docker's bridge cannot reach, and SAM CLI
  (1.170) ignores `--docker-network host` (it skips connecting to a network named host and leaves the
  container on the bridge). So while SAM runs, this process forwards a port on the bridge's gateway
  (the host as the container sees it) to the emulator, and the function's AWS_ENDPOINT_URL names it.
- `sam local invoke` exits 0 when the handler raises; this exits 1 when the answer is an error.
- The sample event is filled in with the stack's buckets and newest build, as `make invoke` does
  (tools/sample_event.py); `--as-is` sends the file unchanged.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import socket
import subprocess
import sys
import threading
import uuid
from contextlib import contextmanager, suppress
from pathlib import Path
from urllib.parse import urlsplit

import boto3
from samcli.yamlhelper import yaml_dump, yaml_parse

from tools.sample_event import NoBuildYet, filled_event
from tools.stack import stack_name

REPO = Path(__file__).resolve().parent.parent
LOCAL_DIR = REPO / ".aws-sam" / "local"
GLOBAL_TEMPLATE = "template.yaml"
FUNCTION_TYPES = ("AWS::Serverless::Function", "AWS::Lambda::Function")


def deployed_stack_name(template: str, region: str) -> str:
    """The global stack is STACK_NAME; a regional template's stack is STACK_NAME-<region>."""
    return stack_name() if Path(template).name == GLOBAL_TEMPLATE else f"{stack_name()}-{region}"


def built_template_path(template: str) -> Path:
    """`make build` writes the global template's build to .aws-sam/global and the regional one's to
    .aws-sam/regional (sam build -t T -b .aws-sam/<name>)."""
    name = "global" if Path(template).name == GLOBAL_TEMPLATE else Path(template).stem
    return REPO / ".aws-sam" / name / "template.yaml"


def deployed_environment(stack: str, region: str, logical_ids: list[str]) -> dict[str, dict[str, str]]:
    """Each function's environment as deployed: {logical id: {name: value}}."""
    cloudformation = boto3.client("cloudformation", region_name=region)
    lambda_client = boto3.client("lambda", region_name=region)
    environments = {}
    for logical_id in logical_ids:
        resource = cloudformation.describe_stack_resource(StackName=stack, LogicalResourceId=logical_id)
        function_name = resource["StackResourceDetail"]["PhysicalResourceId"]
        configuration = lambda_client.get_function_configuration(FunctionName=function_name)
        environments[logical_id] = dict(configuration.get("Environment", {}).get("Variables", {}))
    return environments


def local_template(built: Path, logical_ids: list[str], run_id: str) -> Path:
    """A copy of the built template, next to it (CodeUri is relative), whose functions declare
    AWS_ENDPOINT_URL so that --env-vars can set it."""
    template = yaml_parse(built.read_text())
    for logical_id in logical_ids:
        properties = template["Resources"][logical_id].setdefault("Properties", {})
        variables = properties.setdefault("Environment", {}).setdefault("Variables", {})
        variables.setdefault("AWS_ENDPOINT_URL", "")
    path = built.parent / f"template.local-{run_id}.yaml"
    path.write_text(yaml_dump(template))
    return path


def functions_of(built: Path) -> list[str]:
    resources = yaml_parse(built.read_text()).get("Resources", {})
    return [
        name
        for name, resource in resources.items()
        if isinstance(resource, dict) and resource.get("Type") in FUNCTION_TYPES
    ]


def _pipe(source: socket.socket, target: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            target.sendall(data)
    except OSError:
        pass
    finally:
        for end in (source, target):
            with suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
            end.close()


def _forward(listener: socket.socket, target: tuple[str, int]) -> None:
    while True:
        try:
            client, _ = listener.accept()
        except OSError:
            return  # the listener was closed
        upstream = socket.create_connection(target)
        for source, sink in ((client, upstream), (upstream, client)):
            threading.Thread(target=_pipe, args=(source, sink), daemon=True).start()


def docker_bridge_gateway() -> str:
    """The host's address on Docker's default bridge, where SAM's containers run: the network's
    gateway, or else (Docker 20.10 leaves it out) the subnet's first address, which Docker gives the
    bridge."""
    ipam = subprocess.run(
        ["docker", "network", "inspect", "bridge", "--format", "{{json .IPAM.Config}}"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    config = json.loads(ipam)[0]
    return config.get("Gateway") or str(next(ipaddress.ip_network(config["Subnet"]).hosts()))


@contextmanager
def endpoint_for_containers():
    """The AWS_ENDPOINT_URL a function in SAM's container uses: the emulator's, reached through a
    forwarder on the bridge's gateway when the emulator listens on loopback; None on AWS."""
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    parts = urlsplit(endpoint or "")
    if not endpoint or parts.hostname not in ("127.0.0.1", "localhost"):
        yield endpoint
        return
    gateway = docker_bridge_gateway()
    listener = socket.create_server((gateway, 0))
    threading.Thread(target=_forward, args=(listener, (parts.hostname, parts.port or 80)), daemon=True).start()
    try:
        yield f"{parts.scheme}://{gateway}:{listener.getsockname()[1]}"
    finally:
        listener.close()


@contextmanager
def prepared(template: str, region: str, logical_ids: list[str] | None, endpoint: str | None):
    """The local template and the env-vars file of one run (runs side by side each get their own)."""
    run_id = uuid.uuid4().hex[:12]
    local, env_vars = prepare(template, region, logical_ids, endpoint, run_id)
    try:
        yield local, env_vars
    finally:
        local.unlink(missing_ok=True)
        env_vars.unlink(missing_ok=True)


def prepare(
    template: str, region: str, logical_ids: list[str] | None, endpoint: str | None, run_id: str
) -> tuple[Path, Path]:
    """Writes the env-vars file and the local template; returns their paths."""
    built = built_template_path(template)
    if not built.exists():
        raise SystemExit(f"{built} not found: run `sam build` first (make local-invoke does)")
    logical_ids = logical_ids or functions_of(built)
    environments = deployed_environment(deployed_stack_name(template, region), region, logical_ids)
    if endpoint:
        for variables in environments.values():
            variables["AWS_ENDPOINT_URL"] = endpoint
    LOCAL_DIR.mkdir(parents=True, exist_ok=True)
    env_vars = LOCAL_DIR / f"env-vars-{run_id}.json"
    env_vars.write_text(json.dumps(environments, indent=2))
    return local_template(built, logical_ids, run_id), env_vars


def sam_command(verb: str, template: Path, env_vars: Path, region: str) -> list[str]:
    return [
        str(Path(sys.executable).parent / "sam"),
        "local",
        verb,
        "--template",
        str(template),
        "--env-vars",
        str(env_vars),
        "--region",
        region,
        "--skip-pull-image",
        "--language-extensions",
    ]


def ensure_image() -> None:
    subprocess.run([str(REPO / "scripts" / "lambda-image.sh")], check=True)


def invoke(logical_id: str, event_path: str, template: str, region: str, as_is: bool) -> int:
    try:
        event = json.loads(Path(event_path).read_text()) if as_is else filled_event(event_path)
    except NoBuildYet as error:
        print(f"cannot send {event_path}: {error}", file=sys.stderr)
        return 2
    ensure_image()
    with endpoint_for_containers() as endpoint, prepared(template, region, [logical_id], endpoint) as (local, env_vars):
        # the event goes in on stdin (`--event -`), so runs side by side share no file
        command = [*sam_command("invoke", local, env_vars, region), logical_id, "--event", "-"]
        run = subprocess.run(command, cwd=REPO, input=json.dumps(event), stdout=subprocess.PIPE, text=True)
    print(run.stdout)
    if run.returncode != 0:
        return run.returncode
    try:
        answer = json.loads(run.stdout.strip().splitlines()[-1])
    except (json.JSONDecodeError, IndexError):
        return 0
    return 1 if isinstance(answer, dict) and "errorType" in answer else 0


def start_api(template: str, region: str, port: int) -> int:
    ensure_image()
    with endpoint_for_containers() as endpoint, prepared(template, region, None, endpoint) as (local, env_vars):
        command = [*sam_command("start-api", local, env_vars, region), "--port", str(port), "--host", "127.0.0.1"]
        return subprocess.call(command, cwd=REPO)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("verb", choices=["invoke", "start-api"])
    parser.add_argument("function", nargs="?", help="the function's logical id (invoke)")
    parser.add_argument("event", nargs="?", help="an events/ file (invoke)")
    parser.add_argument("--template", default=GLOBAL_TEMPLATE)
    parser.add_argument("--region", default=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"))
    parser.add_argument("--port", type=int, default=3000)
    parser.add_argument("--as-is", action="store_true", help="send the event file unchanged")
    args = parser.parse_args(argv)
    if not args.region:
        parser.error("no region: set AWS_REGION or pass --region")
    if args.verb == "invoke":
        if not (args.function and args.event):
            parser.error("invoke needs a function's logical id and an event file")
        return invoke(args.function, args.event, args.template, args.region, args.as_is)
    return start_api(args.template, args.region, args.port)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
