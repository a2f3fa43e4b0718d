#!/usr/bin/env bash
# Sets up everything (scripts/setup.sh), then starts JupyterLab on the quickstart example.
# Extra arguments go to `jupyter lab` (for example --no-browser --port 8890).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Jupyter refuses to run as root unless told; machines like CI's and this project's run as root.
as_root=()
[ "$(id -u)" = 0 ] && as_root=(--allow-root)
exec .venv/bin/jupyter lab "${as_root[@]}" \
  --ServerApp.root_dir="$PWD/examples" \
  --LabApp.default_url=/lab/tree/quickstart.ipynb \
  "$@"
