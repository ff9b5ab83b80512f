"""`wxrunner stack up`: the whole backend on this machine, started in dependency order.

Starts only what is not already running (Redis, SecantusDB: both with the passwords of
`<data_dir>/secrets.json`, made on the first run), then the simulator
(unless Claude credentials are configured), the egress proxy (tenant containers' only way
to the model API, with the Docker executor), the `chat` and `conversions` workers and
the API; prints the URLs and a development token. A service that stops is started again
(after 1 s, then up to 30 s between attempts while it keeps failing), the others go on.
On Ctrl-C it stops what it started, by pid, newest first. Logs go to `<data_dir>/logs/`."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

import typer

from app.cli.stack_data import (
    data_service_error,
    provision_mongo_user,
    secantus_argv,
    write_redis_config,
)
from app.service_secrets import (
    SECRETS_FILE,
    ServiceSecrets,
    ensure_service_secrets,
    load_service_secrets,
    mask_url,
)
from app.settings import Settings
from app.vocab import QueueName

VENV_BIN = Path(sys.executable).parent
_RESTART_MAX_S = 30.0


def register(cli: typer.Typer) -> None:
    stack = typer.Typer(no_args_is_help=True, help="run the whole stack locally")
    stack.command("up")(up)
    cli.add_typer(stack, name="stack")


@dataclass
class _Service:
    """One process of the stack, with what it takes to start it again."""

    name: str
    argv: list[str]
    env: dict[str, str]
    cwd: Path | None
    proc: subprocess.Popen[bytes]
    restarts: int = 0
    next_start: float = 0.0  # monotonic time of the next restart, once it has stopped


class _Stack:
    """Processes this command started, restarted when they stop, stopped newest first."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.services: list[_Service] = []

    def start(
        self, name: str, argv: list[str], env: dict[str, str], cwd: Path | None = None
    ) -> None:
        self.services.append(_Service(name, argv, env, cwd, self._spawn(name, argv, env, cwd)))
        typer.echo(f"  started {name} (pid {self.services[-1].proc.pid}, "
                   f"log {self.logs / (name + '.log')})")

    def _spawn(self, name: str, argv: list[str], env: dict[str, str],
               cwd: Path | None) -> subprocess.Popen[bytes]:
        log = (self.logs / f"{name}.log").open("ab")
        return subprocess.Popen(argv, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)

    def dead(self) -> list[str]:
        return [s.name for s in self.services if s.proc.poll() is not None]

    def supervise(self) -> None:
        """Start again each service that stopped (with a growing pause while it keeps failing)."""
        now = time.monotonic()
        for service in self.services:
            if service.proc.poll() is None:
                continue
            if service.next_start == 0.0:
                pause = min(_RESTART_MAX_S, 2.0 ** min(service.restarts, 5))
                service.next_start = now + pause
                typer.echo(f"{service.name} stopped (exit {service.proc.returncode}); "
                           f"starting it again in {pause:.0f} s", err=True)
            elif now >= service.next_start:
                service.restarts += 1
                service.next_start = 0.0
                service.proc = self._spawn(service.name, service.argv, service.env, service.cwd)
                typer.echo(f"  restarted {service.name} (pid {service.proc.pid})", err=True)

    def stop(self) -> None:
        for service in reversed(self.services):
            if service.proc.poll() is None:
                os.killpg(service.proc.pid, signal.SIGTERM)
        for service in reversed(self.services):
            try:
                service.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(service.proc.pid, signal.SIGKILL)
            typer.echo(f"  stopped {service.name}")


