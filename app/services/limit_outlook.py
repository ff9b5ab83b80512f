"""Where a tenant stands against its limits: the month's burn rate and its projection, and
the limits past the warning share (pure arithmetic over limits and use)."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, Field

from app.services.limits import LimitValues, TenantUse, month_start, seconds_until_next_month

__all__ = ["LimitWarning", "MonthOutlook", "limit_warnings", "month_outlook"]

_DAY_S = 86_400.0


class MonthOutlook(BaseModel):
    """This calendar month's cost (UTC) and where it is heading at the rate so far."""

    start: datetime
    end: datetime
    elapsed_days: float
    days: float
    cost_usd: float
    burn_rate_usd_per_day: float
    projected_usd: float
    limit_usd: float
    projected_share: float = Field(description="projected cost / the monthly cost limit")


class LimitWarning(BaseModel):
    """A limit the tenant has used more than the warning share of."""

    limit: str
    used: float
    allowed: float
    share: float


def month_outlook(limits: LimitValues, use: TenantUse, now: datetime) -> MonthOutlook:
    start = month_start(now)
    remaining = seconds_until_next_month(now)
    elapsed = max((now - start).total_seconds(), 3600.0) / _DAY_S  # at least an hour in
    days = elapsed + remaining / _DAY_S
    rate = use.cost_this_month_usd / elapsed
    projected = rate * days
    limit = limits.cost_per_month_usd
    return MonthOutlook(
        start=start, end=now + timedelta(seconds=remaining),
        elapsed_days=round(elapsed, 4), days=round(days, 4),
        cost_usd=round(use.cost_this_month_usd, 6), burn_rate_usd_per_day=round(rate, 6),
        projected_usd=round(projected, 6), limit_usd=limit,
        projected_share=round(projected / limit, 4) if limit > 0 else 0.0)


def limit_warnings(limits: LimitValues, use: TenantUse, share: float) -> list[LimitWarning]:
    """The limits whose use has passed `share` of what they allow."""
    pairs = [("cost_per_month_usd", use.cost_this_month_usd, limits.cost_per_month_usd),
             ("tokens_per_day", float(use.tokens_today), float(limits.tokens_per_day)),
             ("running_turns", float(use.running_turns), float(limits.running_turns)),
             ("queued_turns", float(use.queued_turns), float(limits.queued_turns))]
    return [LimitWarning(limit=name, used=round(used, 6), allowed=allowed,
                         share=round(used / allowed, 4))
            for name, used, allowed in pairs if allowed > 0 and used / allowed >= share]
