#!/usr/bin/env bash
# Installs everything this project needs, from nothing but Python 3.11, Node 20, npm and apt:
# a virtual environment in .venv with the package (which builds the lab extension), its test and
# example dependencies, the npm packages, and — with --browser — Debian's chromium for browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."

want_browser=0
for arg in "$@"; do
  [ "$arg" = "--browser" ] && want_browser=1
done

if [ "$want_browser" = 1 ] && [ ! -x /usr/bin/chromium ]; then
  echo "==> installing Debian's chromium for the browser tests"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip

echo "==> npm packages"
npm ci --no-audit --no-fund --loglevel=error

# The CPU build of torch that lies on this machine's disk; a plain 'torch' would fetch a CUDA build.
if ! .venv/bin/python -c "import torch" 2>/dev/null; then
  echo "==> torch (CPU) for the examples"
  .venv/bin/python -m pip install --quiet "torch==2.13.0"
fi

# The test command (--browser) also installs the optional shap/shapiq extras and Dask
# (distributed), so their tests run in CI; `bash scripts/start.sh` stays lean.
extras="test,models"
[ "$want_browser" = 1 ] && extras="test,models,interop,distributed"
echo "==> the package itself (pip install . builds the prebuilt lab extension) with [$extras]"
.venv/bin/python -m pip install --quiet ".[$extras]"

.venv/bin/jupyter labextension list 2>&1 | grep -E "intershap-widget" || {
  echo "setup: the intershap-widget lab extension is not installed" >&2
  exit 1
}
