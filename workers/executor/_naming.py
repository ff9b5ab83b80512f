"""Ids, names and paths of a tenant's sandbox, validated so no id can escape its folder."""

from __future__ import annotations

import re
from typing import Final

from app.errors import BadRequest

__all__ = [
    "CONFIG_DIR_IN_CONTAINER",
    "HOME_IN_CONTAINER",
    "RUN_DIR_IN_CONTAINER",
    "WORKSPACE_IN_CONTAINER",
    "check_id",
    "container_name",
    "volume_names",
]

_ID: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")

HOME_IN_CONTAINER: Final = "/home/wx"
CONFIG_DIR_IN_CONTAINER: Final = f"{HOME_IN_CONTAINER}/.claude"
WORKSPACE_IN_CONTAINER: Final = "/workspace"
RUN_DIR_IN_CONTAINER: Final = "/tmp/wx-run"  # pid files of running claude processes


def check_id(kind: str, value: str) -> str:
    """`value` if it is a safe id (letters, digits, `_.-`, no `..`), else BadRequest."""
    if not _ID.fullmatch(value) or ".." in value:
        raise BadRequest(f"invalid {kind} id", field=kind)
    return value


def container_name(tenant_id: str) -> str:
    return f"wx-tenant-{check_id('tenant', tenant_id)}"


def volume_names(tenant_id: str) -> tuple[str, str]:
    """(workspace volume, claude home volume) of a tenant."""
    check_id("tenant", tenant_id)
    return f"wx-ws-{tenant_id}", f"wx-cfg-{tenant_id}"
