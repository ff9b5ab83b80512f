"""`wxrunner image build`: build the tenant image offline (no registry needed)."""

from __future__ import annotations

import typer

image_cli = typer.Typer(no_args_is_help=True, help="the tenant container image")


def register(cli: typer.Typer) -> None:
    cli.add_typer(image_cli, name="image")


@image_cli.command("build")
def build(
    if_missing: bool = typer.Option(False, "--if-missing", help="do nothing when the tag exists"),
) -> None:
    """Build settings.tenant_image from the local claude binary, glibc and busybox."""
    import logging

    from app.settings import get_settings
    from workers.tenant_image import build_tenant_image

    settings = get_settings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(name)s %(message)s")
    image_id = build_tenant_image(settings, if_missing=if_missing)
    typer.echo(f"{settings.tenant_image} {image_id}")
