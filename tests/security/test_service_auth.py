"""Service auth: the dev stack's Redis and SecantusDB refuse whoever lacks the passwords it
generated (kept in <data_dir>/secrets.json, mode 600), reuse them on every later start, and
the runner works through URLs that carry them, without ever printing or logging them.

The stack here is started by the code `wxrunner stack up` runs (`_ensure_redis`,
`_ensure_mongo`), on free ports in a tmp data dir; the machine's Redis is never touched."""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
import pytest
import redis as redis_sync
from pymongo import MongoClient
from pymongo.errors import OperationFailure

from app.cli.stack import _ensure_mongo, _ensure_redis, _Stack
from app.service_secrets import (
    SECRETS_FILE,
    ServiceSecrets,
    ensure_service_secrets,
    mask_url,
)
from app.settings import Settings
from tests.helpers import VENV_BIN, OwnedProcess, free_port, start_api_server, wait_until

UNAUTHENTICATED_REDIS = [
    ["PING"], ["KEYS", "*"], ["GET", "wx:cancel:x"], ["SET", "wx:cancel:x", "1"],
    ["XRANGE", "wx:job:x:events", "-", "+"], ["PUBLISH", "wx:job:x:events", "{}"],
    ["SUBSCRIBE", "wx:job:x:events"], ["CONFIG", "GET", "*"], ["FLUSHALL"],
    ["EVAL", "return 1", "0"], ["SCAN", "0"],
]


@dataclass
class DevStack:
    """A dev-stack start: its data dir, its Redis and SecantusDB, the URLs it hands out."""

    data_dir: Path
    stack: _Stack
    secrets: ServiceSecrets
    redis_url: str
    mongo_url: str
    output: str

    @property
    def passwords(self) -> list[str]:
        return [self.secrets.redis_password, self.secrets.mongo_password]


def _start(data_dir: Path, redis_port: int, mongo_port: int,
           capsys: pytest.CaptureFixture[str] | None = None) -> DevStack:
    settings = Settings(env="test", data_dir=data_dir,
                        redis_url=f"redis://127.0.0.1:{redis_port}/0",
                        mongo_url=f"mongodb://127.0.0.1:{mongo_port}")
    (data_dir / "logs").mkdir(parents=True, exist_ok=True)
    stack = _Stack(data_dir / "logs")
    try:
        secrets = ensure_service_secrets(settings.data_dir)
        redis_url = _ensure_redis(stack, settings, secrets)
        mongo_url = _ensure_mongo(stack, settings, secrets)
    except BaseException:
        stack.stop()
        raise
    output = capsys.readouterr().out if capsys else ""
    return DevStack(data_dir, stack, secrets, redis_url, mongo_url, output)


@pytest.fixture(scope="module")
def dev_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevStack]:
    started = _start(tmp_path_factory.mktemp("devstack"), free_port(), free_port())
    yield started
    started.stack.stop()


def _raw_redis(port: int, *command: str) -> bytes:
    """One RESP command on a fresh connection, as a client with no password sends it."""
    payload = f"*{len(command)}\r\n".encode() + b"".join(
        f"${len(part.encode())}\r\n{part}\r\n".encode() for part in command)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(payload)
        return sock.recv(4096)


def _port(url: str) -> int:
    port = urlsplit(url).port
    assert port is not None
    return port


# --- Redis --------------------------------------------------------------------------


@pytest.mark.parametrize("command", UNAUTHENTICATED_REDIS, ids=lambda c: c[0])
def test_redis_refuses_every_command_without_the_password(
    dev_stack: DevStack, command: list[str],
) -> None:
    reply = _raw_redis(_port(dev_stack.redis_url), *command)
    assert reply.startswith(b"-NOAUTH"), reply


def test_redis_refuses_a_wrong_password(dev_stack: DevStack) -> None:
    port = _port(dev_stack.redis_url)
    assert _raw_redis(port, "AUTH", "not-the-password").startswith(b"-WRONGPASS")
    assert _raw_redis(port, "AUTH", "default", "not-the-password").startswith(b"-WRONGPASS")


def test_redis_works_with_the_url_the_stack_hands_out(dev_stack: DevStack) -> None:
    client = redis_sync.Redis.from_url(dev_stack.redis_url)
    try:
        client.set("wx:probe", "1")
        assert client.get("wx:probe") == b"1"
    finally:
        client.close()
    assert urlsplit(dev_stack.redis_url).password == dev_stack.secrets.redis_password


def test_redis_password_is_in_no_command_line(dev_stack: DevStack) -> None:
    redis_proc = next(s.proc for s in dev_stack.stack.services if s.name == "redis")
    cmdline = Path(f"/proc/{redis_proc.pid}/cmdline").read_bytes().decode()
    assert dev_stack.secrets.redis_password not in cmdline
    conf = dev_stack.data_dir / "redis" / "redis.conf"
    assert stat.S_IMODE(conf.stat().st_mode) == 0o600
    assert stat.S_IMODE(conf.parent.stat().st_mode) == 0o700


