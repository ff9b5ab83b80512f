"""The one rule for ids that name a tenant's sandbox (container, volumes, folders): the
API checks a token's tenant with it, the executors name containers with it."""

from __future__ import annotations

import re
from typing import Final, TypeGuard

from app.errors import BadRequest

__all__ = ["ID_MAX_LENGTH", "check_id", "is_safe_id"]

ID_MAX_LENGTH: Final = 64
_ID: Final = re.compile(rf"[A-Za-z0-9][A-Za-z0-9_.-]{{0,{ID_MAX_LENGTH - 1}}}")


def is_safe_id(value: object) -> TypeGuard[str]:
    """Letters, digits and `_.-`, starting with a letter or digit, at most 64, no `..`."""
    return isinstance(value, str) and _ID.fullmatch(value) is not None and ".." not in value


def check_id(kind: str, value: str) -> str:
    """`value` if it is a safe id, else BadRequest naming `kind`."""
    if not is_safe_id(value):
        raise BadRequest(f"invalid {kind} id", field=kind)
    return value
