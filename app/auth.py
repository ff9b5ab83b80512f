"""Bearer tokens (DESIGN §8): HS256 JWTs with `sub`, `tenant_id` and `exp`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TypeGuard

import jwt

from app.errors import Unauthorized
from app.protocol import utc_now
from app.settings import Settings
from app.tenancy import is_safe_id

__all__ = ["Principal", "mint_token", "verify_token"]

_SUB_MAX_LENGTH = 256


@dataclass(frozen=True)
class Principal:
    """Who is calling: the token's subject and tenant."""

    sub: str
    tenant_id: str


def mint_token(
    settings: Settings, *, tenant_id: str, sub: str = "dev", ttl_s: int | None = None
) -> str:
    """A signed token for `tenant_id`, valid `ttl_s` seconds (default: dev_token_ttl_s)."""
    if not is_safe_id(tenant_id):
        raise ValueError(f"invalid tenant id {tenant_id[:80]!r}: letters, digits and _.- "
                         "(starting with a letter or digit, at most 64, no '..')")
    if not _is_safe_subject(sub):
        raise ValueError("sub must be 1 to 256 printable characters")
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
    """The token's principal, or `Unauthorized` (bad signature, expired, missing claims, a
    tenant id that could not name a container)."""
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
    if not is_safe_id(tenant_id) or not _is_safe_subject(sub):
        raise Unauthorized("Invalid token")
    return Principal(sub=sub, tenant_id=tenant_id)


def _is_safe_subject(sub: object) -> TypeGuard[str]:
    return isinstance(sub, str) and 0 < len(sub) <= _SUB_MAX_LENGTH and sub.isprintable()
