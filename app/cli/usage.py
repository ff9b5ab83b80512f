"""`wxrunner usage report`: ccusage-style usage tables from TokenUsageLog."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import typer

from app.services.grouping import Grouping

if TYPE_CHECKING:
    from app.services.usage import UsageRow, UsageTable

usage_cli = typer.Typer(no_args_is_help=True, help="Token usage and cost from MongoDB")


def register(cli: typer.Typer) -> None:
    cli.add_typer(usage_cli, name="usage")


def _day(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d")
    except ValueError as exc:
        raise typer.BadParameter("use YYYY-MM-DD", param_hint=name) from exc


@usage_cli.command("report")
def report(
    by: Grouping = typer.Option(Grouping.DAY, "--by", help="how to group the turns"),
    tenant: str | None = typer.Option(None, "--tenant", help="only this tenant"),
    project: str | None = typer.Option(None, "--project", help="only this project id"),
    since: str | None = typer.Option(None, "--since", help="first day, YYYY-MM-DD (UTC)"),
    until: str | None = typer.Option(None, "--until", help="last day, YYYY-MM-DD (UTC)"),
    as_json: bool = typer.Option(False, "--json", help="print JSON instead of a table"),
) -> None:
    """Tokens and cost by day, week, month, session, model, 5-hour block, tenant or project,
    with a total. Cost is Claude Code's for each turn where it reported one, else the price
    table's; every turn is one turn's own figures (README "Billing")."""
    import asyncio

    first, last = _day(since, "--since"), _day(until, "--until")
    table = asyncio.run(_report(by, tenant, project, first, last))
    if as_json:
        typer.echo(table.model_dump_json(indent=2))
        return
    _print_table(table, tenant)


async def _report(by: Grouping, tenant: str | None, project: str | None,
                  since: datetime | None, until: datetime | None) -> UsageTable:
    from bson import ObjectId
    from bson.errors import InvalidId

    from app.db import init_db
    from app.services.usage import day_range, usage_match, usage_table
    from app.settings import get_settings

    try:
        project_id = None if project is None else ObjectId(project)
    except InvalidId as exc:
        raise typer.BadParameter("not a project id", param_hint="--project") from exc
    start, end = day_range(since.date() if since else None, until.date() if until else None)
    client = await init_db(get_settings())
    try:
        match = usage_match(tenant_id=tenant, project_id=project_id, since=start, until=end)
        return await usage_table(match, by)
    finally:
        await client.close()


def _print_table(table: UsageTable, tenant: str | None) -> None:
    import sys

    from rich.console import Console
    from rich.table import Table

    title = f"Token usage by {table.by}" + (f" (tenant {tenant})" if tenant else "")
    out = Table(title=title, caption="UTC; cost: Claude Code's per turn, else the price table's")
    out.add_column(table.by.value.capitalize(), no_wrap=True)
    if table.by is not Grouping.MODEL:
        out.add_column("Models")
    for name in ("Turns", "Input", "Output", "Cache create", "Cache read", "Total tokens",
                 "Cost (USD)"):
        out.add_column(name, justify="right")
    for row in table.rows:
        out.add_row(row.key or "-", *_cells(table.by, row))
    out.add_section()
    out.add_row("Total", *_cells(table.by, table.total, models=False), style="bold")
    Console(width=None if sys.stdout.isatty() else 200).print(out)
    notes = [f"{table.total.partial_turns} turn(s) ended without a result (counted from the "
             "stream)"] if table.total.partial_turns else []
    if table.total.unpriced_turns:
        notes.append(f"{table.total.unpriced_turns} turn(s) have a model missing from the price "
                     "table: run `wxrunner prices update`")
    for note in notes:
        typer.echo(note)


def _cells(by: Grouping, row: UsageRow, models: bool = True) -> list[str]:
    cells = [f"{row.turns:,}", f"{row.input_tokens:,}", f"{row.output_tokens:,}",
             f"{row.cache_creation_tokens:,}", f"{row.cache_read_tokens:,}",
             f"{row.total_tokens:,}", _cost(row)]
    if by is Grouping.MODEL:
        return cells
    return [", ".join(_short(m) for m in row.models) if models else "", *cells]


def _cost(row: UsageRow) -> str:
    text = f"${row.cost_usd:,.4f}"
    if row.active and row.projected_cost_usd is not None:
        text += f" (→ ${row.projected_cost_usd:,.4f})"
    return text


def _short(model: str) -> str:
    return model.removeprefix("claude-")
