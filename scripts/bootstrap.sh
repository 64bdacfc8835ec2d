#!/usr/bin/env bash
# Creates the project's five virtualenvs, each on Python 3.13 and pinned by its lock file:
#   .venv/tools     SAM CLI, samlocal, cfn-lint (aws-sam-cli pins its own botocore and pydantic)
#   .venv/emulator  MiniStack, which runs the functions with its own interpreter
#   .venv/test      pytest, moto, ruff + exactly what the functions import on Lambda
#   .venv/scan      checkov (it pins versions that conflict with SAM CLI's)
#   .venv/deployctl the deployctl CLI (this checkout, installed editable: .venv/deployctl/bin/deployctl)
#   .venv/agent     the host agent (agent/, installed editable: .venv/agent/bin/code-deploy-agent)
#   .venv/asl       asl-validator (npm, Node 18+), which `make lint` runs on the state machine definitions
# A venv is rebuilt only when its requirement or lock files change.
set -euo pipefail
cd "$(dirname "$0")/.."

python313="$(scripts/find-python313.sh)"

make_venv() {
  local name="$1"
  local dir=".venv/$name" stamp=".venv/$name/.requirements-stamp"
  local wanted
  local inputs=("requirements/$name.txt" "requirements/$name.lock" layers/code_deploy/requirements.txt layers/code_deploy/tracing-requirements.txt)
  # deployctl's console script comes from pyproject.toml.
  [ "$name" = deployctl ] && inputs+=(pyproject.toml)
  [ "$name" = agent ] && inputs+=(agent/pyproject.toml)
  wanted="$(cat "${inputs[@]}" | sha256sum | cut -c1-16)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ] && [ -x "$dir/bin/python" ]; then
    return 0
  fi
  echo "==> creating $dir (Python $("$python313" -c 'import platform; print(platform.python_version())'))"
  rm -rf "$dir"
  "$python313" -m venv "$dir"
  "$dir/bin/python" -m pip install --quiet --disable-pip-version-check \
    -r "requirements/$name.txt" -c "requirements/$name.lock"
  if [ "$name" = deployctl ]; then
    # Editable: the console script runs this checkout's deployctl/, so it never goes stale.
    "$dir/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
  fi
  if [ "$name" = agent ]; then
    "$dir/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e agent
  fi
  echo "$wanted" > "$stamp"
}

# The npm packages of requirements/<name>/, installed with `npm ci` from their package-lock.json.
make_node_env() {
  local name="$1"
  local dir=".venv/$name" stamp=".venv/$name/.requirements-stamp"
  local wanted
  wanted="$(cat "requirements/$name/package.json" "requirements/$name/package-lock.json" | sha256sum | cut -c1-16)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ] && [ -d "$dir/node_modules" ]; then
    return 0
  fi
  command -v npm >/dev/null || { echo "$dir needs Node.js 18+ and npm on PATH" >&2; exit 1; }
  echo "==> creating $dir (Node $(node --version))"
  rm -rf "$dir"
  mkdir -p "$dir"
  cp "requirements/$name/package.json" "requirements/$name/package-lock.json" "$dir/"
  (cd "$dir" && npm ci --silent --no-audit --no-fund)
  echo "$wanted" > "$stamp"
}

mkdir -p .venv
for name in "$@"; do
  if [ -f "requirements/$name/package.json" ]; then
    make_node_env "$name"
  else
    make_venv "$name"
  fi
done
