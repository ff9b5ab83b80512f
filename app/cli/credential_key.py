"""`wxrunner credential-key`: make a key for WX_CREDENTIAL_KEY."""

from __future__ import annotations

import typer


def register(cli: typer.Typer) -> None:
    cli.command("credential-key")(credential_key)


def credential_key() -> None:
    """Print a new Fernet key for WX_CREDENTIAL_KEY (put it in front of the old ones to
    change keys: the first encrypts, every one decrypts)."""
    from cryptography.fernet import Fernet

    typer.echo(Fernet.generate_key().decode())
