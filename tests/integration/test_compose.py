"""Production packaging: compose/docker-compose.yml, the Dockerfiles, .env.example,
setup-auth.sh.

No image can be built here: no container registry is reachable, so `python:3.11-slim`,
`node:22-slim`, `redis:7` and `mongo:7` cannot be pulled. What can be checked is checked
for real instead: `docker-compose config` (Debian's docker-compose) validates the file
against a .env made from .env.example; a small parser checks the Dockerfiles; the wheel
that the builder stage installs is built with pip and holds the entrypoint modules; the
entrypoint programs run from the venv; setup-auth.sh passes `bash -n`, shellcheck and
its own `--help`, and writes a token into an env file.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.settings import Settings
from tests.helpers import REPO_ROOT, VENV_BIN, OwnedProcess, free_port, port_open, wait_until

COMPOSE_DIR = REPO_ROOT / "compose"
COMPOSE_FILE = COMPOSE_DIR / "docker-compose.yml"
ENV_EXAMPLE = COMPOSE_DIR / ".env.example"
ENV_CLAUDE_EXAMPLE = COMPOSE_DIR / ".env.claude.example"  # the workers' env file only
ENV_EXAMPLES = [ENV_EXAMPLE, ENV_CLAUDE_EXAMPLE]
SETUP_AUTH = COMPOSE_DIR / "setup-auth.sh"
DOCKERFILES = [
    COMPOSE_DIR / "Dockerfile",
    REPO_ROOT / "frontend" / "Dockerfile",
    COMPOSE_DIR / "tenant" / "Dockerfile",
]
RUNNER_SERVICES = ["api", "worker-chat", "worker-conversions", "egress"]
WORKERS = {"worker-chat": "chat", "worker-conversions": "conversions"}
BUILD_ONLY = {"tenant-image"}
# The service passwords of .env.example (REDIS_PASSWORD, MONGO_PASSWORD).
PLACEHOLDER = "replace-with-the-output-of-openssl-rand-hex-32"
# Variables of .env.example that are not Settings fields, and who reads them.
NOT_SETTINGS = {"WX_PUBLIC_WS_URL", "WX_RUNNER_VERSION"}  # the frontend; docker-compose
INSTRUCTIONS = {
    "FROM", "RUN", "CMD", "LABEL", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT", "VOLUME",
    "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL",
}  # fmt: skip


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: run scripts/bootstrap.sh")
    return path


def run(argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, **kwargs)


# --- docker-compose.yml -----------------------------------------------------------


@pytest.fixture(scope="module")
def compose_config(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """`docker-compose config` of the file, in a mirror of the repo with .env from the example.

    The mirror keeps the real relative layout (build contexts `..` and `./tenant`) without
    writing a .env into the repository.
    """
    root = tmp_path_factory.mktemp("repo")
    compose = root / "compose"
    compose.mkdir()
    shutil.copy(COMPOSE_FILE, compose / "docker-compose.yml")
    shutil.copy(ENV_EXAMPLE, compose / ".env")
    shutil.copy(ENV_CLAUDE_EXAMPLE, compose / ".env.claude")
    (compose / "tenant").symlink_to(COMPOSE_DIR / "tenant")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("WX_", "DOCKER_", "REDIS_", "MONGO_"))}
    result = run(
        [tool("docker-compose"), "-f", str(compose / "docker-compose.yml"), "config"], env=env
    )
    assert result.returncode == 0, result.stderr
    config: dict[str, Any] = yaml.safe_load(result.stdout)
    config["_root"] = str(root)
    return config


def services(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return config["services"]  # type: ignore[no-any-return]


def test_compose_has_the_services(compose_config: dict[str, Any]) -> None:
    expected = {*RUNNER_SERVICES, "redis", "mongo", "frontend", "tenant-image"}
    assert set(services(compose_config)) == expected


def test_every_service_has_a_healthcheck_and_restart_policy(
    compose_config: dict[str, Any],
) -> None:
    for name, service in services(compose_config).items():
        assert service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
        wanted = "no" if name in BUILD_ONLY else "unless-stopped"
        assert service.get("restart") == wanted, name


def test_build_only_service_stays_out_of_up(compose_config: dict[str, Any]) -> None:
    for name in BUILD_ONLY:
        assert services(compose_config)[name]["profiles"] == ["build"]


def test_healthchecks_probe_what_the_brief_names(compose_config: dict[str, Any]) -> None:
    tests = {n: " ".join(s["healthcheck"]["test"]) for n, s in services(compose_config).items()}
    assert "/healthz" in tests["api"]
    assert "redis-cli ping" in tests["redis"]
    assert "mongosh" in tests["mongo"] and "db.adminCommand('ping')" in tests["mongo"]
    for worker, queue in WORKERS.items():
        assert f"celery -A tasks inspect ping -d {queue}@$$HOSTNAME" in tests[worker]


def test_runner_services(compose_config: dict[str, Any]) -> None:
    api = services(compose_config)["api"]
    assert api["command"][:2] == ["wxrunner", "api"]
    for name in RUNNER_SERVICES:
        service = services(compose_config)[name]
        assert service["build"]["dockerfile"] == "compose/Dockerfile"
        assert service["build"]["context"] == compose_config["_root"]  # the repository root
        # The URLs carry the passwords of compose/.env (here: .env.example's placeholders).
        assert service["environment"]["WX_REDIS_URL"] == f"redis://:{PLACEHOLDER}@redis:6379/0"
        assert service["environment"]["WX_MONGO_URL"] == (
            f"mongodb://wxrunner:{PLACEHOLDER}@mongo:27017/?authSource=admin")
        # env_file is resolved into the environment: a setting only .env.example sets.
        assert service["environment"]["WX_LIMIT_RETRY_AFTER_S"] == "10"


def test_workers(compose_config: dict[str, Any]) -> None:
    for name, queue in WORKERS.items():
        worker = services(compose_config)[name]
        assert " ".join(worker["command"]).startswith(f"celery -A tasks worker -Q {queue} -E")
        assert "/var/run/docker.sock:/var/run/docker.sock:rw" in worker["volumes"]
        assert "claude-credentials:/run/claude-credentials:ro" in worker["volumes"]
        assert worker["environment"]["WX_EXECUTOR"] == "docker"
        assert worker["environment"]["WX_TENANT_IMAGE"] == "wx-tenant:2.1.332-git-egress"
        # Tenant containers: no network; the egress proxy's socket volume is their exit.
        assert worker["environment"]["WX_CONTAINER_NETWORK"] == "none"
        assert worker["environment"]["WX_EGRESS_VOLUME"] == "wx-egress"
        assert worker["environment"]["WX_EGRESS_DIR"] == "/run/wx-egress"
        assert "egress-socket:/run/wx-egress:ro" in worker["volumes"]
        assert worker["depends_on"]["egress"]["condition"] == "service_healthy"
        assert worker["group_add"] == ["999"]  # DOCKER_GID of .env.example
        assert worker["environment"]["WX_WORKER_HOST"] == "wx-host-1"
        # Both env files: the shared .env and the Claude settings of .env.claude.
        assert worker["environment"]["WX_CLAUDE_MAX_RETRIES"] == "2"
        assert worker["environment"]["WX_LIMIT_RETRY_AFTER_S"] == "10"


def test_api_gets_no_docker_socket_and_no_claude_credentials(
    compose_config: dict[str, Any],
) -> None:
    api = services(compose_config)["api"]
    assert not any("docker.sock" in v for v in api.get("volumes", []))
    assert not any("claude-credentials" in v for v in api.get("volumes", []))
    assert "group_add" not in api
    leaked = [k for k in api["environment"] if k.startswith(("WX_CLAUDE_", "WX_ANTHROPIC_"))]
    assert leaked == []
    raw = yaml.safe_load(COMPOSE_FILE.read_text())
    assert ".env.claude" not in str(raw["services"]["api"].get("env_file", ".env"))


def test_api_stays_clean_with_credentials_set(tmp_path: Path) -> None:
    """With a token and an API key in .env.claude, only the workers see them."""
    compose = tmp_path / "compose"
    compose.mkdir()
    shutil.copy(COMPOSE_FILE, compose / "docker-compose.yml")
    shutil.copy(ENV_EXAMPLE, compose / ".env")
    claude = ENV_CLAUDE_EXAMPLE.read_text()
    claude += "WX_CLAUDE_OAUTH_TOKEN=sk-ant-oat01-x\nWX_ANTHROPIC_API_KEY=sk-ant-api03-y\n"
    (compose / ".env.claude").write_text(claude)
    (compose / "tenant").symlink_to(COMPOSE_DIR / "tenant")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WX_", "DOCKER_"))}
    result = run([tool("docker-compose"), "-f", str(compose / "docker-compose.yml"), "config"],
                 env=env)
    assert result.returncode == 0, result.stderr
    svc = yaml.safe_load(result.stdout)["services"]
    for name in WORKERS:
        assert svc[name]["environment"]["WX_CLAUDE_OAUTH_TOKEN"] == "sk-ant-oat01-x"
    assert "sk-ant" not in json.dumps(svc["api"]) + json.dumps(svc["frontend"])


def test_redis_and_mongo_require_the_passwords_of_env(compose_config: dict[str, Any]) -> None:
    svc = services(compose_config)
    assert svc["redis"]["environment"]["REDISCLI_AUTH"] == PLACEHOLDER
    # `docker-compose config` keeps `$$` escaped: the container's shell sees `$REDISCLI_AUTH`.
    assert '--requirepass "$$REDISCLI_AUTH"' in " ".join(svc["redis"]["command"])
    assert "--appendonly yes" in " ".join(svc["redis"]["command"])
    assert svc["mongo"]["environment"] == {"MONGO_INITDB_ROOT_USERNAME": "wxrunner",
                                           "MONGO_INITDB_ROOT_PASSWORD": PLACEHOLDER}
    # Nothing but the runners' URLs and the two data services hold the passwords.
    for name in ("frontend", "tenant-image"):
        assert PLACEHOLDER not in json.dumps(svc[name]), name


def test_redis_command_and_healthcheck_run_for_real(
    compose_config: dict[str, Any], tmp_path: Path,
) -> None:
    """The redis service's command and healthcheck, run by this machine's redis-server."""
    redis_svc = services(compose_config)["redis"]
    shell, flag, script = (part.replace("$$", "$") for part in redis_svc["command"])
    port = free_port()
    env = {"PATH": os.environ["PATH"], "REDISCLI_AUTH": "s3cret-hex"}
    argv = [shell, flag, f"{script} --port {port} --bind 127.0.0.1 --dir {tmp_path}"]
    proc = OwnedProcess(argv, env=env, log=tmp_path / "redis.log")
    try:
        wait_until(lambda: port_open(port), what="compose's redis command")
        health = redis_svc["healthcheck"]["test"][1].replace("$$", "$")
        check = f"{health.replace('redis-cli', f'redis-cli -p {port}')}"
        assert run(["sh", "-c", check], env=env).returncode == 0
        no_password = {"PATH": os.environ["PATH"]}
        assert run(["sh", "-c", check], env=no_password).returncode != 0
        refused = run(["redis-cli", "-p", str(port), "get", "x"], env=no_password)
        assert "NOAUTH" in refused.stdout + refused.stderr
    finally:
        proc.stop()


@pytest.mark.parametrize("missing", ["REDIS_PASSWORD", "MONGO_USER", "MONGO_PASSWORD"])
def test_compose_refuses_to_run_without_a_service_password(tmp_path: Path, missing: str) -> None:
    compose = tmp_path / "compose"
    compose.mkdir()
    shutil.copy(COMPOSE_FILE, compose / "docker-compose.yml")
    env_text = re.sub(rf"^{missing}=.*$", f"{missing}=", ENV_EXAMPLE.read_text(),
                      flags=re.MULTILINE)
    (compose / ".env").write_text(env_text)
    shutil.copy(ENV_CLAUDE_EXAMPLE, compose / ".env.claude")
    (compose / "tenant").symlink_to(COMPOSE_DIR / "tenant")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("WX_", "DOCKER_", "REDIS_", "MONGO_"))}
    result = run([tool("docker-compose"), "-f", str(compose / "docker-compose.yml"), "config"],
                 env=env)
    assert result.returncode != 0
    assert f"set {missing} in compose/.env" in result.stderr


def test_data_services_and_networks(compose_config: dict[str, Any]) -> None:
    svc = services(compose_config)
    assert svc["redis"]["image"] == "redis:7"
    assert svc["mongo"]["image"] == "mongo:7"
    assert "mongo-data:/data/db:rw" in svc["mongo"]["volumes"]
    assert "mongo-data" in compose_config["volumes"]
    assert svc["frontend"]["build"]["dockerfile"] == "frontend/Dockerfile"
    assert compose_config["networks"]["wx"]["name"] == "wx-net"
    for name, service in svc.items():
        if name not in BUILD_ONLY | {"egress"}:
            assert "wx" in service["networks"], f"{name} is not on the user-defined network"
    # The egress proxy goes out to the model API, and reaches none of the stack's services.
    assert list(svc["egress"]["networks"]) == ["egress"]
    assert compose_config["volumes"]["egress-socket"]["name"] == "wx-egress"


def test_egress_proxy_service(compose_config: dict[str, Any]) -> None:
    egress = services(compose_config)["egress"]
    assert egress["command"] == ["wxrunner", "egress"]
    assert egress["environment"]["WX_EGRESS_DIR"] == "/run/wx-egress"
    assert "egress-socket:/run/wx-egress:rw" in egress["volumes"]
    assert not any("docker.sock" in v for v in egress["volumes"])


def test_frontend_gets_no_runner_secrets(compose_config: dict[str, Any]) -> None:
    environment = services(compose_config)["frontend"]["environment"]
    assert environment["WX_API_URL"] == "http://api:8000"
    assert not any("SECRET" in k or "TOKEN" in k or "KEY" in k for k in environment)


def test_build_contexts_exist_in_the_repo() -> None:
    raw = yaml.safe_load(COMPOSE_FILE.read_text())
    for name, service in raw["services"].items():
        build = service.get("build")
        if build:
            context = (COMPOSE_DIR / build["context"]).resolve()
            dockerfile = context / build.get("dockerfile", "Dockerfile")
            assert dockerfile.is_file(), f"{name}: {dockerfile} is missing"


def test_compose_variables_are_documented() -> None:
    used = set(re.findall(r"\$\{(\w+)", COMPOSE_FILE.read_text()))
    documented = set(env_example_names())
    assert used - documented == set()


# --- .env.example ---------------------------------------------------------------


def env_example_names(path: Path | None = None) -> list[str]:
    """Every NAME of `NAME=value` or `# NAME=value` lines (of both example files)."""
    paths = [path] if path else ENV_EXAMPLES
    return [name for p in paths
            for name in re.findall(r"^#? ?([A-Z][A-Z0-9_]*)=", p.read_text(), re.MULTILINE)]


def test_claude_settings_live_only_in_the_workers_env_file() -> None:
    shared = set(env_example_names(ENV_EXAMPLE))
    claude = set(env_example_names(ENV_CLAUDE_EXAMPLE))
    assert not {n for n in shared if n.startswith(("WX_CLAUDE_", "WX_ANTHROPIC_"))}
    assert {"WX_CLAUDE_OAUTH_TOKEN", "WX_CLAUDE_CREDENTIALS_FILE", "WX_ANTHROPIC_API_KEY"} <= claude
    assert shared.isdisjoint(claude)


def test_env_example_documents_every_setting() -> None:
    names = set(env_example_names())
    missing = {f"WX_{f.upper()}" for f in Settings.model_fields} - names
    assert missing == set(), f"add these settings to compose/.env.example: {sorted(missing)}"


def test_env_example_names_only_real_settings() -> None:
    fields = {f"WX_{f.upper()}" for f in Settings.model_fields}
    unknown = {n for n in env_example_names() if n.startswith("WX_")} - fields - NOT_SETTINGS
    assert unknown == set()


@pytest.mark.parametrize("path", ENV_EXAMPLES, ids=lambda p: p.name)
def test_env_example_lines_are_commented_and_unique(path: Path) -> None:
    """Each setting, or group of adjacent settings, has a comment line right above it."""
    lines = path.read_text().splitlines()
    active = [line.split("=", 1)[0] for line in lines if re.match(r"^[A-Z]", line)]
    assert len(active) == len(set(active))
    is_setting = [bool(re.match(r"^#? ?[A-Z][A-Z0-9_]*=", line)) for line in lines]
    for index, line in enumerate(lines):
        if is_setting[index]:
            above = index - 1
            while above >= 0 and is_setting[above]:
                above -= 1
            assert above >= 0 and lines[above].startswith("#"), f"{line!r} has no comment"


def test_env_example_loads_into_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("WX_"):
            monkeypatch.delenv(name)
    settings = Settings(_env_file=ENV_EXAMPLES)  # type: ignore[call-arg]
    assert settings.env == "prod"
    assert settings.executor == "docker"
    assert settings.cors_origins == ["https://wxcode.example.com"]
    assert settings.guardrail_extra_patterns == []
    assert settings.claude_credentials_file is None  # credentials are left to the operator
    assert settings.claude_max_retries == 2  # read from .env.claude.example
    assert settings.worker_host == "wx-host-1"


# --- Dockerfiles ------------------------------------------------------------------


def parse_dockerfile(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs: continuations joined, comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue  # a comment inside a continued instruction
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, args = (pending + line).partition(" ")
        instructions.append((keyword.upper(), args.strip()))
        pending = ""
    assert not pending, f"{path}: dangling line continuation"
    return instructions


def stages(instructions: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    result: list[list[tuple[str, str]]] = []
    for keyword, args in instructions:
        if keyword == "FROM":
            result.append([])
        result[-1].append((keyword, args))
    return result


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_dockerfile_parses(path: Path) -> None:
    instructions = parse_dockerfile(path)
    assert instructions[0][0] == "FROM", "FROM must come first"
    assert {k for k, _ in instructions} <= INSTRUCTIONS
    for keyword, args in instructions:
        if keyword in {"CMD", "ENTRYPOINT"} and args.startswith("["):
            assert isinstance(json.loads(args), list), f"{keyword} exec form is not JSON"


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_final_stage_runs_as_non_root(path: Path) -> None:
    final = stages(parse_dockerfile(path))[-1]
    users = [args.split(":")[0] for keyword, args in final if keyword == "USER"]
    assert users, "the final stage sets no USER"
    assert users[-1] not in {"root", "0"}


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_copy_from_names_an_earlier_stage(path: Path) -> None:
    seen: set[str] = set()
    for stage in stages(parse_dockerfile(path)):
        for keyword, args in stage:
            source = re.search(r"--from=(\S+)", args)
            if keyword == "COPY" and source:
                assert source.group(1) in seen, f"COPY --from={source.group(1)} before its stage"
        name = re.search(r"\bAS\s+(\S+)", stage[0][1], re.IGNORECASE)
        if name:
            seen.add(name.group(1))


def test_runner_image_is_multi_stage_from_python_slim() -> None:
    parts = stages(parse_dockerfile(COMPOSE_DIR / "Dockerfile"))
    assert len(parts) >= 2
    assert all(stage[0][1].startswith("python:3.11-slim") for stage in parts)
    cmd = json.loads(dict(parts[-1])["CMD"])
    assert cmd[:2] == ["wxrunner", "api"]


def test_frontend_image_runs_the_standalone_server() -> None:
    parts = stages(parse_dockerfile(REPO_ROOT / "frontend" / "Dockerfile"))
    assert all(stage[0][1].startswith("node:22-slim") for stage in parts)
    text = (REPO_ROOT / "frontend" / "Dockerfile").read_text()
    assert "npm ci" in text and "npm run build" in text
    # next.config.ts emits .next/standalone/server.js only with this set at build time
    assert "WX_NEXT_STANDALONE=1" in text
    assert json.loads(dict(parts[-1])["CMD"]) == ["node", "server.js"]


def test_dockerignore_keeps_the_context_small() -> None:
    ignored = (REPO_ROOT / ".dockerignore").read_text().splitlines()
    for entry in [".git", ".venv", "**/node_modules", "frontend/.next", "**/.env"]:
        assert entry in ignored


# --- what the builder stage installs ------------------------------------------------


def test_wheel_holds_the_entrypoint_modules(tmp_path: Path) -> None:
    """The builder stage's step, for real: a wheel of the repository (no deps)."""
    result = run(
        [str(VENV_BIN / "pip"), "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(REPO_ROOT)]
    )
    assert result.returncode == 0, result.stderr
    (wheel,) = tmp_path.glob("wxcode_runner-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for module in ["app/main.py", "app/guardrail/__init__.py", "app/guardrail/model.npz",
                   "tasks/__init__.py", "workers/__init__.py"]:
        assert module in names


def test_entrypoint_programs_run_from_the_venv() -> None:
    for argv in (["uvicorn", "--help"], ["celery", "--help"]):
        result = run([str(VENV_BIN / argv[0]), *argv[1:]], cwd=REPO_ROOT)
        assert result.returncode == 0, result.stderr
    result = run([str(VENV_BIN / "celery"), "-A", "tasks", "inspect", "--help"], cwd=REPO_ROOT)
    assert result.returncode == 0, result.stderr


# --- setup-auth.sh ----------------------------------------------------------------


def test_setup_auth_is_valid_bash_and_shellcheck_clean() -> None:
    assert os.access(SETUP_AUTH, os.X_OK)
    assert run(["bash", "-n", str(SETUP_AUTH)]).returncode == 0
    result = run([tool("shellcheck"), str(SETUP_AUTH)])
    assert result.returncode == 0, result.stdout


def test_setup_auth_help() -> None:
    result = run([str(SETUP_AUTH), "--help"])
    assert result.returncode == 0
    for words in ["claude auth login", "claude setup-token", "WX_CLAUDE_OAUTH_TOKEN",
                  "claude-credentials", "WX_CLAUDE_CREDENTIALS_FILE"]:  # fmt: skip
        assert words in result.stdout
    assert run([str(SETUP_AUTH), "--no-such-option"]).returncode == 2


def test_setup_auth_writes_a_pasted_token(tmp_path: Path) -> None:
    env_file = tmp_path / "env"
    token = "sk-ant-oat01-AbC_123-xyz"
    argv = [str(SETUP_AUTH), "token", "--paste", "--env-file", str(env_file)]
    result = run(argv, input=f"  {token}\n")
    assert result.returncode == 0, result.stderr
    text = env_file.read_text()
    assert f"\nWX_CLAUDE_OAUTH_TOKEN={token}\n" in text
    assert not re.search(r"^WX_CLAUDE_CREDENTIALS_FILE=", text, re.MULTILINE)
    assert oct(env_file.stat().st_mode & 0o777) == "0o600"
    assert token not in result.stdout + result.stderr  # never echoed
    again = run(argv, input="sk-ant-oat01-second\n")
    assert again.returncode == 0
    assert env_file.read_text().count("\nWX_CLAUDE_OAUTH_TOKEN=") == 1


def test_setup_auth_refuses_a_bad_token(tmp_path: Path) -> None:
    env_file = tmp_path / "env"
    argv = [str(SETUP_AUTH), "token", "--paste", "--env-file", str(env_file)]
    result = run(argv, input="not a token\n")
    assert result.returncode == 1
    assert "does not look like" in result.stderr
    assert not env_file.exists()
