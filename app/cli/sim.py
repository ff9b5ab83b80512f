"""`wxrunner sim`: run the Anthropic Messages API simulator."""

from __future__ import annotations

import typer


def register(cli: typer.Typer) -> None:
    cli.command("sim")(sim)


def sim(
    port: int | None = typer.Option(None, help="port (default: settings sim_port)"),
    host: str | None = typer.Option(None, help="address (default: settings sim_host, 127.0.0.1)"),
    chars_per_s: float | None = typer.Option(None, help="text streaming rate"),
) -> None:
    """Serve the fake Anthropic API that Claude Code talks to in dev and tests."""
    import logging

    import uvicorn

    from app.pricing import load_price_table
    from app.settings import get_settings
    from workers.simulator import create_app

    settings = get_settings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(name)s %(message)s")
    app = create_app(chars_per_s=chars_per_s or settings.sim_chars_per_s,
                     prices=load_price_table(settings.price_table))
    uvicorn.run(app, host=host or settings.sim_host, port=port or settings.sim_port,
                log_level="warning")
