"""Ids, names and paths of a tenant's sandbox, validated so no id can escape its folder."""

from __future__ import annotations

import posixpath
from typing import Final

from app.tarstream import check_entry_path
from app.tenancy import check_id

__all__ = [
    "CONFIG_DIR_IN_CONTAINER",
    "HOME_IN_CONTAINER",
    "RUN_DIR_IN_CONTAINER",
    "WORKSPACE_IN_CONTAINER",
    "WX_USER",
    "check_id",
    "container_name",
    "inside",
    "volume_names",
]

HOME_IN_CONTAINER: Final = "/home/wx"
CONFIG_DIR_IN_CONTAINER: Final = f"{HOME_IN_CONTAINER}/.claude"
WORKSPACE_IN_CONTAINER: Final = "/workspace"
WX_USER: Final = "1000:1000"  # the tenant's user in its container
RUN_DIR_IN_CONTAINER: Final = "/tmp/wx-run"  # pid files of running claude processes


def container_name(tenant_id: str) -> str:
    return f"wx-tenant-{check_id('tenant', tenant_id)}"


def volume_names(tenant_id: str) -> tuple[str, str]:
    """(workspace volume, claude home volume) of a tenant."""
    check_id("tenant", tenant_id)
    return f"wx-ws-{tenant_id}", f"wx-cfg-{tenant_id}"


def inside(workdir: str, path: str) -> str:
    """`path` (relative; "" for the folder itself) joined to `workdir`; BadRequest when it
    would escape it."""
    if path in ("", "."):
        return workdir
    return posixpath.join(workdir, check_entry_path(path, max_length=4096))
