"""Small helpers the fixtures share: free ports, waiting, owned processes."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = REPO_ROOT / ".venv" / "bin"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(check: Callable[[], bool], *, timeout: float = 20.0, what: str = "service") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"{what} not ready after {timeout}s")


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


class OwnedProcess:
    """A process a fixture started; stopped by pid (its whole process group) on teardown."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        env: dict[str, str] | None = None,
        log: Path,
        cwd: Path = REPO_ROOT,
    ) -> None:
        self.log_path = log
        log.parent.mkdir(parents=True, exist_ok=True)
        self._log = log.open("ab")
        self.proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env={**os.environ, **(env or {})},
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> None:
        if self.alive():
            try:
                os.killpg(self.proc.pid, sig)
                self.proc.wait(timeout)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self._log.close()


def start_listening(
    argv: Sequence[str], *, port: int, what: str, log: Path, env: dict[str, str] | None = None,
    cwd: Path = REPO_ROOT, timeout: float = 30.0,
) -> OwnedProcess:
    """Start a server process and wait for its port; fail the test with its log if it dies."""
    return start_answering(argv, answers=lambda: port_open(port), where=f"port {port}",
                           what=what, log=log, env=env, cwd=cwd, timeout=timeout)


def start_answering(
    argv: Sequence[str], *, answers: Callable[[], bool], where: str, what: str, log: Path,
    env: dict[str, str] | None = None, cwd: Path = REPO_ROOT, timeout: float = 30.0,
) -> OwnedProcess:
    """Start a server process and wait until `answers()`; fail the test with its log if it
    dies or never answers."""
    import pytest

    proc = OwnedProcess(argv, env=env, log=log, cwd=cwd)
    try:
        wait_until(lambda: answers() or not proc.alive(), timeout=timeout, what=what)
    except TimeoutError:
        proc.stop()
        pytest.fail(f"{what} not answering on {where}:\n{proc.log_tail()}")
    if not proc.alive():
        pytest.fail(f"{what} exited:\n{proc.log_tail()}")
    return proc


def signin_code(env: dict[str, str], tenant: str, sub: str = "test") -> str:
    """A one-time sign-in code from `wxrunner signin` (the run command's link), for `tenant`."""
    from urllib.parse import parse_qs, urlparse

    proc = subprocess.run([str(VENV_BIN / "wxrunner"), "signin", "--tenant", tenant, "--sub", sub],
                          env={**os.environ, **env}, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return parse_qs(urlparse(proc.stdout.strip()).query)["code"][0]


def start_redis_server(
    data_dir: Path, log: Path, *, password: str | None = None,
) -> tuple[OwnedProcess, str]:
    """A throwaway redis-server on a free port (nothing kept on disk), requiring `password`
    (a fresh one unless given; "" for none); returns it and its URL (which carries it)."""
    import secrets
    import shutil

    import pytest

    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed: run scripts/bootstrap.sh")
    port = free_port()
    password = secrets.token_urlsafe(16) if password is None else password
    auth = ["--requirepass", password] if password else []
    proc = start_listening(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(data_dir), *auth],
        port=port, what="redis", log=log,
    )
    userinfo = f":{password}@" if password else ""
    return proc, f"redis://{userinfo}127.0.0.1:{port}/0"


def start_api_server(env: dict[str, str], log_dir: Path, *extra: str) -> tuple[OwnedProcess, str]:
    """A real uvicorn process serving `app.main:create_app`; returns it and its base URL."""
    port = free_port()
    proc = start_listening(
        [str(VENV_BIN / "wxrunner"), "api", "--host", "127.0.0.1", "--port", str(port), *extra],
        port=port, what="API", env=env, log=log_dir / f"api-{port}.log",
    )
    return proc, f"http://127.0.0.1:{port}"


def start_egress_proxy(egress_dir: Path, model_url: str, log: Path,
                       **settings: str) -> OwnedProcess:
    """`wxrunner egress` on egress_dir/egress.sock, allowing `model_url`'s host:port; waits
    for its socket (fails the test with its log if it dies)."""
    from workers.egress_proxy import probe_socket

    env = {"WX_EGRESS_DIR": str(egress_dir), "WX_ANTHROPIC_BASE_URL": model_url,
           **{f"WX_{k.upper()}": v for k, v in settings.items()}}
    socket_path = egress_dir / "egress.sock"
    return start_answering([str(VENV_BIN / "wxrunner"), "egress"], env=env, log=log,
                           answers=lambda: probe_socket(socket_path, 0.2) is None,
                           where=str(socket_path), what="egress proxy", timeout=20.0)


class NetworkLink:
    """A TCP forwarder on a free port standing in for the browser's network: `cut()`
    drops every open connection and refuses new ones until `restore()`."""

    def __init__(self, target_port: int) -> None:
        import threading

        self.port = free_port()
        self._target = target_port
        self._up = True
        self._conns: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._server = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, daemon=True).start()

    def cut(self) -> None:
        with self._lock:
            self._up = False
            for conn in self._conns:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
            self._conns.clear()

    def restore(self) -> None:
        self._up = True

    def close(self) -> None:
        self.cut()
        self._server.close()

    def _accept(self) -> None:
        import threading

        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            if not self._up:
                client.close()
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self._target))
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns |= {client, upstream}
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(src, dst), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        for sock in (src, dst):
            with contextlib.suppress(OSError):
                sock.close()
        with self._lock:
            self._conns -= {src, dst}
