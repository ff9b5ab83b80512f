"""The FastAPI application: routers, error handlers, and a lifespan that opens one Redis
client, Mongo (Beanie), one relay (pub/sub listener) and the task sender."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from app.api.errors import install_error_handlers
from app.api.main import api_router
from app.api.middleware import BodyLimit, SecurityHeaders
from app.credentials import credential_cipher
from app.db import init_db, open_redis
from app.events import EventPublisher
from app.logging import configure_logging
from app.relay import Relay
from app.services.admission import Admissions
from app.services.turn_lifecycle import TurnDeps
from app.services.workspace import Workspaces
from app.settings import Settings, get_settings
from app.taskqueue import CelerySender, make_celery

__all__ = ["create_app"]


def create_app(settings: Settings | None = None) -> FastAPI:
    """The API; `uvicorn app.main:create_app --factory` (settings from WX_* env vars)."""
    settings = settings or get_settings()
    configure_logging(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        redis = open_redis(settings)
        mongo = await init_db(settings)
        relay = Relay(redis, queue_size=settings.ws_queue_size,
                      outage_window_s=settings.outage_window_s)
        await relay.start()
        sender = CelerySender(make_celery(settings))
        app.state.settings = settings
        app.state.redis = redis
        app.state.mongo = mongo
        app.state.relay = relay
        app.state.celery = sender.celery
        app.state.workspaces = Workspaces(settings=settings, redis=redis)
        publisher = EventPublisher(redis, maxlen=settings.stream_maxlen,
                                   ttl_s=settings.stream_ttl_s, coalesce=True)
        app.state.turns = TurnDeps(settings=settings, redis=redis, sender=sender,
                                   publisher=publisher,
                                   admissions=Admissions(settings, redis, publisher, sender))
        try:
            yield
        finally:
            await relay.close()
            sender.close()
            await redis.aclose()
            await mongo.close()

    app = FastAPI(
        title="wxcode runner",
        version="0.1.0",
        description="Chat with Claude Code about a project: WebSocket `/ws/chat/{project_id}` "
        "(subprotocol `bearer, <jwt>`) or the REST fallback with Server-Sent Events.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    # Made here, not in the lifespan: a bad WX_CREDENTIAL_KEY stops the API from starting.
    app.state.credential_cipher = credential_cipher(settings)
    # outermost last: every answer (a 413 and CORS preflights too) gets the headers
    app.add_middleware(BodyLimit, max_bytes=settings.request_max_bytes)
    app.add_middleware(
        CORSMiddleware, allow_origins=settings.cors_origins, allow_credentials=True,
        allow_methods=["*"], allow_headers=["*"],
    )
    app.add_middleware(SecurityHeaders)
    install_error_handlers(app)
    app.include_router(api_router)
    return app