# --- MongoDB (SecantusDB with --auth) ----------------------------------------------


def _mongo(url: str) -> MongoClient[Any]:
    return MongoClient(url, serverSelectionTimeoutMS=5000)


@pytest.mark.parametrize("operation", [
    lambda c: c.list_database_names(),
    lambda c: c.wxrunner.jobs.find_one({}),
    lambda c: c.wxrunner.jobs.insert_one({"x": 1}),
    lambda c: c.wxrunner.jobs.delete_many({}),
    lambda c: c.admin.command("createUser", "intruder", pwd="x", roles=["root"]),
], ids=["listDatabases", "find", "insert", "delete", "createUser"])
def test_mongo_refuses_every_command_without_a_user(
    dev_stack: DevStack, operation: Callable[[MongoClient[Any]], object],
) -> None:
    client = _mongo(f"mongodb://127.0.0.1:{_port(dev_stack.mongo_url)}")
    try:
        with pytest.raises(OperationFailure) as refused:
            operation(client)
        assert refused.value.code == 13, refused.value.details  # Unauthorized
    finally:
        client.close()


def test_mongo_refuses_a_wrong_password(dev_stack: DevStack) -> None:
    port = _port(dev_stack.mongo_url)
    client = _mongo(f"mongodb://wxrunner:wrong@127.0.0.1:{port}/?authSource=admin")
    try:
        with pytest.raises(OperationFailure) as refused:
            client.list_database_names()
        assert refused.value.code == 18  # AuthenticationFailed
    finally:
        client.close()


def test_mongo_works_with_the_url_the_stack_hands_out(dev_stack: DevStack) -> None:
    client = _mongo(dev_stack.mongo_url)
    try:
        client.wxprobe.items.insert_one({"x": 1})
        assert client.wxprobe.items.count_documents({}) == 1
    finally:
        client.close()


def test_mongo_storage_is_private(dev_stack: DevStack) -> None:
    assert stat.S_IMODE((dev_stack.data_dir / "mongo").stat().st_mode) == 0o700


# --- the secrets file ------------------------------------------------------------------


def test_secrets_file_is_private_and_holds_both_passwords(dev_stack: DevStack) -> None:
    path = dev_stack.data_dir / SECRETS_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    raw = orjson.loads(path.read_bytes())
    assert raw["redis_password"] == dev_stack.secrets.redis_password
    assert raw["mongo_password"] == dev_stack.secrets.mongo_password
    assert len(dev_stack.secrets.redis_password) >= 32
    assert dev_stack.secrets.redis_password != dev_stack.secrets.mongo_password


def test_a_second_start_reuses_the_secrets_and_keeps_the_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    redis_port, mongo_port = free_port(), free_port()
    first = _start(tmp_path, redis_port, mongo_port, capsys)
    try:
        redis_sync.Redis.from_url(first.redis_url).set("wx:kept", "1")
        client = _mongo(first.mongo_url)
        client.wxrunner.kept.insert_one({"x": 1})
        client.close()
        running = _start(tmp_path, redis_port, mongo_port, capsys)  # the stack is up: reuse it
        assert running.stack.services == []
        assert "using the running Redis" in running.output
    finally:
        first.stack.stop()
    (tmp_path / SECRETS_FILE).chmod(0o644)  # a copy that lost its mode gets it back
    second = _start(tmp_path, redis_port, mongo_port, capsys)
    try:
        assert second.secrets == first.secrets
        assert stat.S_IMODE((tmp_path / SECRETS_FILE).stat().st_mode) == 0o600
        assert "made the SecantusDB user" in first.output
        assert "made the SecantusDB user" not in second.output
        assert redis_sync.Redis.from_url(second.redis_url).get("wx:kept") == b"1"
        client = _mongo(second.mongo_url)
        assert client.wxrunner.kept.count_documents({}) == 1
        client.close()
        assert _raw_redis(redis_port, "GET", "wx:kept").startswith(b"-NOAUTH")
    finally:
        second.stack.stop()
    for started in (first, running, second):
        for password in first.passwords:
            assert password not in started.output
    assert "***@127.0.0.1" in running.output


def test_settings_default_urls_carry_the_data_dirs_secrets(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch,
                                                           ) -> None:
    for name in ("WX_REDIS_URL", "WX_MONGO_URL"):
        monkeypatch.delenv(name, raising=False)
    assert Settings(data_dir=tmp_path).redis_url == "redis://127.0.0.1:6380/0"
    secrets = ensure_service_secrets(tmp_path)
    settings = Settings(data_dir=tmp_path)
    assert settings.redis_url == f"redis://:{secrets.redis_password}@127.0.0.1:6380/0"
    assert settings.mongo_url == (f"mongodb://wxrunner:{secrets.mongo_password}"
                                  "@127.0.0.1:27017/?authSource=admin")
    explicit = Settings(data_dir=tmp_path, redis_url="redis://elsewhere:6379/0")
    assert explicit.redis_url == "redis://elsewhere:6379/0"
    assert secrets.redis_password not in mask_url(settings.redis_url)


