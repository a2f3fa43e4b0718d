#!/usr/bin/env bash
# Sets up everything (scripts/setup.sh --browser) and runs every test: linters, TypeScript unit
# tests (vitest), Python tests (pytest, which also executes the example notebooks), and the browser
# tests (Playwright driving Debian's chromium against a real `jupyter lab` and a real kernel).
# Exits non-zero when anything fails; each runner prints its usual summary line.
set -uo pipefail
# Plain summary lines (no colour codes) for whoever reads the log.
export NO_COLOR=1 FORCE_COLOR=0
cd "$(dirname "$0")/.."

bash scripts/setup.sh --browser || { echo "setup failed" >&2; exit 1; }

failed=()
step() {
  local name=$1
  shift
  echo
  echo "==> $name"
  "$@" || failed+=("$name")
}

step "ruff" .venv/bin/ruff check intershap_widget tests
step "eslint + prettier" npm run --silent lint
step "tsc (strict)" npm run --silent typecheck
step "vitest" npx vitest run
step "pytest" .venv/bin/python -m pytest
step "playwright" npx playwright test -c ui-tests/playwright.config.ts

echo
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED: ${failed[*]}"
  exit 1
fi
echo "all test steps passed"
