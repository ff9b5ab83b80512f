"""`wxrunner api`: serve the API (uvicorn) with the runner's own server options."""

from __future__ import annotations

import typer


def register(cli: typer.Typer) -> None:
    cli.command("api")(api)


def api(
    host: str | None = typer.Option(None, help="address (default: settings api_host)"),
    port: int | None = typer.Option(None, help="port (default: settings api_port)"),
    proxy_headers: bool = typer.Option(False, "--proxy-headers",
                                       help="trust X-Forwarded-* (behind a TLS proxy only)"),
    ws_ping_interval: float = typer.Option(20.0, help="WebSocket keep-alive ping (s)"),
    access_log: bool = typer.Option(True, "--access-log/--no-access-log"),
) -> None:
    """Serve the REST API and the chat WebSocket."""
    import uvicorn

    from app.settings import get_settings

    settings = get_settings()
    uvicorn.run(
        "app.main:create_app", factory=True, host=host or settings.api_host,
        port=port or settings.api_port, proxy_headers=proxy_headers,
        forwarded_allow_ips="*" if proxy_headers else None,
        ws_ping_interval=ws_ping_interval,
        # Chat frames are small and many: compressing them costs CPU on every frame and a
        # compressor's memory on every socket, for little gain.
        ws_per_message_deflate=False,
        access_log=access_log, log_config=None,
    )
