#!/usr/bin/env bash
# A real Jupyter Notebook 7 for the browser tests (notebook7.spec.ts starts and stops it): no token,
# app exposed for the tests, its own settings and a scratch copy of the test notebooks as the root.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
port=${1:-8962}
# Outside Playwright's outputDir, which it empties at the start of a run.
state="$repo/ui-tests/.lab-scratch/$port"
scratch="$state/root"
rm -rf "$state"
mkdir -p "$scratch" "$state/settings" "$state/workspaces"
cp "$repo"/ui-tests/notebooks/*.ipynb "$scratch"/
# Dismiss the "news" question so no toast covers the widget.
mkdir -p "$state/settings/@jupyterlab/apputils-extension"
echo '{"fetchNews": "false"}' > "$state/settings/@jupyterlab/apputils-extension/notification.jupyterlab-settings"
export JUPYTERLAB_SETTINGS_DIR="$state/settings"
export JUPYTERLAB_WORKSPACES_DIR="$state/workspaces"
exec "$repo/.venv/bin/jupyter" notebook \
  --no-browser \
  --allow-root \
  --ip=127.0.0.1 \
  --port="$port" \
  --IdentityProvider.token='' \
  --ServerApp.password='' \
  --ServerApp.disable_check_xsrf=True \
  --ServerApp.root_dir="$scratch" \
  --JupyterNotebookApp.expose_app_in_browser=True \
  --LabServerApp.extra_labextensions_path=[] \
  >"$state/jupyter-notebook.log" 2>&1
