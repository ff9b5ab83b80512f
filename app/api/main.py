"""The API's router: one APIRouter per resource."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.routes import (
    chat,
    credentials,
    files,
    health,
    jobs,
    limits,
    projects,
    sessions,
    signin,
    usage,
    webhooks,
    ws,
)

api_router = APIRouter()
for _module in (projects, files, chat, jobs, sessions, usage, limits, credentials, webhooks,
                signin,
                health, ws):
    api_router.include_router(_module.router)

__all__ = ["api_router"]
