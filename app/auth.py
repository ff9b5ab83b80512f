"""Bearer tokens (DESIGN §8): HS256 JWTs with `sub`, `tenant_id` and `exp`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import jwt

from app.errors import Unauthorized
from app.protocol import utc_now
from app.settings import Settings

__all__ = ["Principal", "mint_token", "verify_token"]


@dataclass(frozen=True)
class Principal:
    """Who is calling: the token's subject and tenant."""

    sub: str
    tenant_id: str


def mint_token(
    settings: Settings, *, tenant_id: str, sub: str = "dev", ttl_s: int | None = None
) -> str:
    """A signed token for `tenant_id`, valid `ttl_s` seconds (default: dev_token_ttl_s)."""
    if not tenant_id:
        raise ValueError("tenant_id must not be empty")
    now = utc_now()
    claims = {
        "sub": sub,
        "tenant_id": tenant_id,
        "iat": now,
        "exp": now + timedelta(seconds=settings.dev_token_ttl_s if ttl_s is None else ttl_s),
    }
    secret = settings.jwt_secret.get_secret_value()
    return jwt.encode(claims, secret, algorithm=settings.jwt_algorithm)


def verify_token(settings: Settings, token: str) -> Principal:
    """The token's principal, or `Unauthorized` (bad signature, expired, missing claims)."""
    try:
        claims = jwt.decode(
            token,
            settings.jwt_secret.get_secret_value(),
            algorithms=[settings.jwt_algorithm],
            options={"require": ["exp", "sub", "tenant_id"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("Token expired") from exc
    except jwt.PyJWTError as exc:
        raise Unauthorized("Invalid token") from exc
    tenant_id, sub = claims.get("tenant_id"), claims.get("sub")
    if not isinstance(tenant_id, str) or not tenant_id or not isinstance(sub, str):
        raise Unauthorized("Invalid token")
    return Principal(sub=sub, tenant_id=tenant_id)
