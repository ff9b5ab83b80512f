"""Usage reports from TokenUsageLog, grouped as ccusage groups them (day, week, month,
session, model, 5-hour block) or by tenant and project. One definition of the figures: each
log holds a turn's own tokens and cost, with `by_model` summing to them, so every grouping
adds up to the same totals. Aggregations use what SecantusDB supports ($match, $group, $sum,
$ifNull, $cond, $dateToString, $objectToArray, $unwind, $addToSet, $sort)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from pydantic import BaseModel, Field

from app.models import TokenUsageLog
from app.protocol import TOKEN_FIELDS, utc_now
from app.services.grouping import Grouping
from app.services.projects import get_project
from app.services.usage_blocks import HourSums, fold_blocks, projected

__all__ = [
    "Grouping",
    "UsageReport",
    "UsageRow",
    "UsageTable",
    "day_range",
    "project_usage",
    "usage_match",
    "usage_rows",
    "usage_table",
]

_COSTS = ("cost_usd", "claude_cost_usd", "priced_cost_usd")


class UsageRow(BaseModel):
    """Usage summed over a group (a day, a model, a session, ... or everything)."""

    key: str = ""
    model: str | None = Field(default=None, description="set in the by-day-and-model rows")
    turns: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_tokens: int = 0
    cache_read_tokens: int = 0
    total_tokens: int = 0
    cost_usd: float = Field(default=0.0, description="Claude Code's cost where it reported "
                            "one, else the price table's: the figure limits count")
    claude_cost_usd: float = 0.0
    priced_cost_usd: float = Field(default=0.0, description="the price table's cost of the "
                                   "turns it prices whole (see unpriced_turns)")
    partial_turns: int = Field(default=0, description="turns that ended without a result")
    unpriced_turns: int = Field(default=0, description="turns with a model the table lacks")
    models: list[str] = Field(default_factory=list)
    start: datetime | None = Field(default=None, description="a block's start (UTC)")
    end: datetime | None = None
    active: bool = False
    projected_cost_usd: float | None = Field(
        default=None, description="an active block's cost at its end, at the rate so far")


class UsageTable(BaseModel):
    """One grouping of a tenant's usage, and its total."""

    by: Grouping
    rows: list[UsageRow]
    total: UsageRow


class UsageReport(BaseModel):
    """Totals and every grouping of a project's usage."""

    totals: UsageRow
    by_session: list[UsageRow]
    by_model: list[UsageRow]
    by_day: list[UsageRow]
    by_week: list[UsageRow]
    by_month: list[UsageRow]
    by_block: list[UsageRow]
    by_day_model: list[UsageRow]


def _sums(prefix: str = "$") -> dict[str, Any]:
    """$group sums of the logs (prefix "$") or of their by_model entries ("$m.v.")."""
    per_model = prefix != "$"
    sums: dict[str, Any] = {f: {"$sum": f"{prefix}{f}"} for f in TOKEN_FIELDS}
    sums["cost_usd"] = {"$sum": f"{prefix}cost_usd" if per_model else "$total_cost_usd"}
    sums["claude_cost_usd"] = {"$sum": {"$ifNull": [f"{prefix}claude_cost_usd", 0]}}
    # the table's cost of the turns it prices whole (a turn with an unpriced model is
    # counted in unpriced_turns instead, in every grouping alike)
    priced = {"$ifNull": [f"{prefix}priced_cost_usd", 0]}
    sums["priced_cost_usd"] = {"$sum": {"$cond": ["$unpriced", 0, priced]}}
    sums["turns"] = {"$sum": 1}
    sums["partial_turns"] = {"$sum": {"$cond": ["$partial", 1, 0]}}
    sums["unpriced_turns"] = {"$sum": {"$cond": ["$unpriced", 1, 0]}}
    return sums


def _date(fmt: str) -> dict[str, Any]:
    return {"$dateToString": {"format": fmt, "date": "$created_at"}}


_KEYS: dict[Grouping | None, Any] = {
    None: None,
    Grouping.DAY: _date("%Y-%m-%d"),
    Grouping.WEEK: _date("%G-W%V"),
    Grouping.MONTH: _date("%Y-%m"),
    Grouping.SESSION: "$session_id",
    Grouping.TENANT: "$tenant_id",
    Grouping.PROJECT: "$project_id",
}


def usage_match(*, tenant_id: str | None = None, project_id: Any = None,
                since: datetime | None = None, until: datetime | None = None) -> dict[str, Any]:
    """The $match of a report: a tenant, a project, a time range [since, until)."""
    match: dict[str, Any] = {}
    if tenant_id is not None:
        match["tenant_id"] = tenant_id
    if project_id is not None:
        match["project_id"] = project_id
    window = {op: t for op, t in (("$gte", since), ("$lt", until)) if t is not None}
    if window:
        match["created_at"] = window
    return match


def day_range(since: date | None, until: date | None) -> tuple[datetime | None, datetime | None]:
    """[since 00:00 UTC, the day after until 00:00 UTC): both days included."""
    start = None if since is None else datetime.combine(since, time(), UTC)
    end = None if until is None else datetime.combine(until + timedelta(days=1), time(), UTC)
    return start, end


