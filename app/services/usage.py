"""Token usage from TokenUsageLog (aggregation pipelines SecantusDB supports: $match,
$group, $sum, $add, $dateToString, $objectToArray, $unwind, $sort)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

from app.models import TokenUsageLog
from app.protocol import TOKEN_FIELDS
from app.services.projects import get_project

__all__ = ["UsageReport", "UsageRow", "project_usage", "usage_rows"]

Breakdown = Literal["session", "model", "day", "tenant", "project"]



class UsageRow(BaseModel):
    """Usage summed over a group (a session, a model, a day, or everything)."""

    key: str = ""
    turns: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_tokens: int = 0
    cache_read_tokens: int = 0
    total_tokens: int = 0
    cost_usd: float = 0.0


class UsageReport(BaseModel):
    """Totals and breakdowns of a project's usage."""

    totals: UsageRow
    by_session: list[UsageRow]
    by_model: list[UsageRow]
    by_day: list[UsageRow]


def _sums(prefix: str = "$", cost: str = "$total_cost_usd") -> dict[str, Any]:
    sums: dict[str, Any] = {f: {"$sum": f"{prefix}{f}"} for f in TOKEN_FIELDS}
    sums["cost_usd"] = {"$sum": cost}
    sums["turns"] = {"$sum": 1}
    return sums


def _group_key(by: Breakdown | None) -> Any:
    match by:
        case "session":
            return "$session_id"
        case "tenant":
            return "$tenant_id"
        case "project":
            return "$project_id"
        case "day":
            return {"$dateToString": {"format": "%Y-%m-%d", "date": "$created_at"}}
    return None


async def usage_rows(match: dict[str, Any], by: Breakdown | None) -> list[UsageRow]:
    """Usage of the logs matching `match`, grouped by `by` (None: one total row)."""
    if by == "model":
        pipeline: list[dict[str, Any]] = [
            {"$match": match},
            {"$project": {"m": {"$objectToArray": "$by_model"}}},
            {"$unwind": "$m"},
            {"$group": {"_id": "$m.k", **_sums("$m.v.", "$m.v.cost_usd")}},
        ]
    else:
        pipeline = [{"$match": match}, {"$group": {"_id": _group_key(by), **_sums()}}]
    pipeline.append({"$sort": {"_id": 1}})
    cursor = await TokenUsageLog.get_pymongo_collection().aggregate(pipeline)
    return [_row(doc) for doc in await cursor.to_list(10_000)]


def _row(doc: dict[str, Any]) -> UsageRow:
    row = UsageRow(key="" if doc["_id"] is None else str(doc["_id"]),
                   **{k: doc.get(k, 0) for k in (*TOKEN_FIELDS, "turns", "cost_usd")})
    row.total_tokens = sum(getattr(row, f) for f in TOKEN_FIELDS)
    row.cost_usd = round(row.cost_usd, 6)
    return row


async def project_usage(*, tenant_id: str, project_id: str) -> UsageReport:
    """Totals and breakdowns by session, model and day of the tenant's project."""
    project = await get_project(tenant_id=tenant_id, project_id=project_id)
    match = {"tenant_id": tenant_id, "project_id": project.id}
    totals = await usage_rows(match, None)
    return UsageReport(
        totals=totals[0] if totals else UsageRow(),
        by_session=await usage_rows(match, "session"),
        by_model=await usage_rows(match, "model"),
        by_day=await usage_rows(match, "day"),
    )
