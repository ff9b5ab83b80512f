"""The API's router: one APIRouter per resource."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.routes import (
    chat,
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
for _module in (projects, files, chat, jobs, sessions, usage, limits, webhooks, signin,
                health, ws):
    api_router.include_router(_module.router)

__all__ = ["api_router"]
