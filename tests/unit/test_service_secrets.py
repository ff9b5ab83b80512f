"""Service URLs with credentials: built, masked, and placeholder passwords refused in prod."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from app.service_secrets import ServiceSecrets, mask_url, with_credentials
from app.settings import Settings

SECRETS = ServiceSecrets("r-pass", "wxrunner", "m/pass@:x")


def test_redis_url_gets_the_password() -> None:
    assert SECRETS.redis_url("redis://127.0.0.1:6380/0") == "redis://:r-pass@127.0.0.1:6380/0"


def test_mongo_url_gets_the_user_quoted_and_the_auth_source() -> None:
    assert SECRETS.mongo_url("mongodb://127.0.0.1:27017") == (
        "mongodb://wxrunner:m%2Fpass%40%3Ax@127.0.0.1:27017/?authSource=admin")
    assert SECRETS.mongo_url("mongodb://h:1/?replicaSet=rs0") == (
        "mongodb://wxrunner:m%2Fpass%40%3Ax@h:1/?replicaSet=rs0&authSource=admin")


def test_a_url_with_its_own_credentials_is_kept() -> None:
    url = "redis://:own@127.0.0.1:6380/0"
    assert SECRETS.redis_url(url) == url
    assert with_credentials("mongodb://u:p@h/?authSource=x", "a", "b",
                            auth_source="admin") == "mongodb://u:p@h/?authSource=x"


@pytest.mark.parametrize(("url", "masked"), [
    ("redis://:r-pass@127.0.0.1:6380/0", "redis://:***@127.0.0.1:6380/0"),
    ("mongodb://wxrunner:m%2Fp%40@h:27017/?authSource=admin",
     "mongodb://wxrunner:***@h:27017/?authSource=admin"),
    ("redis://127.0.0.1:6380/0", "redis://127.0.0.1:6380/0"),
])
def test_mask_url_hides_only_the_password(url: str, masked: str) -> None:
    assert mask_url(url) == masked


@pytest.mark.parametrize("name", ["redis_url", "mongo_url", "broker_url"])
def test_prod_refuses_the_placeholder_passwords_of_env_example(name: str) -> None:
    url = {"redis_url": "redis://:replace-with-the-output-of-openssl-rand-hex-32@redis:6379/0",
           "broker_url": "redis://:replace-with-x@redis:6379/0",
           "mongo_url": "mongodb://u:replace-with-x@mongo:27017/?authSource=admin"}[name]
    values: dict[str, Any] = {name: url}
    with pytest.raises(ValidationError, match=f"WX_{name.upper()} holds a placeholder"):
        Settings(env="prod", jwt_secret=SecretStr("s" * 40), **values)
    assert getattr(Settings(env="dev", **values), name) == url
