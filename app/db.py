"""One AsyncMongoClient per process (per Celery child, created after the fork, on the
loop that uses it), and Beanie initialised on it."""

from __future__ import annotations

from beanie import init_beanie
from pymongo import AsyncMongoClient

from app.models import DOCUMENT_MODELS
from app.settings import Settings


async def init_db(settings: Settings) -> AsyncMongoClient:  # type: ignore[type-arg]
    client: AsyncMongoClient = AsyncMongoClient(  # type: ignore[type-arg]
        settings.mongo_url, tz_aware=True, serverSelectionTimeoutMS=5000
    )
    await init_beanie(database=client[settings.mongo_db], document_models=DOCUMENT_MODELS)
    return client
