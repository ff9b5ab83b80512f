"""`wxrunner stack up`: the whole backend on this machine, started in dependency order.

Starts only what is not already running (Redis, SecantusDB), then the simulator
(unless Claude credentials are configured), the `chat` and `conversions` workers and
the API; prints the URLs and a development token; on Ctrl-C stops what it started,
by pid, newest first. Logs go to `<data_dir>/logs/`."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import typer

from app.settings import Settings

VENV_BIN = Path(sys.executable).parent


def register(cli: typer.Typer) -> None:
    stack = typer.Typer(no_args_is_help=True, help="run the whole stack locally")
    stack.command("up")(up)
    cli.add_typer(stack, name="stack")


class _Stack:
    """Processes this command started, stopped newest first."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.procs: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(
        self, name: str, argv: list[str], env: dict[str, str], cwd: Path | None = None
    ) -> None:
        log = (self.logs / f"{name}.log").open("ab")
        proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        self.procs.append((name, proc))
        typer.echo(f"  started {name} (pid {proc.pid}, log {self.logs / (name + '.log')})")

    def dead(self) -> list[str]:
        return [name for name, proc in self.procs if proc.poll() is not None]

    def stop(self) -> None:
        for _name, proc in reversed(self.procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for name, proc in reversed(self.procs):
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
            typer.echo(f"  stopped {name}")


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
    env["WX_REDIS_URL"] = _ensure_redis(stack, settings)
    env["WX_MONGO_URL"] = _ensure_mongo(stack, settings)
    env["WX_EXECUTOR"] = _executor(settings)
    if not settings.has_claude_credentials:
        env["WX_ANTHROPIC_BASE_URL"] = _start_simulator(stack, settings, env)
        env["WX_ANTHROPIC_API_KEY"] = "sk-ant-sim-local"
    celery = str(VENV_BIN / "celery")
    for queue in ("chat", "conversions"):
        stack.start(f"worker-{queue}", [celery, "-A", "tasks", "worker", "-Q", queue,
                                        "-n", f"{queue}@%h", "--loglevel=INFO"], env)
    stack.start("api", [str(VENV_BIN / "uvicorn"), "app.main:create_app", "--factory",
                        "--host", settings.api_host, "--port", str(settings.api_port)], env)
    _wait_port(settings.api_host, settings.api_port, "the API", stack)
    return env


def _ensure_redis(stack: _Stack, settings: Settings) -> str:
    url = urlparse(settings.redis_url)
    host, port = url.hostname or "127.0.0.1", url.port or 6379
    if _port_open(host, port):
        typer.echo(f"  using the running Redis at {settings.redis_url}")
        return settings.redis_url
    binary = shutil.which("redis-server")
    if binary is None:
        raise typer.BadParameter("redis-server is not installed: run scripts/bootstrap.sh")
    stack.start("redis", [binary, "--port", str(port), "--bind", "127.0.0.1",
                          "--dir", str(settings.data_dir)], dict(os.environ))
    _wait_port(host, port, "Redis", stack)
    return settings.redis_url


def _ensure_mongo(stack: _Stack, settings: Settings) -> str:
    url = urlparse(settings.mongo_url)
    host, port = url.hostname or "127.0.0.1", url.port or 27017
    if _port_open(host, port):
        typer.echo(f"  using the running MongoDB server at {settings.mongo_url}")
        return settings.mongo_url
    storage = settings.data_dir / "mongo"
    storage.mkdir(parents=True, exist_ok=True)
    stack.start("secantusdb", [str(VENV_BIN / "secantusd-py"), "--host", "127.0.0.1",
                               "--port", str(port), "--storage-path", str(storage)],
                dict(os.environ))
    _wait_port("127.0.0.1", port, "SecantusDB", stack, timeout=60)
    return f"mongodb://127.0.0.1:{port}"


def _start_simulator(stack: _Stack, settings: Settings, env: dict[str, str]) -> str:
    port = settings.sim_port
    if not _port_open(settings.sim_host, port):
        stack.start("simulator", [str(VENV_BIN / "wxrunner"), "sim", "--port", str(port)], env)
        _wait_port(settings.sim_host, port, "the simulator", stack)
    return f"http://{settings.sim_host}:{port}"


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

    base = f"http://{settings.api_host}:{settings.api_port}"
    token = mint_token(settings, tenant_id="dev", sub="dev")
    typer.echo(f"""
wxcode runner is up (executor: {env['WX_EXECUTOR']}, Claude API: {
        env.get('WX_ANTHROPIC_BASE_URL') or 'Anthropic (configured credentials)'})
  API        {base}   (OpenAPI: {base}/docs)
  WebSocket  ws://{settings.api_host}:{settings.api_port}/ws/chat/<project_id>
  UI         http://127.0.0.1:{settings.frontend_port}/?token={token}   (signs you in)
  token      {token}
Ctrl-C stops everything this command started.""")


def _wait(stack: _Stack) -> None:
    while True:
        dead = stack.dead()
        if dead:
            typer.echo(f"stopped unexpectedly: {', '.join(dead)} (see the logs)", err=True)
            raise typer.Exit(1)
        time.sleep(1)


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
