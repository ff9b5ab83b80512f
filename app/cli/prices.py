"""`wxrunner prices`: show the price table turns are priced with, or update it."""

from __future__ import annotations

from pathlib import Path

import typer

prices_cli = typer.Typer(no_args_is_help=True, help="The price table (USD per million tokens)")


def register(cli: typer.Typer) -> None:
    cli.add_typer(prices_cli, name="prices")


@prices_cli.command("show")
def show(as_json: bool = typer.Option(False, "--json", help="print the table as JSON")) -> None:
    """The table in use: its version, source and each model's rates."""
    from rich.console import Console
    from rich.table import Table

    from app.pricing import load_price_table
    from app.settings import get_settings

    table = load_price_table(get_settings().price_table)
    if as_json:
        typer.echo(table.model_dump_json(indent=2))
        return
    out = Table(title=f"Prices {table.version} ({table.unit})", caption=table.source)
    for name in ("Model", "Input", "Output", "Cache write 5m", "Cache write 1h", "Cache read",
                 "Long context"):
        out.add_column(name, justify="left" if name == "Model" else "right")
    for model_id, p in sorted(table.models.items()):
        long = p.long_context
        tier = "" if long is None else \
            f">{long.above_prompt_tokens:,}: {long.input:g}/{long.output:g}"
        out.add_row(model_id, f"{p.input:g}", f"{p.output:g}", f"{p.cache_write_5m:g}",
                    f"{p.cache_write_1h:g}", f"{p.cache_read:g}", tier)
    Console(width=160).print(out)


@prices_cli.command("update")
def update(
    from_claude: Path | None = typer.Option(
        None, "--from-claude", help="a Claude Code binary (default: WX_CLAUDE_BIN)"),
    from_file: Path | None = typer.Option(
        None, "--from-file", help="a price table JSON file (e.g. edited from the pricing page)"),
    out: Path | None = typer.Option(
        None, "--out", help="where to write (default: WX_PRICE_TABLE, else the packaged table)"),
) -> None:
    """Read prices from the Claude Code binary's model catalog (default) or a file, and write
    the table; its version changes only when a price did."""
    import subprocess
    from datetime import UTC, datetime

    from app.pricing.catalog import CatalogNotFound, read_catalog, table_from_catalog
    from app.pricing.table import PACKAGED_TABLE, read_price_table, write_price_table
    from app.pricing.update import diff_tables, updated_table
    from app.settings import get_settings

    settings = get_settings()
    target = out or settings.price_table or PACKAGED_TABLE
    old = read_price_table(target) if target.exists() else None
    today = datetime.now(UTC).date()
    if from_file is not None:
        new = read_price_table(from_file)
    else:
        binary = (from_claude or settings.claude_bin).resolve()
        version = subprocess.run([str(binary), "--version"], capture_output=True, text=True,
                                 timeout=60).stdout.split(" ")[0].strip()
        try:
            new = table_from_catalog(read_catalog(binary), claude_version=version,
                                     retrieved=today.isoformat(), version=today.isoformat())
        except CatalogNotFound as exc:
            raise typer.BadParameter(str(exc), param_hint="--from-claude") from exc
    changes = diff_tables(old, new)
    table = updated_table(old, new, today)
    write_price_table(table, target)
    typer.echo(f"{target}: version {table.version} ({len(table.models)} models)")
    for label, names in (("added", changes.added), ("removed", changes.removed),
                         ("changed", changes.changed)):
        if names:
            typer.echo(f"  {label}: {', '.join(names)}")
    if not changes.any:
        typer.echo("  no price changed")
