#!/usr/bin/env bash
# The test command: installs what is missing, starts dockerd and Redis, then runs every
# test (Python unit + integration + browser e2e, then the frontend's vitest suite).
# Extra arguments go to pytest (e.g. scripts/test.sh tests/unit -x).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/bootstrap.sh
export PATH="$ROOT/.venv/bin:$PATH"
bash scripts/frontend.sh build

set +e
pytest "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests: failing on purpose" >&2
  exit 1
fi
[ "$rc" -eq 0 ] || exit "$rc"

if [ "$#" -eq 0 ]; then
  (cd frontend && npx vitest run)
fi
