#!/usr/bin/env bash
# The frontend: install its npm packages when the lock file changed, build when the
# sources are newer than the build, then serve it with `next start`.
#   scripts/frontend.sh build   install + build only
#   scripts/frontend.sh [start] install + build, then serve on ${WX_FRONTEND_PORT:-3000}
# The server proxies /api to ${WX_API_URL:-http://$WX_API_HOST:$WX_API_PORT}.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT/frontend"
log() { printf '\033[1;34m[frontend]\033[0m %s\n' "$*" >&2; }
export NEXT_TELEMETRY_DISABLED=1

install() {
  local stamp="node_modules/.wx-lock-$(sha1sum package-lock.json | cut -c1-12)"
  if [ ! -f "$stamp" ]; then
    log "npm ci"
    npm ci --no-audit --no-fund --loglevel=error
    rm -f node_modules/.wx-lock-*; touch "$stamp"
  fi
}

build() {
  if [ -f .next/BUILD_ID ] && [ -z "$(find src next.config.ts tsconfig.json package-lock.json -newer .next/BUILD_ID -print -quit)" ]; then
    return
  fi
  log "next build"
  npx next build >"$ROOT/frontend/.next-build.log" 2>&1 || { cat "$ROOT/frontend/.next-build.log" >&2; exit 1; }
}

install
build
[ "${1:-start}" = "build" ] && exit 0

export WX_API_URL="${WX_API_URL:-http://${WX_API_HOST:-127.0.0.1}:${WX_API_PORT:-8000}}"
exec npx next start -p "${WX_FRONTEND_PORT:-3000}" -H "${WX_FRONTEND_HOST:-127.0.0.1}"
