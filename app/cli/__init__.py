"""`wxrunner`: the runner's command line. Each sub-command lives in its own module."""

from __future__ import annotations

import importlib

import typer

cli = typer.Typer(no_args_is_help=True, add_completion=False, help="wxcode runner")

# Each module defines `register(cli)`; heavy imports stay inside the commands.
_COMMAND_MODULES = ("api", "sim", "parse", "image", "token", "usage", "prices", "guard", "stack",
                    "egress")

for _name in _COMMAND_MODULES:
    importlib.import_module(f"app.cli.{_name}").register(cli)


def main() -> None:
    cli()
