"""`wxrunner token`: mint a development bearer token."""

from __future__ import annotations

import typer


def register(cli: typer.Typer) -> None:
    cli.command("token")(token)


def token(
    tenant: str = typer.Option(..., "--tenant", help="tenant id the token is for"),
    sub: str = typer.Option("dev", "--sub", help="subject (user id)"),
    ttl_s: int | None = typer.Option(None, "--ttl", help="lifetime in seconds"),
) -> None:
    """Print a signed JWT for TENANT (HS256, secret from WX_JWT_SECRET)."""
    from app.auth import mint_token
    from app.settings import get_settings

    typer.echo(mint_token(get_settings(), tenant_id=tenant, sub=sub, ttl_s=ttl_s))
