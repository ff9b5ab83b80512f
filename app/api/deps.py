"""Dependencies as `Annotated` aliases: SettingsDep, RedisDep, RelayDep, TurnsDep, TenantDep."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from redis.asyncio import Redis

from app.auth import Principal, verify_token
from app.errors import Unauthorized
from app.logging import tenant_id_var
from app.relay import Relay
from app.services.turn_lifecycle import TurnDeps
from app.services.workspace import Workspaces
from app.settings import Settings

__all__ = [
    "PrincipalDep",
    "RedisDep",
    "RelayDep",
    "SettingsDep",
    "TenantDep",
    "TurnsDep",
    "WorkspacesDep",
]

_bearer = HTTPBearer(auto_error=False, description="JWT from `wxrunner token --tenant T`")


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _redis(request: Request) -> Redis:
    redis: Redis = request.app.state.redis
    return redis


def _relay(request: Request) -> Relay:
    relay: Relay = request.app.state.relay
    return relay


def _turns(request: Request) -> TurnDeps:
    turns: TurnDeps = request.app.state.turns
    return turns


def _workspaces(request: Request) -> Workspaces:
    workspaces: Workspaces = request.app.state.workspaces
    return workspaces


SettingsDep = Annotated[Settings, Depends(_settings)]
WorkspacesDep = Annotated[Workspaces, Depends(_workspaces)]
TurnsDep = Annotated[TurnDeps, Depends(_turns)]
RedisDep = Annotated[Redis, Depends(_redis)]
RelayDep = Annotated[Relay, Depends(_relay)]


def _principal(
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("Missing bearer token")
    return verify_token(settings, credentials.credentials)


PrincipalDep = Annotated[Principal, Depends(_principal)]


async def _tenant(principal: PrincipalDep) -> str:
    tenant_id_var.set(principal.tenant_id)  # log lines of this request carry the tenant
    return principal.tenant_id


TenantDep = Annotated[str, Depends(_tenant)]
