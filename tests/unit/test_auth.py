"""Bearer tokens: mint, verify, and every way a token is refused."""

from __future__ import annotations

from datetime import timedelta

import jwt
import pytest

from app.auth import Principal, mint_token, verify_token
from app.errors import ErrorCode, Unauthorized
from app.protocol import utc_now
from app.settings import Settings

SETTINGS = Settings(jwt_secret="unit-test-secret-0123456789abcdef0123")


def _encode(claims: dict[str, object], secret: str | None = None) -> str:
    key = secret or SETTINGS.jwt_secret.get_secret_value()
    return jwt.encode(claims, key, algorithm="HS256")


def test_round_trip() -> None:
    token = mint_token(SETTINGS, tenant_id="acme", sub="ana")
    assert verify_token(SETTINGS, token) == Principal(sub="ana", tenant_id="acme")


def test_expired_token_is_refused() -> None:
    token = mint_token(SETTINGS, tenant_id="acme", ttl_s=-5)
    with pytest.raises(Unauthorized) as info:
        verify_token(SETTINGS, token)
    assert info.value.code == ErrorCode.UNAUTHORIZED
    assert "expired" in info.value.message.lower()


def test_wrong_secret_is_refused() -> None:
    token = mint_token(Settings(jwt_secret="another-secret-0123456789abcdef01234"), tenant_id="a")
    with pytest.raises(Unauthorized):
        verify_token(SETTINGS, token)


@pytest.mark.parametrize("missing", ["tenant_id", "sub", "exp"])
def test_missing_claim_is_refused(missing: str) -> None:
    claims: dict[str, object] = {"sub": "u", "tenant_id": "acme",
                                 "exp": utc_now() + timedelta(minutes=5)}
    del claims[missing]
    with pytest.raises(Unauthorized):
        verify_token(SETTINGS, _encode(claims))


def test_empty_tenant_is_refused() -> None:
    claims = {"sub": "u", "tenant_id": "", "exp": utc_now() + timedelta(minutes=5)}
    with pytest.raises(Unauthorized):
        verify_token(SETTINGS, _encode(claims))


def test_other_algorithm_is_refused() -> None:
    claims = {"sub": "u", "tenant_id": "acme", "exp": utc_now() + timedelta(minutes=5)}
    token = jwt.encode(claims, SETTINGS.jwt_secret.get_secret_value(), algorithm="HS512")
    with pytest.raises(Unauthorized):
        verify_token(SETTINGS, token)


def test_garbage_is_refused() -> None:
    with pytest.raises(Unauthorized):
        verify_token(SETTINGS, "not-a-jwt")