def up(
    frontend: bool = typer.Option(True, "--frontend/--no-frontend",
                                  help="also start the Next.js UI on WX_FRONTEND_PORT"),
) -> None:
    """Start Redis, SecantusDB, the simulator, the workers and the API; Ctrl-C stops them."""
    from app.settings import get_settings

    settings = get_settings()
    if _port_open(settings.api_host, settings.api_port):
        typer.echo(f"An API already answers on {settings.api_host}:{settings.api_port}: "
                   "the stack is running (stop it first, or set WX_API_PORT).")
        env = {"WX_EXECUTOR": _executor(settings)}
        secrets = load_service_secrets(settings.data_dir)
        if secrets is not None:  # the running stack's Redis takes the data dir's password
            env["WX_REDIS_URL"] = secrets.redis_url(settings.redis_url)
        if not settings.has_claude_credentials:
            env["WX_ANTHROPIC_BASE_URL"] = f"http://{settings.sim_host}:{settings.sim_port}"
        _print_banner(settings, env)
        return
    logs = settings.data_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    stack = _Stack(logs)
    # Ctrl-C, and SIGTERM from a supervisor, both end the stack cleanly (a shell's
    # background job starts with SIGINT ignored: restore it).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        env = _start_services(stack, settings)
        _start_frontend(stack, settings, env, frontend)
        _print_banner(settings, env)
        _wait(stack)
    except KeyboardInterrupt:
        typer.echo("\nstopping...")
    finally:
        stack.stop()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _start_services(stack: _Stack, settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    secrets = ensure_service_secrets(settings.data_dir)
    typer.echo(f"  Redis and MongoDB passwords: {settings.data_dir / SECRETS_FILE} (mode 600)")
    env["WX_REDIS_URL"] = _ensure_redis(stack, settings, secrets)
    env["WX_MONGO_URL"] = _ensure_mongo(stack, settings, secrets)
    env["WX_EXECUTOR"] = _executor(settings)
    if not settings.has_claude_credentials:
        env["WX_ANTHROPIC_BASE_URL"] = _start_simulator(stack, settings, env)
        env["WX_ANTHROPIC_API_KEY"] = "sk-ant-sim-local"
    if env["WX_EXECUTOR"] == "docker" and settings.tenant_egress:
        _start_egress(stack, settings, env)
    celery = str(VENV_BIN / "celery")
    for queue in QueueName:
        stack.start(f"worker-{queue}", [celery, "-A", "tasks", "worker", "-Q", queue,
                                        "-n", f"{queue}@%h", "--loglevel=INFO"], env)
    stack.start("api", [str(VENV_BIN / "wxrunner"), "api", "--host", settings.api_host,
                        "--port", str(settings.api_port)], env)
    _wait_port(settings.api_host, settings.api_port, "the API", stack)
    return env


def _ensure_redis(stack: _Stack, settings: Settings, secrets: ServiceSecrets) -> str:
    """The URL (with its password) of a Redis that takes it: a running one, or our own."""
    url = secrets.redis_url(settings.redis_url)
    parts = urlparse(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 6379
    if _port_open(host, port):
        return _use_running("redis", "Redis", url)
    binary = shutil.which("redis-server")
    if binary is None:
        raise typer.BadParameter("redis-server is not installed: run scripts/bootstrap.sh")
    password = unquote(parts.password or secrets.redis_password)
    conf = write_redis_config(settings.data_dir / "redis", port=port, password=password)
    stack.start("redis", [binary, str(conf)], dict(os.environ))
    _wait_port(host, port, "Redis", stack)
    return url


def _ensure_mongo(stack: _Stack, settings: Settings, secrets: ServiceSecrets) -> str:
    """The URL (with its user) of a MongoDB server that takes it: a running one, or our own
    SecantusDB (with `--auth`, its user made on the first run)."""
    url = secrets.mongo_url(settings.mongo_url)
    parts = urlparse(url)
    port = parts.port or 27017
    if _port_open(parts.hostname or "127.0.0.1", port):
        return _use_running("mongo", "MongoDB server", url)
    storage = settings.data_dir / "mongo"
    binary = VENV_BIN / "secantusd-py"
    user = ServiceSecrets(secrets.redis_password, unquote(parts.username or ""),
                          unquote(parts.password or ""))
    if provision_mongo_user(binary, storage, user, stack.logs / "secantusdb.log"):
        typer.echo(f"  made the SecantusDB user {user.mongo_user!r} in {storage}")
    stack.start("secantusdb", secantus_argv(binary, port=port, storage=storage),
                dict(os.environ))
    _wait_port("127.0.0.1", port, "SecantusDB", stack, timeout=60)
    return url


def _use_running(kind: str, what: str, url: str) -> str:
    refusal = data_service_error(kind, url)
    if refusal is not None:
        raise typer.BadParameter(
            f"the {what} at {mask_url(url)} refuses the runner ({refusal}); stop it, or set "
            f"its URL with credentials (WX_{kind.upper()}_URL), or remove "
            f"{SECRETS_FILE} of the data dir if it holds old passwords")
    typer.echo(f"  using the running {what} at {mask_url(url)}")
    return url


def _start_simulator(stack: _Stack, settings: Settings, env: dict[str, str]) -> str:
    port = settings.sim_port
    if not _port_open(settings.sim_host, port):
        stack.start("simulator", [str(VENV_BIN / "wxrunner"), "sim", "--port", str(port)], env)
        _wait_port(settings.sim_host, port, "the simulator", stack)
    return f"http://{settings.sim_host}:{port}"


def _start_egress(stack: _Stack, settings: Settings, env: dict[str, str]) -> None:
    """`wxrunner egress`, allowing the model API of `env` (the simulator's, when it runs)."""
    from workers.egress_proxy import probe_socket

    if probe_socket(settings.egress_socket) is None:
        typer.echo(f"  using the running egress proxy on {settings.egress_socket}")
        return
    stack.start("egress", [str(VENV_BIN / "wxrunner"), "egress"], env)
    deadline = time.monotonic() + 30
    while probe_socket(settings.egress_socket) is not None:
        if stack.dead() or time.monotonic() > deadline:
            raise typer.BadParameter(f"the egress proxy did not start: see {stack.logs}")
        time.sleep(0.1)


def _executor(settings: Settings) -> str:
    if settings.executor != "auto":
        return settings.executor
    try:
        import docker

        client = docker.from_env(timeout=3)
        client.ping()
        client.close()
        return "docker"
    except Exception:
        return "local"


def _start_frontend(stack: _Stack, settings: Settings, env: dict[str, str], wanted: bool) -> None:
    """The built Next.js UI (scripts/frontend.sh builds it) on WX_FRONTEND_PORT."""
    script = Path(__file__).resolve().parents[2] / "scripts" / "frontend.sh"
    if not wanted:
        return
    if _port_open("127.0.0.1", settings.frontend_port):
        typer.echo(f"  port {settings.frontend_port} is taken: not starting the frontend")
        return
    ui_env = {**env, "WX_API_URL": f"http://{settings.api_host}:{settings.api_port}",
              "WX_FRONTEND_PORT": str(settings.frontend_port)}
    stack.start("frontend", ["bash", str(script), "start"], ui_env)
    _wait_port("127.0.0.1", settings.frontend_port, "the frontend", stack, timeout=120)


def _print_banner(settings: Settings, env: dict[str, str]) -> None:
    from app.auth import mint_token
    from app.cli.token import signin_link

    base = f"http://{settings.api_host}:{settings.api_port}"
    token = mint_token(settings, tenant_id="dev", sub="dev")
    link = signin_link(settings, env.get("WX_REDIS_URL", settings.redis_url), tenant="dev")
    typer.echo(f"""
wxcode runner is up (executor: {env['WX_EXECUTOR']}, Claude API: {
        env.get('WX_ANTHROPIC_BASE_URL') or 'Anthropic (configured credentials)'})
  API        {base}   (OpenAPI: {base}/docs)
  WebSocket  ws://{settings.api_host}:{settings.api_port}/ws/chat/<project_id>
  UI         {link}
             (signs you in once, within {settings.signin_code_ttl_s} s; `wxrunner signin`: another)
  token      {token}
Ctrl-C stops everything this command started.""")


def _wait(stack: _Stack) -> None:
    while True:
        stack.supervise()
        time.sleep(0.5)


def _port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.3)
        return sock.connect_ex((host, port)) == 0


def _wait_port(host: str, port: int, what: str, stack: _Stack, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _port_open(host, port):
            return
        if stack.dead():
            raise typer.BadParameter(f"{what} exited: see {stack.logs}")
        time.sleep(0.1)
    raise typer.BadParameter(f"{what} not listening on {host}:{port} after {timeout}s")
