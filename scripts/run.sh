#!/usr/bin/env bash
# The run command: installs what is missing, then starts the whole stack on embedded
# defaults (Redis, SecantusDB, Celery workers, API, frontend, the Anthropic API
# simulator unless Claude credentials are configured) and prints the URLs and a token.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/bootstrap.sh
bash scripts/frontend.sh build
exec "$ROOT/.venv/bin/wxrunner" stack up "$@"
