"""Billing in the core: a turn's figures priced into a UsageSummary, the per-Claude-session
baseline in MongoDB, and the TokenUsageLog fields of a billed turn (README "Billing")."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from beanie import PydanticObjectId

from app.models import ClaudeSessionTotals, Job
from app.models.billing import StoredModelTotals
from app.pricing import PriceTable, TokenCounts, load_price_table, price_turn
from app.protocol import BillingBasis, ModelUsage, UsageSummary, utc_now
from app.settings import get_settings

__all__ = [
    "StoredTotals",
    "bill_unbilled",
    "billed_summary",
    "current_price_table",
    "session_baseline",
    "store_baseline",
    "usage_log_fields",
]

StoredTotals = dict[str, StoredModelTotals]
_TOKEN_FIELDS = ("input_tokens", "output_tokens", "cache_creation_tokens", "cache_read_tokens")


def current_price_table() -> PriceTable:
    """The table turns are priced with (WX_PRICE_TABLE, else the packaged one)."""
    return load_price_table(get_settings().price_table)


def billed_summary(
    *,
    by_model: Mapping[str, TokenCounts],
    claude_cost: Mapping[str, float] | None,
    basis: BillingBasis,
    partial: bool,
    table: PriceTable,
    requests: Mapping[str, Iterable[TokenCounts]] | None = None,
    inference_geo: str | None = None,
) -> UsageSummary:
    """A turn's own figures as a UsageSummary: each model priced with `table`; its cost is
    Claude Code's (`claude_cost`, None when it reported none) else the table's."""
    priced = price_turn(table, by_model, requests, inference_geo=inference_geo)
    models: dict[str, ModelUsage] = {}
    for model, tokens in by_model.items():
        claude = None if claude_cost is None else float(claude_cost.get(model, 0.0))
        price = priced.by_model[model]
        models[model] = ModelUsage(
            **{f: getattr(tokens, f) for f in _TOKEN_FIELDS},
            cost_usd=claude if claude is not None else (price or 0.0),
            claude_cost_usd=claude, priced_cost_usd=price)
    return UsageSummary(
        **{f: sum(getattr(m, f) for m in models.values()) for f in _TOKEN_FIELDS},
        total_cost_usd=sum(m.cost_usd for m in models.values()),
        by_model=models, partial=partial,
        claude_cost_usd=None if claude_cost is None else sum(
            m.claude_cost_usd or 0.0 for m in models.values()),
        priced_cost_usd=priced.total_usd, price_version=table.version,
        unpriced_models=priced.unpriced, basis=basis)


def bill_unbilled(summary: UsageSummary, model: str | None) -> UsageSummary:
    """Bill a summary nobody billed (a lost worker's last checkpoint): its models priced,
    tokens of no known model put under the turn's model."""
    by_model = {m: _counts(u) for m, u in summary.by_model.items()}
    rest = TokenCounts(**{f: getattr(summary, f) - sum(getattr(c, f) for c in by_model.values())
                          for f in _TOKEN_FIELDS}).at_least_zero()
    if not rest.is_zero():
        key = model or next(iter(by_model), "unknown")
        by_model[key] = by_model.get(key, TokenCounts()) + rest
    return billed_summary(by_model=by_model, claude_cost=None, basis="stream", partial=True,
                          table=current_price_table())


def _counts(usage: ModelUsage) -> TokenCounts:
    return TokenCounts(**{f: getattr(usage, f) for f in _TOKEN_FIELDS})


def usage_log_fields(job: Job, summary: UsageSummary, model: str | None) -> dict[str, Any]:
    """The TokenUsageLog fields of a turn (one definition: tokens and cost are by_model sums)."""
    billed = summary if summary.basis is not None else bill_unbilled(summary, model)
    return {
        "tenant_id": job.tenant_id,
        "project_id": job.project_id,
        "session_id": str(job.session_id),
        **{f: getattr(billed, f) for f in _TOKEN_FIELDS},
        "total_cost_usd": billed.total_cost_usd,
        "claude_cost_usd": billed.claude_cost_usd,
        "priced_cost_usd": billed.priced_cost_usd,
        "price_version": billed.price_version,
        "unpriced_models": billed.unpriced_models,
        "unpriced": bool(billed.unpriced_models),
        "basis": billed.basis,
        "model": model or next(iter(billed.by_model), ""),
        "by_model": {k: v.model_dump() for k, v in billed.by_model.items()},
        "partial": billed.partial,
    }


async def session_baseline(*, tenant_id: str, claude_session_id: str,
                           job_id: PydanticObjectId | None) -> StoredTotals | None:
    """The totals a turn of this Claude session is measured from (None: never billed). A
    turn billed again (same job) is measured from the totals before its first billing."""
    doc = await ClaudeSessionTotals.find_one({"tenant_id": tenant_id,
                                              "claude_session_id": claude_session_id})
    if doc is None:
        return None
    return doc.before if job_id is not None and doc.job_id == job_id else doc.by_model


async def store_baseline(*, tenant_id: str, claude_session_id: str,
                         chat_session_id: PydanticObjectId | None, job_id: PydanticObjectId | None,
                         before: StoredTotals | None, after: StoredTotals) -> None:
    """Keep `after` as the session's totals, set by `job_id` from `before`."""
    dump = {m: t.model_dump() for m, t in after.items()}
    prior = None if before is None else {m: t.model_dump() for m, t in before.items()}
    await ClaudeSessionTotals.get_pymongo_collection().update_one(
        {"tenant_id": tenant_id, "claude_session_id": claude_session_id},
        {"$set": {"by_model": dump, "before": prior, "job_id": job_id,
                  "chat_session_id": chat_session_id, "updated_at": utc_now()}},
        upsert=True)
