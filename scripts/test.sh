#!/usr/bin/env bash
# The test command: installs what is missing, starts dockerd and Redis, then runs every
# test: the frontend's vitest suite, the browser end-to-end tests (Playwright + Debian's
# chromium, in their own pytest process: Playwright's sync API holds the event loop),
# then the Python unit and integration tests against the real parts.
# Arguments, if any, go to one pytest run instead (e.g. scripts/test.sh tests/unit -x).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/bootstrap.sh
export PATH="$ROOT/.venv/bin:$PATH"
bash scripts/frontend.sh build

run_pytest() {
  local rc=0
  pytest "$@" || rc=$?
  if [ "$rc" -eq 5 ]; then
    echo "pytest collected no tests ($*): failing on purpose" >&2
    exit 1
  fi
  [ "$rc" -eq 0 ] || exit "$rc"
}

if [ "$#" -gt 0 ]; then
  run_pytest "$@"
  exit 0
fi
lint-imports    # the layers of README "Architecture"
ruff check .
(cd frontend && npx vitest run)
run_pytest tests/e2e
run_pytest
