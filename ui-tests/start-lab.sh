#!/usr/bin/env bash
# A real JupyterLab (or, with `notebook` as the second argument, Notebook 7) for the browser tests:
# no token, app exposed for the tests, its own settings, workspaces and a scratch copy of
# examples/ and ui-tests/notebooks/ as the root.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
port=${1:-8899}
app=${2:-lab}
# Outside Playwright's outputDir, which it empties at the start of a run.
state="$repo/ui-tests/.lab-scratch/$port"
scratch="$state/root"
rm -rf "$state"
mkdir -p "$scratch" "$state/settings" "$state/workspaces"
cp "$repo"/examples/*.ipynb "$repo"/ui-tests/notebooks/*.ipynb "$scratch"/
# Dismiss the "news" question so no toast covers the widget.
mkdir -p "$state/settings/@jupyterlab/apputils-extension"
echo '{"fetchNews": "false"}' > "$state/settings/@jupyterlab/apputils-extension/notification.jupyterlab-settings"
export JUPYTERLAB_SETTINGS_DIR="$state/settings"
export JUPYTERLAB_WORKSPACES_DIR="$state/workspaces"
if [ "$app" = notebook ]; then
  app_args=(--JupyterNotebookApp.expose_app_in_browser=True)
else
  app_args=(
    --LabApp.expose_app_in_browser=True
    --LabApp.news_url=None
    --LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate
  )
fi
exec "$repo/.venv/bin/jupyter" "$app" \
  --no-browser \
  --allow-root \
  --ip=127.0.0.1 \
  --port="$port" \
  --IdentityProvider.token='' \
  --ServerApp.password='' \
  --ServerApp.disable_check_xsrf=True \
  --ServerApp.root_dir="$scratch" \
  --LabServerApp.extra_labextensions_path=[] \
  "${app_args[@]}" \
  >"$state/jupyter-$app.log" 2>&1
