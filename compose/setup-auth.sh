#!/usr/bin/env bash
# Gives the runner's tenant containers Claude credentials (DESIGN §5). See --help.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ENV_FILE="$HERE/.env.claude"
SHARED_ENV_FILE="$HERE/.env"
VOLUME="claude-credentials"
IMAGE="${WX_TENANT_IMAGE:-}"
MODE="login"
PASTE=0
CREDENTIALS_IN_WORKER="/run/claude-credentials/.credentials.json"
HOME_IN_IMAGE="/home/wx"

usage() {
  cat <<EOF
Usage: $(basename "$0") [login|token] [options]

Gives the runner's tenant containers Claude credentials, one of two ways:

  login   (default) Runs \`claude auth login\` in a throwaway container of the tenant
          image. The OAuth credentials (.credentials.json) land in the Docker volume
          '$VOLUME', which the workers mount read-only; the env file gets
          WX_CLAUDE_CREDENTIALS_FILE=$CREDENTIALS_IN_WORKER.
  token   Runs \`claude setup-token\` in a throwaway container (it prints a long-lived
          sk-ant-oat01-… token), then asks for that token and writes it to the env file
          as WX_CLAUDE_OAUTH_TOKEN (the preferred way: nothing to refresh).

Options:
  --image IMAGE     tenant image (default: \$WX_TENANT_IMAGE, then compose/.env, then
                    wx-tenant:2.1.332-git-egress)
  --volume NAME     credentials volume for 'login' (default: $VOLUME)
  --env-file PATH   env file to update (default: compose/.env.claude, made from
                    .env.claude.example; only the workers read it, never the api)
  --paste           'token' only: skip the container, just read the token (from the
                    terminal, or from stdin when it is not a terminal)
  -h, --help        show this help

Both flows need a browser on any machine to approve the sign-in. Then recreate the
workers so they read the env file again (\`restart\` would not):
  docker-compose -f compose/docker-compose.yml up -d worker-chat worker-conversions
EOF
}

die() {
  printf 'setup-auth: %s\n' "$*" >&2
  exit 1
}

parse_args() {
  while [ $# -gt 0 ]; do
    case "$1" in
      login | token) MODE="$1" ;;
      --image) IMAGE="${2:?--image needs a value}"; shift ;;
      --volume) VOLUME="${2:?--volume needs a value}"; shift ;;
      --env-file) ENV_FILE="${2:?--env-file needs a value}"; shift ;;
      --paste) PASTE=1 ;;
      -h | --help) usage; exit 0 ;;
      *) usage >&2; exit 2 ;;
    esac
    shift
  done
}

shared_env_value() {
  [ -f "$SHARED_ENV_FILE" ] || return 0
  sed -n "s/^$1=//p" "$SHARED_ENV_FILE" | tail -n 1
}

ensure_env_file() {
  [ -f "$ENV_FILE" ] && return 0
  cp "$HERE/.env.claude.example" "$ENV_FILE"
  chmod 600 "$ENV_FILE"
  printf 'setup-auth: created %s from .env.claude.example\n' "$ENV_FILE" >&2
}

# Sets NAME=VALUE (replacing an active line) and comments out the OTHER credential lines.
set_credential() {
  local name="$1" value="$2" tmp
  ensure_env_file
  tmp="$(mktemp "$ENV_FILE.XXXXXX")"
  chmod 600 "$tmp"
  sed -E -e "/^$name=/d" \
    -e 's/^(WX_CLAUDE_OAUTH_TOKEN|WX_CLAUDE_CREDENTIALS_FILE|WX_ANTHROPIC_API_KEY)=/# \1=/' \
    "$ENV_FILE" >"$tmp"
  printf '%s=%s\n' "$name" "$value" >>"$tmp"
  mv "$tmp" "$ENV_FILE"
  printf 'setup-auth: %s set in %s\n' "$name" "$ENV_FILE" >&2
}

resolve_image() {
  [ -n "$IMAGE" ] || IMAGE="$(shared_env_value WX_TENANT_IMAGE)"
  [ -n "$IMAGE" ] || IMAGE="wx-tenant:2.1.332-git-egress"
  docker image inspect "$IMAGE" >/dev/null 2>&1 || die "image $IMAGE is missing; build it:
  docker-compose -f $HERE/docker-compose.yml --profile build build tenant-image"
}

login_flow() {
  resolve_image
  docker volume create "$VOLUME" >/dev/null
  # A fresh volume is root-owned on some engines: hand it to uid 1000 (wx) first.
  docker run --rm --user 0:0 --network none -v "$VOLUME:/mnt" "$IMAGE" \
    sh -c 'chown 1000:1000 /mnt && chmod 700 /mnt'
  docker run -it --rm --user 1000:1000 -e "HOME=$HOME_IN_IMAGE" \
    -v "$VOLUME:$HOME_IN_IMAGE/.claude" "$IMAGE" claude auth login
  docker run --rm --user 1000:1000 --network none -v "$VOLUME:/mnt:ro" "$IMAGE" \
    sh -c 'test -s /mnt/.credentials.json' \
    || die "no .credentials.json in volume $VOLUME: the login did not finish"
  set_credential WX_CLAUDE_CREDENTIALS_FILE "$CREDENTIALS_IN_WORKER"
}

read_token() {
  local token
  if [ -t 0 ]; then
    read -r -s -p "Paste the token (sk-ant-oat01-…): " token
    printf '\n' >&2
  else
    read -r token || true
  fi
  token="$(printf '%s' "$token" | tr -d '[:space:]')"
  [[ "$token" =~ ^sk-ant-[A-Za-z0-9_-]+$ ]] || die "that does not look like a Claude token"
  printf '%s' "$token"
}

token_flow() {
  local token
  if [ "$PASTE" -eq 0 ]; then
    resolve_image
    docker run -it --rm --user 1000:1000 -e "HOME=$HOME_IN_IMAGE" "$IMAGE" claude setup-token
  fi
  token="$(read_token)"
  set_credential WX_CLAUDE_OAUTH_TOKEN "$token"
}

main() {
  parse_args "$@"
  command -v docker >/dev/null || [ "$MODE$PASTE" = "token1" ] || die "docker is not installed"
  case "$MODE" in
    login) login_flow ;;
    token) token_flow ;;
  esac
}

main "$@"
