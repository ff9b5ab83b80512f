"""An API of the API tests' own: a real uvicorn process on the test Redis (database 1,
where no Celery worker listens, so queued turns stay in the broker lists to inspect)
and its own Mongo database, with small limits. Import `api` into a test module."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis as redis_sync
from pymongo import MongoClient

from app.auth import mint_token
from app.settings import Settings
from tests.helpers import (
    start_api_server,
)

__all__ = ["ApiEnv", "api"]

LIMIT_RUNNING = 2
LIMIT_QUEUED = 4
MAX_FRAME_BYTES = 4096


@dataclass
class ApiEnv:
    base_url: str
    settings: Settings
    mongo: MongoClient[Any]
    redis: redis_sync.Redis

    @property
    def ws_url(self) -> str:
        return self.base_url.replace("http://", "ws://")

    @property
    def db(self) -> Any:
        return self.mongo[self.settings.mongo_db]

    def token(self, tenant: str) -> str:
        return mint_token(self.settings, tenant_id=tenant, sub=f"user-{tenant}")

    def headers(self, tenant: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(tenant)}"}

    def client(self, tenant: str | None = None) -> httpx.AsyncClient:
        headers = self.headers(tenant) if tenant else {}
        return httpx.AsyncClient(base_url=self.base_url, headers=headers, timeout=10)


@pytest.fixture(scope="module")
def api(backend: Any, artifacts_dir: Path) -> Iterator[ApiEnv]:
    """A real API process (uvicorn) with the tests' settings; no workers on its Redis db."""
    redis_url = backend.settings.redis_url.rsplit("/", 1)[0] + "/1"
    test_backend = backend.with_overrides(
        redis_url=redis_url,
        mongo_db=f"wxapi_{uuid.uuid4().hex[:8]}",
        limit_running_turns=LIMIT_RUNNING,
        limit_queued_turns=LIMIT_QUEUED,
        ws_max_frame_bytes=MAX_FRAME_BYTES,
        executor="local",
    )
    proc, base_url = start_api_server(test_backend.env, artifacts_dir / "logs",
                                      "--ws-ping-interval", "5")
    settings = test_backend.settings
    env = ApiEnv(base_url, settings, MongoClient(settings.mongo_url),
                 redis_sync.Redis.from_url(redis_url))
    env.redis.flushdb()
    yield env
    proc.stop()
    env.mongo.drop_database(settings.mongo_db)
    env.mongo.close()
    env.redis.flushdb()
    env.redis.close()


def new_tenant() -> str:
    return f"t{uuid.uuid4().hex[:10]}"
