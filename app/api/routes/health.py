"""Liveness, readiness (Redis, Mongo, a Celery worker, and the worker hosts: Docker is
checked through them, since the API has no Docker socket) and Prometheus metrics."""

from __future__ import annotations

import asyncio
import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis.asyncio import Redis

from app.api.deps import RedisDep, SettingsDep
from app.api.routes._responses import errors
from app.api.schemas import HealthPublic, ReadyPublic
from app.errors import NotFound, Unauthorized
from app.metrics import REGISTRY, refresh_scrape_metrics
from app.services.hosts import alive_hosts

router = APIRouter(tags=["health"])

_CHECK_TIMEOUT_S = 3.0
_WORKER_PING_TIMEOUT_S = 1.0


@router.get("/healthz", response_model=HealthPublic)
async def healthz() -> HealthPublic:
    """The process is up."""
    return HealthPublic()


@router.get("/readyz", response_model=ReadyPublic,
            responses={503: {"model": ReadyPublic, "description": "A dependency failed"}})
async def readyz(request: Request, redis: RedisDep) -> JSONResponse:
    """Every dependency answers; 503 names the ones that do not."""
    checks: dict[str, Any] = {
        "redis": redis.ping(),
        "mongo": request.app.state.mongo.admin.command("ping"),
        "worker": asyncio.to_thread(_ping_worker, request.app.state.celery),
        "hosts": _check_hosts(redis),
    }
    results = await asyncio.gather(
        *(asyncio.wait_for(c, _CHECK_TIMEOUT_S) for c in checks.values()), return_exceptions=True
    )
    status = {name: _describe(r) for name, r in zip(checks, results, strict=True)}
    ok = all(v == "ok" for v in status.values())
    body = ReadyPublic(status="ok" if ok else "unavailable", checks=status)
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)


def _metrics_access(request: Request, settings: SettingsDep) -> None:
    """`Authorization: Bearer <metrics_token>`; with no token set, 404 in prod, open else."""
    expected = settings.metrics_token
    if expected is None:
        if settings.env == "prod":
            raise NotFound()
        return
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        given.strip().encode(), expected.get_secret_value().encode()
    ):
        raise Unauthorized("Missing or wrong metrics token")


@router.get("/metrics", response_class=Response,
            responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}, **errors(401, 404)})
async def metrics(_: Annotated[None, Depends(_metrics_access)], redis: RedisDep) -> Response:
    """Prometheus metrics (bearer `WX_METRICS_TOKEN`; every tenant's usage is in them)."""
    await refresh_scrape_metrics(redis)
    body = await asyncio.to_thread(generate_latest, REGISTRY)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


def _describe(result: object) -> str:
    if isinstance(result, BaseException):
        return f"failed: {type(result).__name__}: {result}"[:200]
    return "ok" if result not in (False, None) else "failed"


def _ping_worker(celery: Any) -> bool:
    replies = celery.control.ping(timeout=_WORKER_PING_TIMEOUT_S)
    if not replies:
        raise RuntimeError("no Celery worker answered")
    return True


async def _check_hosts(redis: Redis) -> bool:
    """A worker host is alive, and every alive Docker host reaches its dockerd."""
    hosts = await alive_hosts(redis)
    if not hosts:
        raise RuntimeError("no worker host in the registry")
    down = [h.host for h in hosts if h.executor == "docker" and not h.docker]
    if down:
        raise RuntimeError(f"docker not reachable on {', '.join(down)}")
    return True
