"""`wxrunner token`: mint a development bearer token; `wxrunner signin`: a one-time
sign-in link for the UI."""

from __future__ import annotations

import asyncio

import typer

from app.settings import Settings


def register(cli: typer.Typer) -> None:
    cli.command("token")(token)
    cli.command("signin")(signin)


def token(
    tenant: str = typer.Option(..., "--tenant", help="tenant id the token is for"),
    sub: str = typer.Option("dev", "--sub", help="subject (user id)"),
    ttl_s: int | None = typer.Option(None, "--ttl", help="lifetime in seconds"),
) -> None:
    """Print a signed JWT for TENANT (HS256, secret from WX_JWT_SECRET)."""
    from app.auth import mint_token
    from app.settings import get_settings

    try:
        token = mint_token(get_settings(), tenant_id=tenant, sub=sub, ttl_s=ttl_s)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--tenant/--sub") from error
    typer.echo(token)


def signin(
    tenant: str = typer.Option("dev", "--tenant", help="tenant id the link signs in"),
    sub: str = typer.Option("dev", "--sub", help="subject (user id)"),
) -> None:
    """Print a link that signs the UI in once (a code in Redis, WX_SIGNIN_CODE_TTL_S)."""
    from app.settings import get_settings

    settings = get_settings()
    typer.echo(signin_link(settings, settings.redis_url, tenant=tenant, sub=sub))


def signin_link(settings: Settings, redis_url: str, *, tenant: str, sub: str = "dev") -> str:
    """The UI's `/signin?code=…` URL with a fresh one-time code."""
    from redis.asyncio import Redis
    from redis.exceptions import RedisError

    from app.services.signin import issue_signin_code

    async def issue() -> str:
        redis = Redis.from_url(redis_url)
        try:
            return await issue_signin_code(redis, settings, tenant_id=tenant, sub=sub)
        finally:
            await redis.aclose()

    try:
        code = asyncio.run(issue())
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--tenant") from error
    except RedisError as error:
        raise typer.BadParameter(f"Redis at WX_REDIS_URL is not reachable ({error})",
                                 param_hint="WX_REDIS_URL") from error
    return f"http://127.0.0.1:{settings.frontend_port}/signin?code={code}"
