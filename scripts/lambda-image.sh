#!/usr/bin/env bash
# Makes sure Docker holds the Lambda Python 3.13 base image `sam local invoke` and `sam local
# start-api` run the functions in (public.ecr.aws/lambda/python:3.13-x86_64; SAM CLI adds its own
# runtime interface emulator on top). In order: the image already there; the cached stand-in
# (.venv/lambda-image/); a pull from the registry; else a stand-in built here, where no registry is
# reachable: Debian (debootstrap, minbase) imported as an image, with this machine's CPython 3.13
# in /var/lang and the runtime interface client plus boto3 in /var/runtime, as the real image has
# them. About 80 s and under 0.5 GB; cached as a tarball for the next time.
set -euo pipefail
cd "$(dirname "$0")/.."

image="public.ecr.aws/lambda/python:3.13-x86_64"
cache_dir=".venv/lambda-image"
cache="$cache_dir/python3.13-x86_64.tar"
wanted="$(cat "$0" requirements/lambda-image.txt requirements/lambda-image.lock | sha256sum | cut -c1-16)"

if docker image inspect "$image" >/dev/null 2>&1; then
  exit 0
fi
if [ -f "$cache" ] && [ "$(cat "$cache.stamp" 2>/dev/null)" = "$wanted" ]; then
  echo "==> loading the stand-in $image from $cache"
  docker load --quiet --input "$cache"
  exit 0
fi
echo "==> pulling $image"
if timeout "${LAMBDA_IMAGE_PULL_TIMEOUT:-60}" docker pull --quiet "$image"; then
  exit 0
fi

echo "==> $image cannot be pulled: building a stand-in (debootstrap + CPython 3.13 + awslambdaric)"
command -v debootstrap >/dev/null || { echo "needs debootstrap (apt-get install debootstrap)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "debootstrap needs root to build the stand-in image" >&2; exit 1; }
python313="$(scripts/find-python313.sh)"
python_prefix="$("$python313" -c 'import sys; print(sys.prefix)')"
root="$(mktemp -d)"
mkdir -p "$cache_dir"
trap 'rm -rf "$root"' EXIT

# The shared libraries CPython's extension modules link against (ssl, ctypes, sqlite3, ...).
debootstrap --variant=minbase \
  --include=ca-certificates,libssl3,libffi8,libsqlite3-0,libexpat1,libuuid1,libbz2-1.0,liblzma5,zlib1g,libncursesw6,libreadline8 \
  bookworm "$root" "${DEBIAN_MIRROR:-http://deb.debian.org/debian}" >"$cache_dir/debootstrap.log" 2>&1 \
  || { tail -20 "$cache_dir/debootstrap.log" >&2; exit 1; }
rm -f "$cache_dir/debootstrap.log"

mkdir -p "$root/var/lang" "$root/var/runtime" "$root/var/task" "$root/opt"
tar -C "$python_prefix" --exclude='__pycache__' --exclude='test' --exclude='tests' --exclude='idlelib' \
  --exclude='tkinter' --exclude='turtledemo' --exclude='*.a' --exclude='include' -c . | tar -C "$root/var/lang" -x
"$python313" -m pip install --quiet --disable-pip-version-check --no-compile --target "$root/var/runtime" \
  -r requirements/lambda-image.txt -c requirements/lambda-image.lock
cat >"$root/var/runtime/bootstrap" <<'BOOTSTRAP'
#!/bin/sh
export LD_LIBRARY_PATH=/var/lang/lib:$LD_LIBRARY_PATH
export PYTHONPATH=/var/task:/opt/python:/var/runtime
exec /var/lang/bin/python3.13 -m awslambdaric "$_HANDLER"
BOOTSTRAP
chmod +x "$root/var/runtime/bootstrap"
ln -sf python3.13 "$root/var/lang/bin/python3" 2>/dev/null || true
rm -rf "$root/var/cache/apt/archives"/*.deb "$root/var/lib/apt/lists"/*

tar -C "$root" -c . | docker import \
  --change 'ENV LANG=C.UTF-8' \
  --change 'ENV PATH=/var/lang/bin:/usr/local/bin:/usr/bin:/bin' \
  --change 'ENV LD_LIBRARY_PATH=/var/lang/lib:/var/runtime:/var/task:/opt/lib' \
  --change 'ENV LAMBDA_TASK_ROOT=/var/task' \
  --change 'ENV LAMBDA_RUNTIME_DIR=/var/runtime' \
  --change 'WORKDIR /var/task' \
  --change 'ENTRYPOINT ["/var/runtime/bootstrap"]' \
  - "$image" >/dev/null
mkdir -p "$cache_dir"
docker save --output "$cache" "$image"
echo "$wanted" >"$cache.stamp"
echo "==> built $image ($(du -h "$cache" | cut -f1) cached in $cache)"
