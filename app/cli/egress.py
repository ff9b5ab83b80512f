"""`wxrunner egress`: the egress proxy, tenant containers' only way to the model API."""

from __future__ import annotations

import typer


def register(cli: typer.Typer) -> None:
    cli.command("egress")(egress)


def egress() -> None:
    """Serve the egress proxy on WX_EGRESS_DIR/egress.sock (allows only the model API)."""
    import asyncio

    from app.logging import configure_logging
    from app.settings import get_settings
    from workers.egress_proxy import serve

    settings = get_settings()
    configure_logging(settings)
    try:
        asyncio.run(serve(settings))
    except KeyboardInterrupt:
        pass
    except (OSError, ValueError) as exc:
        raise typer.BadParameter(f"cannot serve the egress proxy: {exc}") from exc
