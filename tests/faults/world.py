"""The fault suite's own world: a Redis (append-only file) and a SecantusDB it can kill and
start again on the same port and data, optionally a dockerd of its own, and factories for
real API and Celery worker processes on them. Nothing here touches a process the suite
did not start."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import redis as redis_sync
from pymongo import MongoClient

from app.auth import mint_token
from app.cli.stack_data import provision_mongo_user, secantus_argv
from app.service_secrets import ServiceSecrets
from app.settings import Settings
from tests.helpers import VENV_BIN, OwnedProcess, free_port, port_open, wait_until

STANDIN = VENV_BIN / "wxrunner-standin-claude"
WORKER_READY_S = 60.0


class Server:
    """A server process on a fixed port that the suite kills and starts again."""

    def __init__(self, name: str, argv: list[str], port: int, log: Path,
                 ready: Callable[[], bool] | None = None) -> None:
        self.name = name
        self.argv = argv
        self.port = port
        self.log = log
        self._ready = ready or (lambda: port_open(port))
        self.proc: OwnedProcess | None = None

    def start(self, timeout: float = 60.0) -> None:
        self.proc = OwnedProcess(self.argv, log=self.log)
        wait_until(self._ready, timeout=timeout, what=self.name)

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Kill it as a crash would (SIGKILL by default) and wait until it is gone."""
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)
        self.proc.proc.wait(30)
        wait_until(lambda: not port_open(self.port), timeout=10, what=f"{self.name} down")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop()


def redis_server(folder: Path, logs: Path, password: str) -> Server:
    """redis-server with its append-only file (fsync on every write) and a password, as in
    production."""
    port = free_port()
    folder.mkdir(parents=True, exist_ok=True)
    binary = shutil.which("redis-server") or "redis-server"
    return Server("redis", [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir",
                            str(folder), "--appendonly", "yes", "--appendfsync", "always",
                            "--save", "", "--requirepass", password], port,
                  logs / "fault-redis.log")


def mongo_server(folder: Path, logs: Path, secrets: ServiceSecrets) -> Server:
    """SecantusDB on disk (a restart keeps the data), with authentication on: its user made
    as `wxrunner stack up` makes it."""
    port = free_port()
    binary, log = VENV_BIN / "secantusd-py", logs / "fault-secantusdb.log"
    provision_mongo_user(binary, folder, secrets, log)
    return Server("secantusdb", secantus_argv(binary, port=port, storage=folder), port, log)


class Dockerd(Server):
    """A dockerd of the suite's own (its own data root and socket; no bridge, no iptables),
    with the tenant image loaded from the machine's engine."""

    def __init__(self, folder: Path, logs: Path) -> None:
        self.socket = folder / "docker.sock"
        self.url = f"unix://{self.socket}"
        argv = ["dockerd", "--iptables=false", "--bridge=none", "--data-root",
                str(folder / "root"), "--exec-root", str(folder / "exec"), "-H", self.url,
                "--pidfile", str(folder / "docker.pid")]
        super().__init__("dockerd", argv, 0, logs / "fault-dockerd.log", ready=self._answers)

    def _answers(self) -> bool:
        return subprocess.run(["docker", "-H", self.url, "info"], capture_output=True,
                              timeout=10).returncode == 0

    def kill(self, sig: int = signal.SIGTERM) -> None:
        assert self.proc is not None
        self.proc.stop(sig, timeout=60)
        wait_until(lambda: not self._answers(), timeout=30, what="dockerd down")

    def stop(self) -> None:
        super().stop()
        # What dockerd leaves mounted under its folders (netns, overlays) goes too.
        mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
        for mount in sorted((m for m in mounts if m.startswith(str(self.socket.parent))),
                            key=len, reverse=True):
            subprocess.run(["umount", "-l", mount], capture_output=True, timeout=30)

    def load_image(self, image: str) -> None:
        save = subprocess.Popen(["docker", "save", image], stdout=subprocess.PIPE)
        subprocess.run(["docker", "-H", self.url, "load"], stdin=save.stdout, check=True,
                       capture_output=True, timeout=600)
        save.wait(60)


@dataclass
class Api:
    proc: OwnedProcess
    url: str

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://")


@dataclass
class World:
    """Settings, servers and the processes started on them."""

    redis: Server
    mongo: Server
    values: dict[str, Any]
    logs: Path
    started: list[OwnedProcess] = field(default_factory=list)

    def settings(self, **overrides: Any) -> Settings:
        return Settings(**{**self.values, **overrides})

    def env(self, **overrides: Any) -> dict[str, str]:
        return {f"WX_{k.upper()}": str(v) for k, v in {**self.values, **overrides}.items()}

    def start_api(self, **overrides: Any) -> Api:
        port = free_port()
        proc = OwnedProcess(
            [str(VENV_BIN / "wxrunner"), "api", "--host", "127.0.0.1", "--port", str(port),
             "--ws-ping-interval", "5"],
            env=self.env(**overrides), log=self.logs / f"fault-api-{port}.log")
        self.started.append(proc)
        wait_until(lambda: port_open(port) or not proc.alive(), timeout=30, what="API")
        assert proc.alive(), proc.log_tail()
        return Api(proc, f"http://127.0.0.1:{port}")

    def start_worker(self, queues: str = "chat,conversions", **overrides: Any) -> OwnedProcess:
        name = f"fw{uuid.uuid4().hex[:6]}"
        proc = OwnedProcess(
            [str(VENV_BIN / "celery"), "-A", "tasks", "worker", "-Q", queues, "-n",
             f"{name}@%h", "--loglevel=INFO", "--without-gossip", "--without-mingle"],
            env=self.env(**overrides), log=self.logs / f"fault-worker-{name}.log")
        self.started.append(proc)
        wait_until(lambda: " ready." in proc.log_tail(50_000) or not proc.alive(),
                   timeout=WORKER_READY_S, what="celery worker")
        assert proc.alive(), proc.log_tail()
        return proc

    def token(self, tenant: str) -> str:
        return mint_token(self.settings(), tenant_id=tenant, sub=f"user-{tenant}")

    def new_project(self, api: Api, tenant: str) -> str:
        reply = httpx.post(f"{api.url}/api/projects", json={"name": "erp"}, timeout=30,
                           headers={"Authorization": f"Bearer {self.token(tenant)}"})
        reply.raise_for_status()
        return str(reply.json()["id"])

    @contextlib.contextmanager
    def mongo_client(self) -> Iterator[Any]:
        client: MongoClient[Any] = MongoClient(self.values["mongo_url"],
                                               serverSelectionTimeoutMS=20_000)
        try:
            yield client[self.values["mongo_db"]]
        finally:
            client.close()

    @contextlib.contextmanager
    def redis_client(self) -> Iterator[redis_sync.Redis]:
        client = redis_sync.Redis.from_url(self.values["redis_url"])
        try:
            yield client
        finally:
            client.close()

    def stop_all(self) -> None:
        for proc in reversed(self.started):
            proc.stop()
        self.started.clear()


def wait_gone(proc: OwnedProcess, timeout: float) -> None:
    """Wait for a process to exit by itself."""
    deadline = time.monotonic() + timeout
    while proc.alive() and time.monotonic() < deadline:
        time.sleep(0.1)
