"""`wxrunner usage report`: ccusage-style token usage tables from TokenUsageLog."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import typer

usage_cli = typer.Typer(no_args_is_help=True, help="Token usage from MongoDB")


def register(cli: typer.Typer) -> None:
    cli.add_typer(usage_cli, name="usage")


@usage_cli.command("report")
def report(
    tenant: str | None = typer.Option(None, "--tenant", help="only this tenant"),
    by: str = typer.Option("day", "--by", help="day | model | session | tenant | project"),
    as_json: bool = typer.Option(False, "--json", help="print JSON instead of a table"),
) -> None:
    """Tokens and cost grouped by day, model, session, tenant or project, with a total."""
    import asyncio

    if by not in ("day", "model", "session", "tenant", "project"):
        raise typer.BadParameter("--by must be day, model, session, tenant or project")
    asyncio.run(_report(tenant, by, as_json))  # type: ignore[arg-type]


async def _report(
    tenant: str | None, by: Literal["day", "model", "session", "tenant", "project"], as_json: bool
) -> None:
    import orjson

    from app.db import init_db
    from app.services.usage import UsageRow, usage_rows
    from app.settings import get_settings

    client = await init_db(get_settings())
    try:
        match = {"tenant_id": tenant} if tenant else {}
        rows = await usage_rows(match, by)
        totals = await usage_rows(match, None)
    finally:
        await client.close()
    total = totals[0] if totals else UsageRow(key="")
    if as_json:
        payload = {"by": by, "tenant": tenant, "rows": [r.model_dump() for r in rows],
                   "total": total.model_dump()}
        typer.echo(orjson.dumps(payload, option=orjson.OPT_INDENT_2).decode())
        return
    _print_table(by, rows, total)


def _print_table(by: str, rows: Sequence[object], total: object) -> None:
    import sys

    from rich.console import Console
    from rich.table import Table

    from app.services.usage import UsageRow

    table = Table(title=f"Token usage by {by}", show_footer=False)
    table.add_column(by.capitalize(), no_wrap=True)
    for name in ("Turns", "Input", "Output", "Cache create", "Cache read", "Total tokens",
                 "Cost (USD)"):
        table.add_column(name, justify="right")

    def cells(row: UsageRow) -> list[str]:
        return [f"{row.turns:,}", f"{row.input_tokens:,}", f"{row.output_tokens:,}",
                f"{row.cache_creation_tokens:,}", f"{row.cache_read_tokens:,}",
                f"{row.total_tokens:,}", f"${row.cost_usd:,.4f}"]

    for row in rows:
        assert isinstance(row, UsageRow)
        table.add_row(row.key or "-", *cells(row))
    assert isinstance(total, UsageRow)
    table.add_section()
    table.add_row("Total", *cells(total), style="bold")
    # Piped output keeps every column whole instead of wrapping to 80 columns.
    Console(width=None if sys.stdout.isatty() else 200).print(table)
