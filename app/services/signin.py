"""One-time sign-in codes: the run command's link carries a code, not a token. A code lives
`signin_code_ttl_s` in Redis and is consumed by the one request that redeems it."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Final

import orjson
from redis.asyncio import Redis

from app.auth import mint_token
from app.errors import Unauthorized
from app.keys import signin_code_key
from app.settings import Settings
from app.tenancy import is_safe_id

__all__ = ["SignedIn", "issue_signin_code", "redeem_signin_code"]

_CODE: Final = re.compile(r"[A-Za-z0-9_-]{32,64}")


@dataclass(frozen=True)
class SignedIn:
    token: str
    tenant_id: str


async def issue_signin_code(
    redis: Redis, settings: Settings, *, tenant_id: str, sub: str = "dev"
) -> str:
    """A fresh code that signs in `sub` of `tenant_id` once, within the TTL."""
    if not is_safe_id(tenant_id):
        raise ValueError(f"invalid tenant id {tenant_id[:80]!r}")
    code = secrets.token_urlsafe(32)
    who = orjson.dumps({"tenant_id": tenant_id, "sub": sub})
    await redis.set(signin_code_key(code), who, ex=settings.signin_code_ttl_s, nx=True)
    return code


async def redeem_signin_code(redis: Redis, settings: Settings, code: str) -> SignedIn:
    """The token of a valid code (deleted as it is read), else Unauthorized."""
    who = await redis.getdel(signin_code_key(code)) if _CODE.fullmatch(code) else None
    if who is None:
        raise Unauthorized("This sign-in code is invalid, used or expired.")
    claims = orjson.loads(who)
    token = mint_token(settings, tenant_id=claims["tenant_id"], sub=claims["sub"])
    return SignedIn(token=token, tenant_id=claims["tenant_id"])
