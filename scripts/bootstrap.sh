#!/usr/bin/env bash
# Installs what is missing and starts what is not running, idempotently:
# apt packages, the Python venv, Claude Code from npm, dockerd, Redis, the tenant image.
# Sourced by scripts/run.sh and scripts/test.sh; safe to run on its own.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
log() { printf '\033[1;34m[bootstrap]\033[0m %s\n' "$*" >&2; }

# --- apt packages -------------------------------------------------------------
need_pkgs=()
command -v redis-server >/dev/null || need_pkgs+=(redis-server)
command -v dockerd >/dev/null || need_pkgs+=(docker.io)
command -v docker-compose >/dev/null || need_pkgs+=(docker-compose)
command -v shellcheck >/dev/null || need_pkgs+=(shellcheck)
[ -x /usr/bin/chromium ] || need_pkgs+=(chromium)
[ -x /bin/busybox ] && file -L /bin/busybox 2>/dev/null | grep -q static || need_pkgs+=(busybox-static)
command -v file >/dev/null || need_pkgs+=(file)
[ -x /usr/bin/git ] || need_pkgs+=(git)  # copied into the offline tenant image
[ -x /usr/bin/socat ] || need_pkgs+=(socat)  # the egress forwarder of the offline tenant image
command -v node >/dev/null || need_pkgs+=(nodejs npm)
command -v curl >/dev/null || need_pkgs+=(curl)
python3 -c 'import venv, ensurepip' 2>/dev/null || need_pkgs+=(python3-venv)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  log "installing ${need_pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi

# --- Python venv --------------------------------------------------------------
VENV="$ROOT/.venv"
stamp="$VENV/.installed-$(sha1sum pyproject.toml | cut -c1-12)"
if [ ! -f "$stamp" ]; then
  log "installing the Python package and its dependencies into .venv"
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip >/dev/null
  "$VENV/bin/pip" install -q -e ".[dev]"
  rm -f "$VENV"/.installed-*; touch "$stamp"
fi
export PATH="$VENV/bin:$PATH"

# --- Claude Code (pinned in package.json) ------------------------------------
if [ ! -x node_modules/.bin/claude ] || ! node_modules/.bin/claude --version >/dev/null 2>&1; then
  log "installing Claude Code from npm"
  if [ -f package-lock.json ]; then npm ci --no-audit --no-fund >/dev/null; else npm install --no-audit --no-fund >/dev/null; fi
fi

# --- Redis --------------------------------------------------------------------
redis_url="${WX_REDIS_URL:-redis://127.0.0.1:6379/0}"
if ! redis-cli -u "$redis_url" ping >/dev/null 2>&1; then
  log "starting redis-server on 127.0.0.1:6379"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/wx.log
  for _ in $(seq 50); do redis-cli ping >/dev/null 2>&1 && break; sleep 0.1; done
fi

# --- dockerd --------------------------------------------------------------------
if ! docker info >/dev/null 2>&1; then
  log "starting dockerd (--iptables=false --bridge=none)"
  mkdir -p /var/log
  nohup dockerd --iptables=false --bridge=none >/var/log/wx-dockerd.log 2>&1 &
  for _ in $(seq 100); do docker info >/dev/null 2>&1 && break; sleep 0.2; done
  docker info >/dev/null 2>&1 || { log "dockerd did not start; see /var/log/wx-dockerd.log"; exit 1; }
fi

# --- the tenant image (built offline) ------------------------------------------
"$VENV/bin/wxrunner" image build --if-missing
