"""The dev stack's Redis and SecantusDB with passwords: their config, their first user, checks.

Redis reads `requirepass` from a config file of its own (mode 600, so the password is in
no command line); SecantusDB runs with `--auth` (SCRAM-SHA-256) once its user exists. It
has no localhost exception, so the user is made once, by a short run without `--auth` on a
free loopback port, before the server starts for real.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from app.service_secrets import ServiceSecrets

__all__ = ["data_service_error", "provision_mongo_user", "secantus_argv", "write_redis_config"]

_MONGO_USER_MADE = ".wx-user-provisioned"
_PROVISION_TIMEOUT_S = 60.0
_DUPLICATE_USER = 51003


def write_redis_config(folder: Path, *, port: int, password: str) -> Path:
    """`<folder>/redis.conf` (mode 600): loopback only, append-only file, the password.
    The folder (its data too) is the owner's only (mode 700)."""
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    conf = folder / "redis.conf"
    text = "\n".join([
        f"port {port}", "bind 127.0.0.1", "protected-mode yes", f'dir "{folder}"',
        "appendonly yes", f'requirepass "{password}"', "",
    ])
    fd = os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    conf.chmod(0o600)  # a file left by an older run keeps its mode through O_TRUNC
    return conf


def secantus_argv(binary: Path, *, port: int, storage: Path, auth: bool = True) -> list[str]:
    argv = [str(binary), "--host", "127.0.0.1", "--port", str(port),
            "--storage-path", str(storage)]
    return [*argv, "--auth"] if auth else argv


def provision_mongo_user(binary: Path, storage: Path, secrets: ServiceSecrets,
                         log: Path) -> bool:
    """Make the stack's SecantusDB user in `storage` (once); True when it was made now."""
    marker = storage / _MONGO_USER_MADE
    if marker.exists():
        return False
    storage.mkdir(parents=True, exist_ok=True)
    storage.chmod(0o700)
    port = _free_port()
    with log.open("ab") as out:
        proc = subprocess.Popen(secantus_argv(binary, port=port, storage=storage, auth=False),
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_listening(port, proc)
        _create_root_user(f"mongodb://127.0.0.1:{port}", secrets)
    finally:
        proc.terminate()
        proc.wait(30)
    marker.write_text(secrets.mongo_user + "\n")
    return True


def _create_root_user(url: str, secrets: ServiceSecrets) -> None:
    from pymongo import MongoClient
    from pymongo.errors import OperationFailure

    client: MongoClient[Any] = MongoClient(url, serverSelectionTimeoutMS=10_000)
    roles = [{"role": "root", "db": "admin"}]
    try:
        client.admin.command("createUser", secrets.mongo_user, pwd=secrets.mongo_password,
                             roles=roles)
    except OperationFailure as exc:
        if exc.code != _DUPLICATE_USER:
            raise
        client.admin.command("updateUser", secrets.mongo_user, pwd=secrets.mongo_password,
                             roles=roles)
    finally:
        client.close()


def data_service_error(kind: str, url: str) -> str | None:
    """Why the Redis or MongoDB at `url` refuses the runner (None: it works with `url`)."""
    try:
        if kind == "redis":
            _redis_check(url)
        else:
            _mongo_check(url)
    except Exception as exc:
        password = urlsplit(url).password
        message = f"{type(exc).__name__}: {exc}"
        return message.replace(password, "***") if password else message
    return None


def _redis_check(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url, socket_timeout=3, socket_connect_timeout=3)
    try:
        client.ping()
    finally:
        client.close()


def _mongo_check(url: str) -> None:
    from pymongo import MongoClient

    client: MongoClient[Any] = MongoClient(url, serverSelectionTimeoutMS=3000)
    try:
        client.list_database_names()  # needs an authenticated user where auth is on
    finally:
        client.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_listening(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + _PROVISION_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"SecantusDB exited ({proc.returncode}) while making its user")
        with socket.socket() as sock:
            sock.settimeout(0.3)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"SecantusDB did not listen within {_PROVISION_TIMEOUT_S:.0f} s")
