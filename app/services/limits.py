"""Subscription limits per tenant (DESIGN §9): concurrent turns, queued turns, tokens per
day, cost per month. `check_limits` is pure arithmetic; `current_use` reads Mongo."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel

from app.errors import LimitExceeded
from app.models import Job, TenantLimits, TokenUsageLog
from app.protocol import TOKEN_FIELDS, UsageSummary
from app.services.billing import bill_unbilled
from app.settings import Settings
from app.vocab import ACTIVE_STATES, JobState

__all__ = [
    "LimitValues",
    "TenantUse",
    "check_limits",
    "current_use",
    "day_start",
    "effective_limits",
    "month_start",
    "seconds_until_next_day",
    "seconds_until_next_month",
]


class LimitValues(BaseModel):
    """A tenant's limits."""

    running_turns: int
    queued_turns: int
    tokens_per_day: int
    cost_per_month_usd: float


class TenantUse(BaseModel):
    """What a tenant uses now against its limits."""

    running_turns: int = 0
    queued_turns: int = 0
    active_session_ids: list[str] = []
    session_turns: dict[str, int] = {}  # active turns per session

    def active_turns_of(self, session_id: str) -> int:
        return self.session_turns.get(session_id, 0)

    def count_queued(self, session_id: str) -> None:
        """One more queued turn in `session_id` (admission counts a batch as it goes)."""
        self.queued_turns += 1
        self.session_turns[session_id] = self.session_turns.get(session_id, 0) + 1
        if session_id not in self.active_session_ids:
            self.active_session_ids.append(session_id)
    tokens_today: int = 0
    cost_this_month_usd: float = 0.0


@dataclass(frozen=True)
class Admission:
    """A turn may be queued; the monthly budget left goes to `--max-budget-usd`."""

    remaining_budget_usd: float


