"""Bearer tokens, tampered as an attacker would, against the real API process: every bad
token is 401 on REST and a refused handshake on the socket, and nothing is created."""

from __future__ import annotations

import base64
import subprocess
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import httpx
import jwt
import orjson
import pytest
import websockets
from pymongo import MongoClient

from app.auth import mint_token
from app.protocol import utc_now
from tests.helpers import VENV_BIN
from tests.integration.conftest import Backend

pytestmark = [
    pytest.mark.usefixtures("clean_db"),
    # the HS512 forgery signs with the HS256 secret, shorter than HS512 would want
    pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning"),
]

WRITE_COLLECTIONS = ("projects", "jobs", "chat_sessions", "chat_messages", "webhooks")


@pytest.fixture
def mongo(backend: Backend) -> Iterator[Any]:
    client: MongoClient[Any] = MongoClient(backend.settings.mongo_url)
    yield client[backend.settings.mongo_db]
    client.close()


def _claims(tenant: object = "tenant-a", sub: object = "user", ttl_s: int = 600) -> dict[str, Any]:
    now = utc_now()
    return {"sub": sub, "tenant_id": tenant, "iat": now, "exp": now + timedelta(seconds=ttl_s)}


def _signed(backend: Backend, claims: dict[str, Any], **kwargs: Any) -> str:
    return jwt.encode(claims, backend.settings.jwt_secret.get_secret_value(), **kwargs)


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(data, default=str)).rstrip(b"=").decode()


def _unsigned(claims: dict[str, Any]) -> str:
    """`alg: none`, no signature (what a library that trusts the header would accept)."""
    body = {**claims, "iat": int(claims["iat"].timestamp()), "exp": int(claims["exp"].timestamp())}
    return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(body)}."


def _tampered(backend: Backend, tenant: str) -> str:
    """A valid token for tenant-a whose payload now says `tenant` (the signature kept)."""
    header, _, signature = _signed(backend, _claims("tenant-a"), algorithm="HS256").split(".")
    claims = _claims(tenant)
    body = {**claims, "iat": int(claims["iat"].timestamp()), "exp": int(claims["exp"].timestamp())}
    return f"{header}.{_b64(body)}.{signature}"


def _bad_tokens(backend: Backend) -> dict[str, str]:
    secret = backend.settings.jwt_secret.get_secret_value()
    no_exp = {k: v for k, v in _claims().items() if k != "exp"}
    no_sub = {k: v for k, v in _claims().items() if k != "sub"}
    no_tenant = {k: v for k, v in _claims().items() if k != "tenant_id"}
    return {
        "alg-none": _unsigned(_claims()),
        "wrong-key": jwt.encode(_claims(), secret + "x", algorithm="HS256"),
        "hs512-same-key": jwt.encode(_claims(), secret, algorithm="HS512"),
        "expired": _signed(backend, _claims(ttl_s=-60), algorithm="HS256"),
        "no-exp": _signed(backend, no_exp, algorithm="HS256"),
        "no-sub": _signed(backend, no_sub, algorithm="HS256"),
        "no-tenant": _signed(backend, no_tenant, algorithm="HS256"),
        "tampered-tenant": _tampered(backend, "tenant-b"),
        "garbage": "not.a.token",
        "empty-sub": _signed(backend, _claims(sub=""), algorithm="HS256"),
        "newline-sub": _signed(backend, _claims(sub="a\nb"), algorithm="HS256"),
        "long-sub": _signed(backend, _claims(sub="s" * 300), algorithm="HS256"),
    }


ODD_TENANTS: list[object] = [
    "../x", "a/b", "a\nb", "a\rb", "..", ".", ".x", "-x", "_x", "x..y", "a b", "a\\b",
    "a\x00b", "", " ", "t" * 65, "\uff54enant", "tenant%2f..", 5, 1.5, None, True, ["a"], {"a": 1},
]


def _refused_everywhere(api_server: str, token: str, mongo: Any) -> None:
    headers = {"authorization": f"Bearer {token}"}
    for method, path, body in (("GET", "/api/projects", None),
                               ("POST", "/api/projects", {"name": "p"}),
                               ("GET", "/api/limits", None), ("GET", "/api/usage", None),
                               ("POST", "/api/webhooks", {"url": "http://127.0.0.1:9/x"})):
        response = httpx.request(method, f"{api_server}{path}", json=body, headers=headers)
        assert response.status_code == 401, (method, path, response.status_code, response.text)
        assert response.json()["code"] == "unauthorized"
        assert response.json()["message"] in ("Invalid token", "Token expired")
    for name in WRITE_COLLECTIONS:
        assert mongo[name].count_documents({}) == 0, name


@pytest.mark.parametrize("case", ["alg-none", "wrong-key", "hs512-same-key", "expired", "no-exp",
                                  "no-sub", "no-tenant", "tampered-tenant", "garbage",
                                  "empty-sub", "newline-sub", "long-sub"])
async def test_a_tampered_token_is_refused(
    api_server: str, backend: Backend, mongo: Any, case: str
) -> None:
    token = _bad_tokens(backend)[case]
    _refused_everywhere(api_server, token, mongo)
    url = api_server.replace("http://", "ws://") + "/ws/chat/000000000000000000000000"
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with websockets.connect(url, subprotocols=["bearer", token]):  # type: ignore[list-item]
            pass
    assert refused.value.response.status_code == 403


@pytest.mark.parametrize("tenant", ODD_TENANTS, ids=lambda t: repr(t)[:20])
async def test_a_tenant_id_that_could_not_name_a_container_is_refused(
    api_server: str, backend: Backend, mongo: Any, tenant: object
) -> None:
    token = _signed(backend, _claims(tenant), algorithm="HS256")  # signed with the real key
    _refused_everywhere(api_server, token, mongo)
    url = api_server.replace("http://", "ws://") + "/ws/chat/000000000000000000000000"
    with pytest.raises(websockets.InvalidStatus):
        async with websockets.connect(url, subprotocols=["bearer", token]):  # type: ignore[list-item]
            pass


def test_a_200_kb_tenant_id_is_refused(api_server: str, backend: Backend, mongo: Any) -> None:
    token = _signed(backend, _claims("t" * 200_000), algorithm="HS256")
    _refused_everywhere(api_server, token, mongo)


@pytest.mark.parametrize("tenant", ["../x", "a/b", "a\nb", "t" * 65, ""])
def test_tokens_are_never_minted_for_an_odd_tenant(backend: Backend, tenant: str) -> None:
    with pytest.raises(ValueError, match="invalid tenant id"):
        mint_token(backend.settings, tenant_id=tenant)
    cli = subprocess.run([str(VENV_BIN / "wxrunner"), "token", "--tenant", tenant],
                         capture_output=True, text=True, timeout=60, env=None)
    assert cli.returncode == 2 and "invalid tenant id" in cli.stderr
    assert "Traceback" not in cli.stderr


def test_a_valid_token_still_works_and_only_for_its_tenant(
    api_server: str, make_token: Callable[[str], str], tenant_id: str
) -> None:
    mine = {"authorization": f"Bearer {make_token(tenant_id)}"}
    project = httpx.post(f"{api_server}/api/projects", json={"name": "p"}, headers=mine)
    assert project.status_code == 201
    other = {"authorization": f"Bearer {make_token(tenant_id + '-b')}"}
    stolen = httpx.get(f"{api_server}/api/projects/{project.json()['id']}", headers=other)
    assert stolen.status_code == 404 and stolen.json()["code"] == "not_found"