# --- the runner on it: a real turn, and no password in any log ------------------------


@pytest.fixture(scope="module")
def runner_on_dev_stack(
    dev_stack: DevStack, backend: Any, start_worker: Callable[..., Any], tenant_image: str,
    artifacts_dir: Path,
) -> Iterator[tuple[str, list[Path]]]:
    overrides = {"redis_url": dev_stack.redis_url, "mongo_url": dev_stack.mongo_url,
                 "mongo_db": "wxauth", "worker_host": f"authhost{free_port()}"}
    worker = start_worker(**overrides)
    proc, url = start_api_server(backend.with_overrides(**overrides).env,
                                 artifacts_dir / "logs")
    yield url, [worker.log_path, proc.log_path]
    proc.stop()
    worker.stop()


def test_a_turn_runs_through_the_api_on_the_password_protected_stack(
    dev_stack: DevStack, runner_on_dev_stack: tuple[str, list[Path]],
    make_token: Callable[[str], str], tenant_id: str,
) -> None:
    api, logs = runner_on_dev_stack
    headers = {"authorization": f"Bearer {make_token(tenant_id)}"}
    with httpx.Client(base_url=api, headers=headers, timeout=30) as client:
        project = client.post("/api/projects", json={"name": "auth"})
        assert project.status_code == 201, project.text
        accepted = client.post(f"/api/projects/{project.json()['id']}/chat",
                               json={"content": "Explain the project", "context": "analysis"})
        assert accepted.status_code == 202, accepted.text
        types = _sse_types(client, accepted.json()["events_url"])
        assert types[0] == "job_queued" and types[-1] == "session_end", types
        job = client.get(accepted.json()["status_url"]).json()
    assert job["state"] == "succeeded", job
    mongo = _mongo(dev_stack.mongo_url)
    try:
        assert mongo.wxauth.token_usage_logs.count_documents({"tenant_id": tenant_id}) == 1
    finally:
        mongo.close()
    for log in [*logs, *(dev_stack.data_dir / "logs").glob("*.log")]:
        text = log.read_text(errors="replace")
        for password in dev_stack.passwords:
            assert password not in text, f"{log} holds a service password"


def _sse_types(client: httpx.Client, events_url: str) -> list[str]:
    types: list[str] = []
    with client.stream("GET", events_url, timeout=90) as events:
        for line in events.iter_lines():
            if line.startswith("data:"):
                types.append(orjson.loads(line[5:])["type"])
                if types[-1] in {"session_end", "error", "cancelled"}:
                    break
    return types


def test_environment_of_this_test_has_no_service_password(dev_stack: DevStack) -> None:
    """The stack hands the passwords to its children only, never to its own environment."""
    for password in dev_stack.passwords:
        assert all(password not in value for value in os.environ.values())


# --- the README command itself ----------------------------------------------------------


def test_wxrunner_stack_up_twice_prints_no_password(tmp_path: Path) -> None:
    """`wxrunner stack up` starts the protected stack; a second run finds it running; neither
    prints a password, nor does any log the stack writes."""
    ports = {name: free_port() for name in ("redis", "mongo", "api", "sim")}
    env = {k: v for k, v in os.environ.items() if not k.startswith("WX_")}
    env.update({"WX_DATA_DIR": str(tmp_path), "WX_EXECUTOR": "local",
                "WX_REDIS_URL": f"redis://127.0.0.1:{ports['redis']}/0",
                "WX_MONGO_URL": f"mongodb://127.0.0.1:{ports['mongo']}",
                "WX_API_PORT": str(ports["api"]), "WX_SIM_PORT": str(ports["sim"])})
    argv = [str(VENV_BIN / "wxrunner"), "stack", "up", "--no-frontend"]
    first = OwnedProcess(argv, env=env, log=tmp_path / "first.out")
    try:
        wait_until(lambda: "wxcode runner is up" in first.log_tail(20000) or not first.alive(),
                   timeout=120, what="wxrunner stack up")
        assert first.alive(), first.log_tail()
        second = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
        assert second.returncode == 0, second.stderr
        assert "the stack is running" in second.stdout
        assert _raw_redis(ports["redis"], "KEYS", "*").startswith(b"-NOAUTH")
    finally:
        first.stop(signal.SIGINT, timeout=60)
    secrets = ensure_service_secrets(tmp_path)
    printed = first.log_tail(100_000) + second.stdout + second.stderr
    assert "using the running" not in printed  # the first run started its own services
    logs = [p.read_text(errors="replace") for p in (tmp_path / "logs").glob("*.log")]
    assert len(logs) >= 5  # redis, secantusdb, simulator, two workers, api
    for text in [printed, *logs]:
        assert secrets.redis_password not in text
        assert secrets.mongo_password not in text
