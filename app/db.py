"""The stores' clients of a process, each opened once on the loop that uses it: one
AsyncMongoClient with Beanie initialised on it, and one Redis client."""

from __future__ import annotations

from beanie import init_beanie
from pymongo import AsyncMongoClient
from redis.asyncio import Redis

from app.models import DOCUMENT_MODELS
from app.settings import Settings


async def init_db(settings: Settings) -> AsyncMongoClient:  # type: ignore[type-arg]
    client: AsyncMongoClient = AsyncMongoClient(  # type: ignore[type-arg]
        settings.mongo_url, tz_aware=True, serverSelectionTimeoutMS=5000
    )
    await init_beanie(database=client[settings.mongo_db], document_models=DOCUMENT_MODELS)
    return client


def open_redis(settings: Settings) -> Redis:
    """The process's Redis client. Its connections skip CLIENT SETINFO: redis-py reads its
    own version from the package metadata for every new connection (~1 ms), and a burst of
    turns opens a hundred at once."""
    return Redis.from_url(settings.redis_url, driver_info=None)
