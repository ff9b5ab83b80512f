"""The stack's fixtures (a pytest plugin of tests/conftest.py, for the integration, security
and e2e suites): real Celery workers and a real API
(uvicorn) started by pid with the test settings as WX_* env vars, tokens, per-test
cleanup of the test Mongo db and the test Redis (the `wx:*` keys: Celery's own keys
stay, the session's workers keep using them)."""

from __future__ import annotations

import contextlib
import subprocess
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from app.settings import Settings
from tests.helpers import (
    VENV_BIN,
    OwnedProcess,
    start_api_server,
    start_redis_server,
    wait_until,
)

WORKER_READY_TIMEOUT_S = 40.0


@dataclass
class Backend:
    """The settings every backend process of the test session shares."""

    values: dict[str, Any]
    settings: Settings
    env: dict[str, str] = field(default_factory=dict)

    def with_overrides(self, **overrides: Any) -> Backend:
        values = {**self.values, **overrides}
        return Backend(values, Settings(**values), _to_env(values))


def _to_env(values: dict[str, Any]) -> dict[str, str]:
    return {f"WX_{k.upper()}": str(v) for k, v in values.items()}


@pytest.fixture(scope="session")
def backend(
    redis_url: str, mongo_url: str, sim_url: str, egress_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Backend:
    """Test settings: own Redis, SecantusDB, the simulator (reached by tenant containers
    through the egress proxy), short liveness timeouts."""
    session_tag = uuid.uuid4().hex[:8]
    values: dict[str, Any] = {
        "env": "test",
        "deployment": f"wxtest_{session_tag}",
        "redis_url": redis_url,
        "mongo_url": mongo_url,
        "mongo_db": f"wxtest_{session_tag}",
        "anthropic_base_url": sim_url,
        "anthropic_api_key": "sk-ant-sim",
        "executor": "docker",
        "egress_dir": str(egress_dir),
        "data_dir": str(tmp_path_factory.mktemp("wxdata")),
        "claude_max_retries": 0,
        "heartbeat_interval_s": 0.5,
        "heartbeat_stale_s": 20.0,  # isolated workers of the worker-lost test use 3 s
        "reaper_interval_s": 1.0,
        "host_heartbeat_s": 1.0,  # the worker host registry (wx:host:*) expires after 3 s
        "turn_idle_timeout_s": 60.0,
        # webhooks go to receivers on 127.0.0.1 (any worker of the session may send one)
        "webhook_allow_private": True,
        # /metrics lists every tenant's usage: the scraper's bearer token (tests send it)
        "metrics_token": f"metrics-{session_tag}",
    }
    return Backend(values, Settings(**values), _to_env(values))


@pytest.fixture(scope="session")
def tenant_image(backend: Backend, artifacts_dir: Path) -> str:
    """The tenant image, built offline once (`wxrunner image build --if-missing`)."""
    proc = subprocess.run(
        [str(VENV_BIN / "wxrunner"), "image", "build", "--if-missing"],
        capture_output=True, text=True, timeout=900,
    )
    if proc.returncode != 0:
        pytest.fail(f"wxrunner image build failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return backend.settings.tenant_image


class Worker(OwnedProcess):
    """A real `celery -A tasks worker` process (its own process group)."""

    name: str


@pytest.fixture(scope="session")
def start_worker(backend: Backend, artifacts_dir: Path) -> Iterator[Callable[..., Worker]]:
    """Factory: start a worker on `queues` with `executor`; stopped at session end."""
    started: list[Worker] = []

    def start(
        queues: str = "chat,conversions", *, executor: str = "docker", concurrency: int = 8,
        wait: bool = True, **overrides: Any,
    ) -> Worker:
        name = f"w{uuid.uuid4().hex[:6]}"
        env = backend.with_overrides(executor=executor, **overrides).env
        argv = [str(VENV_BIN / "celery"), "-A", "tasks", "worker", "-Q", queues,
                "-c", str(concurrency), "-n", f"{name}@%h", "--loglevel=INFO",
                "--without-gossip", "--without-mingle"]
        worker = Worker(argv, env=env, log=artifacts_dir / "logs" / f"worker-{name}.log")
        worker.name = name
        started.append(worker)
        if wait:
            _wait_ready(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


def _wait_ready(worker: Worker) -> None:
    try:
        wait_until(lambda: " ready." in worker.log_tail(20000) or not worker.alive(),
                   timeout=WORKER_READY_TIMEOUT_S, what="celery worker")
    except TimeoutError:
        pytest.fail(f"celery worker not ready:\n{worker.log_tail()}")
    if not worker.alive():
        pytest.fail(f"celery worker exited:\n{worker.log_tail()}")


@pytest.fixture(scope="session")
def isolated_redis_url(
    tmp_path_factory: pytest.TempPathFactory, artifacts_dir: Path
) -> Iterator[str]:
    """A second redis-server: a broker no session-wide worker listens on."""
    proc, url = start_redis_server(tmp_path_factory.mktemp("redis2"),
                                   artifacts_dir / "logs" / "redis-isolated.log")
    yield url
    proc.stop()


@pytest.fixture(scope="session")
def celery_worker(start_worker: Callable[..., Worker], tenant_image: str) -> Worker:
    """The session's shared worker: both queues, docker executor."""
    return start_worker()


@pytest.fixture(scope="session")
def api_server(backend: Backend, artifacts_dir: Path) -> Iterator[str]:
    """A real uvicorn process serving `app.main:create_app`; yields its base URL."""
    proc, url = start_api_server(backend.env, artifacts_dir / "logs")
    yield url
    proc.stop()


@pytest.fixture(scope="session")
def make_token(backend: Backend) -> Callable[[str], str]:
    """Mint a development token for a tenant."""
    from app.auth import mint_token

    return lambda tenant, sub="test": mint_token(backend.settings, tenant_id=tenant, sub=sub)


@pytest.fixture
def tenant_id(request: pytest.FixtureRequest, _test_tenants: list[str]) -> str:
    """A fresh tenant per test (its container is removed at session end)."""
    tenant = f"t{uuid.uuid4().hex[:10]}"
    _test_tenants.append(tenant)
    return tenant


@pytest.fixture(scope="session")
def _test_tenants(backend: Backend) -> Iterator[list[str]]:
    tenants: list[str] = []
    yield tenants
    _remove_deployment_containers(backend.settings.deployment)


def _remove_deployment_containers(deployment: str) -> None:
    """Every container and volume of this session's deployment label: also those of tenants
    a test derived from its own (a second tenant of a cross-tenant probe)."""
    import docker

    try:
        client = docker.from_env()
    except Exception:
        return
    label = {"label": [f"wx.deployment={deployment}"]}
    for container in client.containers.list(all=True, filters=label):
        with contextlib.suppress(Exception):
            container.remove(force=True)
    for volume in client.volumes.list(filters=label):
        with contextlib.suppress(Exception):
            volume.remove(force=True)
    client.close()


@pytest.fixture
def clean_db(backend: Backend) -> Iterator[None]:
    """Wipe the test Mongo db's documents and the `wx:*` Redis keys before a test."""
    _wipe(backend.settings)
    yield


def _wipe(settings: Settings) -> None:
    import redis
    from pymongo import MongoClient

    mongo: MongoClient[Any] = MongoClient(settings.mongo_url)
    db = mongo[settings.mongo_db]
    for name in db.list_collection_names():
        db[name].delete_many({})
    mongo.close()
    client = redis.Redis.from_url(settings.redis_url)
    keys = list(client.scan_iter("wx:*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture(scope="session")
async def db(backend: Backend) -> AsyncIterator[None]:
    """Beanie initialised on the test Mongo db, on the tests' (session) event loop."""
    from app.db import init_db

    client = await init_db(backend.settings)
    yield
    await client.close()


@pytest.fixture
async def backend_redis(backend: Backend) -> AsyncIterator[Any]:
    """An async client of the Redis the session's API and worker use."""
    from redis.asyncio import Redis

    client = Redis.from_url(backend.settings.redis_url)
    yield client
    await client.aclose()
