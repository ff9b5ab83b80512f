"""The one id rule of a tenant's sandbox: what the API accepts in a token is what the
executors can name a container with."""

from __future__ import annotations

import pytest

from app.errors import BadRequest
from app.tenancy import check_id, is_safe_id
from workers.executor._naming import container_name, volume_names


@pytest.mark.parametrize("value", ["a", "acme", "t0123456789", "a.b-c_d", "A" * 64])
def test_safe_ids_name_a_container(value: str) -> None:
    assert is_safe_id(value)
    assert container_name(value) == f"wx-tenant-{value}"
    assert volume_names(value) == (f"wx-ws-{value}", f"wx-cfg-{value}")


@pytest.mark.parametrize("value", ["", "../x", "a/b", "a\nb", "..", ".a", "-a", "a..b", "a b",
                                   "A" * 65, "\uff54", "a\x00", 5, None, ["a"]])
def test_unsafe_ids_are_refused_everywhere(value: object) -> None:
    assert not is_safe_id(value)
    if isinstance(value, str):
        with pytest.raises(BadRequest):
            check_id("tenant", value)
        with pytest.raises(BadRequest):
            container_name(value)
