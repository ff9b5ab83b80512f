"""A tenant container's way out: the egress proxy's socket folder mounted read-only, a
forwarder (socat) on the container's own 127.0.0.1 that the container starts and restarts,
and the proxy variables Claude Code honours (checked with 2.1.332: HTTPS_PROXY makes it
CONNECT api.anthropic.com:443; HTTP_PROXY sends the simulator's http:// requests in
absolute form, also to 127.0.0.1, which inside the container is the forwarder's loopback)."""

from __future__ import annotations

from typing import Any, Final

from app.errors import ExecutorFailed
from app.settings import Settings
from workers.egress_proxy import probe_socket

__all__ = [
    "EGRESS_DIR_IN_CONTAINER",
    "check_proxy",
    "container_options",
    "ensure_forwarder",
    "proxy_env",
]

EGRESS_DIR_IN_CONTAINER: Final = "/run/wx-egress"
_SOCKET_NAME: Final = "egress.sock"
_UNIX_SOCKET_MAX: Final = 107  # sun_path holds 108 bytes, NUL included


def _socat(settings: Settings) -> str:
    return (f"socat TCP-LISTEN:{settings.egress_forward_port},bind=127.0.0.1,reuseaddr,fork "
            f"UNIX-CONNECT:{EGRESS_DIR_IN_CONTAINER}/{_SOCKET_NAME}")


def _listening(settings: Settings) -> str:
    """Shell test: something listens on the forwarder's 127.0.0.1 port (no connection made)."""
    return (f"grep -q '0100007F:{settings.egress_forward_port:04X} 00000000:0000 0A' "
            "/proc/net/tcp")


def container_options(settings: Settings) -> dict[str, Any]:
    """Options of containers.run(): the network, and with the egress proxy its socket's
    folder (or volume) mounted read-only and the forwarder as the container's command
    (started again a second after it dies)."""
    if not settings.tenant_egress:
        return {"network_mode": settings.container_network}
    _check_socket_path(settings)
    return {
        "network_mode": settings.container_network,
        "volumes": {settings.egress_volume or str(settings.egress_socket.parent):
                    {"bind": EGRESS_DIR_IN_CONTAINER, "mode": "ro"}},
        "command": ["/bin/sh", "-c",
                    f"while :; do {_listening(settings)} || {_socat(settings)}; sleep 1; done"],
    }


def ensure_forwarder(settings: Settings) -> str:
    """Shell run before each claude: start a forwarder when none listens (tenant code, same
    uid, may have killed the container's), then wait up to 2 s for it to listen."""
    if not settings.tenant_egress:
        return ""
    up = _listening(settings)
    return (f"{up} || {{ setsid {_socat(settings)} </dev/null >/dev/null 2>&1 & "
            f"i=0; until {up} || [ $i -ge 40 ]; do sleep 0.05; i=$((i+1)); done; }}; ")


def proxy_env(settings: Settings) -> dict[str, str]:
    """The exec's proxy variables: every API call of claude goes through the forwarder."""
    if not settings.tenant_egress:
        return {}
    proxy = f"http://127.0.0.1:{settings.egress_forward_port}"
    return {"HTTPS_PROXY": proxy, "HTTP_PROXY": proxy, "https_proxy": proxy,
            "http_proxy": proxy, "NO_PROXY": "", "no_proxy": ""}


def check_proxy(settings: Settings) -> None:
    """ExecutorFailed at once when the egress proxy does not answer (a turn would hang on
    Claude Code's retries otherwise)."""
    if not settings.tenant_egress:
        return
    problem = probe_socket(settings.egress_socket)
    if problem is not None:
        raise ExecutorFailed(
            f"the egress proxy is not answering on {settings.egress_socket} ({problem}): "
            "tenant containers have no other way to the model API; start `wxrunner egress`")


def _check_socket_path(settings: Settings) -> None:
    if len(str(settings.egress_socket).encode()) > _UNIX_SOCKET_MAX:
        raise ExecutorFailed(f"the egress socket path {settings.egress_socket} is longer than "
                             f"{_UNIX_SOCKET_MAX} bytes: set WX_EGRESS_DIR to a shorter folder")
