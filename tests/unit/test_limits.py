"""Limits arithmetic: which turn is admitted, which limit refuses it, Retry-After."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.errors import LimitExceeded
from app.services.limits import (
    LimitValues,
    TenantUse,
    check_limits,
    seconds_until_next_day,
    seconds_until_next_month,
)

LIMITS = LimitValues(running_turns=2, queued_turns=3, tokens_per_day=1000, cost_per_month_usd=10.0)
NOW = datetime(2026, 3, 31, 23, 0, 0, tzinfo=UTC)


def _check(use: TenantUse, session_id: str | None = None) -> float:
    return check_limits(LIMITS, use, session_id=session_id, now=NOW,
                        retry_after_s=7).remaining_budget_usd


def _refused(use: TenantUse, session_id: str | None = None) -> LimitExceeded:
    with pytest.raises(LimitExceeded) as info:
        _check(use, session_id)
    return info.value


def test_idle_tenant_gets_the_whole_budget() -> None:
    assert _check(TenantUse()) == 10.0


def test_third_concurrent_session_is_refused() -> None:
    error = _refused(TenantUse(active_session_ids=["a", "b"], running_turns=2))
    assert (error.limit, error.retry_after_s) == ("running_turns", 7)


def test_a_turn_behind_a_running_turn_only_counts_as_queued() -> None:
    use = TenantUse(active_session_ids=["a", "b"], running_turns=2, queued_turns=1)
    assert _check(use, session_id="a") == 10.0


def test_queue_full_is_refused_even_in_an_active_session() -> None:
    use = TenantUse(active_session_ids=["a"], running_turns=1, queued_turns=3)
    assert _refused(use, session_id="a").limit == "queued_turns"


def test_daily_tokens_retry_after_midnight() -> None:
    error = _refused(TenantUse(tokens_today=1000))
    assert error.limit == "tokens_per_day"
    assert error.retry_after_s == 3600


def test_monthly_budget_retry_after_month_end_and_remaining_budget() -> None:
    error = _refused(TenantUse(cost_this_month_usd=10.0))
    assert (error.limit, error.retry_after_s) == ("cost_per_month_usd", 3600)
    assert _check(TenantUse(cost_this_month_usd=7.5)) == 2.5


def test_calendar_edges() -> None:
    assert seconds_until_next_month(datetime(2026, 12, 31, 23, 59, 0, tzinfo=UTC)) == 60
    assert seconds_until_next_day(datetime(2026, 1, 1, 0, 0, 0, tzinfo=UTC)) == 86400