def day_start(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def month_start(now: datetime) -> datetime:
    return day_start(now).replace(day=1)


def seconds_until_next_day(now: datetime) -> int:
    return max(1, int((day_start(now) + timedelta(days=1) - now).total_seconds()))


def seconds_until_next_month(now: datetime) -> int:
    start = month_start(now)
    nxt = start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(
        month=start.month + 1
    )
    return max(1, int((nxt - now).total_seconds()))


def check_limits(
    limits: LimitValues,
    use: TenantUse,
    *,
    session_id: str | None,
    now: datetime,
    retry_after_s: int,
) -> Admission:
    """Admit one more turn in `session_id` (None: a new session) or raise `LimitExceeded`.

    A turn in a session that already has an active turn waits behind it, so it counts
    only against the queued limit; any other turn would run at once, so it also counts
    against the concurrent limit (one active session = one turn running or about to)."""
    runs_now = session_id is None or session_id not in use.active_session_ids
    if runs_now and len(use.active_session_ids) >= limits.running_turns:
        raise LimitExceeded(
            f"At most {limits.running_turns} turns may run at once.",
            limit="running_turns",
            retry_after_s=retry_after_s,
        )
    if use.queued_turns >= limits.queued_turns:
        raise LimitExceeded(
            f"At most {limits.queued_turns} turns may wait in the queue.",
            limit="queued_turns",
            retry_after_s=retry_after_s,
        )
    if use.tokens_today >= limits.tokens_per_day:
        raise LimitExceeded(
            "The daily token allowance is used up.",
            limit="tokens_per_day",
            retry_after_s=seconds_until_next_day(now),
        )
    remaining = limits.cost_per_month_usd - use.cost_this_month_usd
    if remaining <= 0:
        raise LimitExceeded(
            "The monthly budget is used up.",
            limit="cost_per_month_usd",
            retry_after_s=seconds_until_next_month(now),
        )
    return Admission(remaining_budget_usd=round(remaining, 6))


# Read often (every submitted turn), changed rarely: each process keeps them for a while.
_LIMITS_TTL_S = 10.0
_LOGGED_TTL_S = 2.0
_CACHE_MAX = 10_000  # tenants
_limits_cache: dict[str, tuple[float, LimitValues]] = {}
_logged_cache: dict[tuple[str, datetime, datetime], tuple[float, dict[str, float]]] = {}


async def effective_limits(settings: Settings, *, tenant_id: str,
                           recent: bool = False) -> LimitValues:
    """Settings' limits, overridden field by field by the tenant's TenantLimits document.
    `recent`: they may be up to _LIMITS_TTL_S old (admission, called by every turn)."""
    cached = _limits_cache.get(tenant_id)
    if recent and cached is not None and cached[0] > time.monotonic():
        return cached[1]
    values = await _effective_limits(settings, tenant_id=tenant_id)
    if len(_limits_cache) > _CACHE_MAX:
        _limits_cache.clear()
    _limits_cache[tenant_id] = (time.monotonic() + _LIMITS_TTL_S, values)
    return values


async def _effective_limits(settings: Settings, *, tenant_id: str) -> LimitValues:
    doc = await TenantLimits.find_one(TenantLimits.tenant_id == tenant_id)
    values = LimitValues(
        running_turns=settings.limit_running_turns,
        queued_turns=settings.limit_queued_turns,
        tokens_per_day=settings.limit_tokens_per_day,
        cost_per_month_usd=settings.limit_cost_per_month_usd,
    )
    if doc is None:
        return values
    fields = doc.model_dump(include=set(LimitValues.model_fields))
    overrides = {k: v for k, v in fields.items() if v is not None}
    return values.model_copy(update=overrides)


async def current_use(*, tenant_id: str, now: datetime, recent: bool = False) -> TenantUse:
    """Active turns from Jobs; tokens today and cost this month from TokenUsageLog plus the
    usage checkpointed on running jobs (not yet logged). `recent`: the logged totals may be
    up to _LOGGED_TTL_S old (admission, which a burst of turns calls many times at once)."""
    active = await _active_jobs(tenant_id)
    use = TenantUse(
        running_turns=sum(1 for j in active if j["state"] == JobState.RUNNING),
        queued_turns=sum(1 for j in active if j["state"] == JobState.QUEUED),
        active_session_ids=sorted({str(j["session_id"]) for j in active}),
        session_turns=Counter(str(j["session_id"]) for j in active),
    )
    read_totals = _cached_logged_totals if recent else _logged_totals
    logged = await read_totals(tenant_id, since=month_start(now), day=day_start(now))
    running = [_running_usage(j.get("usage")) for j in active
               if j["state"] == JobState.RUNNING]
    use.tokens_today = int(logged["tokens_today"]) + sum(u.total_tokens for u in running)
    use.cost_this_month_usd = logged["cost_month"] + sum(u.total_cost_usd for u in running)
    return use


def _running_usage(checkpoint: dict[str, Any] | None) -> UsageSummary:
    """A running turn's usage so far, priced (its checkpoint carries no cost of its own)."""
    if not checkpoint:
        return UsageSummary()
    summary = UsageSummary.model_validate(checkpoint)
    return summary if summary.basis is not None else bill_unbilled(summary, None)


async def _active_jobs(tenant_id: str) -> list[dict[str, Any]]:
    cursor = Job.get_pymongo_collection().find(
        {"tenant_id": tenant_id, "state": {"$in": list(ACTIVE_STATES)}},
        {"state": 1, "session_id": 1, "usage": 1},
    )
    return await cursor.to_list(10_000)


async def _cached_logged_totals(tenant_id: str, *, since: datetime,
                                day: datetime) -> dict[str, float]:
    """The logged totals, read at most every _LOGGED_TTL_S per tenant (a burst of turns
    reads them once; a turn that ended in that time is counted when it is read again)."""
    key = (tenant_id, since, day)
    cached = _logged_cache.get(key)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    totals = await _logged_totals(tenant_id, since=since, day=day)
    if len(_logged_cache) > _CACHE_MAX:
        _logged_cache.clear()
    _logged_cache[key] = (time.monotonic() + _LOGGED_TTL_S, totals)
    return totals


async def _logged_totals(tenant_id: str, *, since: datetime, day: datetime) -> dict[str, float]:
    tokens = {"$add": [f"${name}" for name in TOKEN_FIELDS]}
    pipeline: list[dict[str, Any]] = [
        {"$match": {"tenant_id": tenant_id, "created_at": {"$gte": since}}},
        {"$group": {
            "_id": None,
            "cost_month": {"$sum": "$total_cost_usd"},
            "tokens_today": {"$sum": {"$cond": [{"$gte": ["$created_at", day]}, tokens, 0]}},
        }},
    ]
    rows = await (await TokenUsageLog.get_pymongo_collection().aggregate(pipeline)).to_list(1)
    row = rows[0] if rows else {}
    return {"cost_month": float(row.get("cost_month", 0.0)),
            "tokens_today": int(row.get("tokens_today", 0))}
