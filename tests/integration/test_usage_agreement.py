"""Property: over random sessions of billed turns (stored as a turn's end stores them, summed by
SecantusDB's real aggregation), the totals, and the sums by model, by session, by day, week,
month and 5-hour block always agree."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from beanie import PydanticObjectId
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.models import Job, TokenUsageLog
from app.pricing import TokenCounts, load_price_table
from app.protocol import TOKEN_FIELDS
from app.services.billing import billed_summary
from app.services.grouping import Grouping
from app.services.turn_lifecycle import _record_usage as record_usage  # the write of a turn end
from app.services.usage import usage_match, usage_rows

pytestmark = pytest.mark.usefixtures("db")

MODELS = ["claude-opus-5-5", "claude-haiku-5-5", "claude-sonnet-5-5", "claude-unknown-9"]
START = datetime(2026, 10, 28, tzinfo=UTC)

counts = st.builds(TokenCounts, input_tokens=st.integers(0, 5000),
                   output_tokens=st.integers(0, 3000), cache_creation_tokens=st.integers(0, 9000),
                   cache_read_tokens=st.integers(0, 200_000))
turn = st.fixed_dictionaries({
    "by_model": st.dictionaries(st.sampled_from(MODELS), counts, min_size=0, max_size=3),
    "claude": st.booleans(),  # Claude Code reported a cost (a result line) or not
    "minutes": st.integers(0, 60 * 24 * 40),  # spread over ~6 weeks and two months
})
sessions = st.lists(st.lists(turn, min_size=1, max_size=5), min_size=1, max_size=4)


async def _store(tenant: str, project: PydanticObjectId, all_sessions: list[list[dict[str, Any]]]
                 ) -> None:
    table = load_price_table()
    for turns in all_sessions:
        session_id = PydanticObjectId()
        for spec in turns:
            job = Job(tenant_id=tenant, project_id=project, session_id=session_id,
                      context="analysis", queue="chat", prompt="p")
            job.id = PydanticObjectId()
            costs = {m: c.total_tokens * 1e-6 for m, c in spec["by_model"].items()}
            usage = billed_summary(by_model=spec["by_model"],
                                   claude_cost=costs if spec["claude"] else None,
                                   basis="delta" if spec["claude"] else "stream",
                                   partial=not spec["claude"], table=table)
            await record_usage(job, usage, None)
            when = START + timedelta(minutes=spec["minutes"])
            await TokenUsageLog.get_pymongo_collection().update_one(
                {"job_id": job.id}, {"$set": {"created_at": when}})


def _sum(rows: list[Any], field: str) -> float:
    return float(sum(getattr(r, field) for r in rows))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(all_sessions=sessions)
async def test_totals_by_model_session_and_time_always_agree(
        all_sessions: list[list[dict[str, Any]]]) -> None:
    await TokenUsageLog.get_pymongo_collection().delete_many({})
    tenant, project = "prop", PydanticObjectId()
    await _store(tenant, project, all_sessions)
    match = usage_match(tenant_id=tenant, project_id=project)
    [total] = await usage_rows(match, None)
    assert total.turns == sum(len(t) for t in all_sessions)
    expected = {f: sum(getattr(c, f) for s in all_sessions for t in s
                       for c in t["by_model"].values()) for f in TOKEN_FIELDS}
    assert {f: getattr(total, f) for f in TOKEN_FIELDS} == expected
    for by in (Grouping.MODEL, Grouping.SESSION, Grouping.DAY, Grouping.WEEK, Grouping.MONTH,
               Grouping.BLOCK):
        rows = await usage_rows(match, by)
        for field in (*TOKEN_FIELDS, "total_tokens"):
            assert _sum(rows, field) == getattr(total, field), (by, field)
        slack = 1e-6 * (len(rows) + 1)  # each row's cost is rounded to 6 decimals
        for field in ("cost_usd", "claude_cost_usd", "priced_cost_usd"):
            assert _sum(rows, field) == pytest.approx(getattr(total, field), abs=slack), by
        if by is not Grouping.MODEL:
            for field in ("turns", "partial_turns", "unpriced_turns"):
                assert _sum(rows, field) == getattr(total, field), (by, field)