async def _aggregate(pipeline: list[dict[str, Any]]) -> list[dict[str, Any]]:
    cursor = await TokenUsageLog.get_pymongo_collection().aggregate(pipeline)
    return list(await cursor.to_list(100_000))


async def usage_rows(match: dict[str, Any], by: Grouping | None) -> list[UsageRow]:
    """The logs matching `match` summed per group of `by` (None: one total row)."""
    if by is Grouping.MODEL:
        return await _by_model(match)
    if by is Grouping.BLOCK:
        return await _by_block(match, now=utc_now())
    key = _KEYS[by]
    docs = await _aggregate([{"$match": match},
                             {"$group": {"_id": key, **_sums()}},
                             {"$sort": {"_id": 1}}])
    models = await _models_by(match, key)
    return [_row(d, models=models.get(_key_of(d["_id"]), [])) for d in docs]


async def _models_by(match: dict[str, Any], key: Any) -> dict[str, list[str]]:
    """Every model of each group (a subagent's too), not only each turn's main model."""
    docs = await _aggregate([
        {"$match": match},
        {"$project": {"g": key, "m": {"$objectToArray": "$by_model"}}},
        {"$unwind": "$m"},
        {"$group": {"_id": "$g", "models": {"$addToSet": "$m.k"}}},
    ])
    return {_key_of(d["_id"]): sorted(d["models"]) for d in docs}


async def _by_model(match: dict[str, Any], day: bool = False) -> list[UsageRow]:
    key: Any = {"d": _date("%Y-%m-%d"), "m": "$m.k"} if day else "$m.k"
    docs = await _aggregate([
        {"$match": match},
        {"$project": {"m": {"$objectToArray": "$by_model"}, "partial": 1, "unpriced": 1,
                      "created_at": 1}},
        {"$unwind": "$m"},
        {"$group": {"_id": key, **_sums("$m.v.")}},
        {"$sort": {"_id": 1}},
    ])
    if day:
        return [_row(d, key=d["_id"]["d"], model=d["_id"]["m"]) for d in docs]
    return [_row(d, models=[str(d["_id"])]) for d in docs]


async def _by_block(match: dict[str, Any], *, now: datetime) -> list[UsageRow]:
    docs = await _aggregate([
        {"$match": match},
        {"$group": {"_id": {"t": "$tenant_id", "h": _date("%Y-%m-%dT%H:00:00Z")}, **_sums()}},
    ])
    hours = [HourSums(d["_id"]["t"], datetime.fromisoformat(d["_id"]["h"]).astimezone(UTC),
                      {k: v for k, v in d.items() if k != "_id"}) for d in docs]
    several = len({h.tenant_id for h in hours}) > 1
    rows = []
    for block in fold_blocks(hours):
        key = block.start.strftime("%Y-%m-%dT%H:00Z")
        row = _row({"_id": f"{block.tenant_id} {key}" if several else key, **block.sums})
        row.start, row.end = block.start, block.end
        row.projected_cost_usd = projected(block, row.cost_usd, now)
        row.active = row.projected_cost_usd is not None
        rows.append(row)
    return rows


def _key_of(value: Any) -> str:
    return "" if value is None else str(value)


def _row(doc: dict[str, Any], *, key: str | None = None, model: str | None = None,
         models: list[str] | None = None) -> UsageRow:
    counts = {k: int(doc.get(k, 0) or 0) for k in
              (*TOKEN_FIELDS, "turns", "partial_turns", "unpriced_turns")}
    costs = {k: round(float(doc.get(k, 0.0) or 0.0), 6) for k in _COSTS}
    return UsageRow.model_validate({
        "key": _key_of(doc.get("_id")) if key is None else key, "model": model, **counts,
        **costs, "total_tokens": sum(counts[f] for f in TOKEN_FIELDS), "models": models or []})


async def usage_table(match: dict[str, Any], by: Grouping) -> UsageTable:
    """One grouping and the total, as the CLI and `GET /api/usage` show them."""
    totals = await usage_rows(match, None)
    return UsageTable(by=by, rows=await usage_rows(match, by),
                      total=totals[0] if totals else UsageRow())


async def project_usage(*, tenant_id: str, project_id: str, since: datetime | None = None,
                        until: datetime | None = None) -> UsageReport:
    """Totals and every grouping of the tenant's project."""
    project = await get_project(tenant_id=tenant_id, project_id=project_id)
    match = usage_match(tenant_id=tenant_id, project_id=project.id, since=since, until=until)
    totals = await usage_rows(match, None)
    return UsageReport(
        totals=totals[0] if totals else UsageRow(),
        by_session=await usage_rows(match, Grouping.SESSION),
        by_model=await usage_rows(match, Grouping.MODEL),
        by_day=await usage_rows(match, Grouping.DAY),
        by_week=await usage_rows(match, Grouping.WEEK),
        by_month=await usage_rows(match, Grouping.MONTH),
        by_block=await usage_rows(match, Grouping.BLOCK),
        by_day_model=await _by_model(match, day=True),
    )
