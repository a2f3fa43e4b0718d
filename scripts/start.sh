#!/usr/bin/env bash
# Sets up everything (scripts/setup.sh), then starts JupyterLab on the quickstart example.
# Extra arguments go to `jupyter lab` (for example --no-browser --port 8890).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/jupyter lab examples/quickstart.ipynb "$@"
