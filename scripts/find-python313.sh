#!/usr/bin/env bash
# Prints the path of a Python 3.13 interpreter (the Lambda runtime's), or explains how to get one.
# Looked for in: $PYTHON313, python3.13 on PATH, pyenv's versions, the usual install prefixes.
set -euo pipefail

is_313() { [ -x "$1" ] && "$1" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' 2>/dev/null; }

candidates=()
[ -n "${PYTHON313:-}" ] && candidates+=("$PYTHON313")
command -v python3.13 >/dev/null 2>&1 && candidates+=("$(command -v python3.13)")
pyenv_root="${PYENV_ROOT:-$HOME/.pyenv}"
for dir in "$pyenv_root"/versions/3.13*/bin /root/.pyenv/versions/3.13*/bin /usr/local/bin /usr/bin /opt/homebrew/bin; do
  candidates+=("$dir/python3.13")
done

for candidate in "${candidates[@]}"; do
  if is_313 "$candidate"; then
    # pyenv's shim would need PYENV_VERSION; resolve to the real interpreter.
    "$candidate" -c 'import sys; print(sys.executable)'
    exit 0
  fi
done

cat >&2 <<'MSG'
Python 3.13 (the Lambda runtime's version) was not found. `sam build` and the emulator need it.
Install it, then run again, e.g.:   pyenv install 3.13   |   apt-get install python3.13   |   brew install python@3.13
or point PYTHON313 at an interpreter: PYTHON313=/path/to/python3.13 make ...
MSG
exit 1
