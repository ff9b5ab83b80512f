"""5-hour blocks and billed summaries: pure properties (the SecantusDB-backed agreement test
is tests/integration/test_usage_agreement.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from app.pricing import TokenCounts, load_price_table
from app.services.billing import billed_summary
from app.services.usage_blocks import BLOCK, HourSums, fold_blocks, projected

T0 = datetime(2026, 11, 1, tzinfo=UTC)
hours = st.lists(st.builds(
    HourSums, tenant_id=st.sampled_from(["a", "b"]),
    hour=st.integers(0, 24 * 20).map(lambda h: T0 + timedelta(hours=h)),
    sums=st.fixed_dictionaries({"cost_usd": st.floats(0, 5), "turns": st.integers(1, 9)})),
    max_size=40, unique_by=lambda h: (h.tenant_id, h.hour))


@given(hours)
def test_blocks_partition_the_hours_and_keep_the_sums(items: list[HourSums]) -> None:
    blocks = fold_blocks(items)
    assert sum(b.sums["turns"] for b in blocks) == sum(h.sums["turns"] for h in items)
    for tenant in ("a", "b"):
        mine = [b for b in blocks if b.tenant_id == tenant]
        assert all(a.end <= b.start for a, b in pairwise(mine))
        for h in (h for h in items if h.tenant_id == tenant):
            [home] = [b for b in mine if b.start <= h.hour < b.end]
            assert home.start in {x.hour for x in items if x.tenant_id == tenant}


def test_a_block_opens_at_the_first_hour_after_the_last_one_ended() -> None:
    at = [T0, T0 + timedelta(hours=4), T0 + timedelta(hours=5), T0 + timedelta(hours=11)]
    blocks = fold_blocks([HourSums("a", h, {"turns": 1}) for h in at])
    assert [(b.start, b.sums["turns"]) for b in blocks] == [
        (T0, 2), (T0 + timedelta(hours=5), 1), (T0 + timedelta(hours=11), 1)]
    assert projected(blocks[0], 2.0, T0 + timedelta(hours=2)) == 5.0
    assert projected(blocks[0], 2.0, T0 + BLOCK) is None


counts = st.builds(TokenCounts, input_tokens=st.integers(0, 10**6),
                   output_tokens=st.integers(0, 10**5), cache_creation_tokens=st.integers(0, 10**5),
                   cache_read_tokens=st.integers(0, 10**6))


@given(st.dictionaries(st.sampled_from(["claude-opus-5-5", "claude-haiku-5-5", "nonesuch"]),
                       counts, max_size=3), st.booleans())
def test_a_billed_summary_is_the_sum_of_its_models(by_model: dict[str, TokenCounts],
                                                   claude: bool) -> None:
    costs = {m: c.total_tokens * 1e-6 for m, c in by_model.items()} if claude else None
    usage = billed_summary(by_model=by_model, claude_cost=costs, basis="delta", partial=False,
                           table=load_price_table())
    assert usage.input_tokens == sum(m.input_tokens for m in usage.by_model.values())
    assert usage.total_tokens == sum(c.total_tokens for c in by_model.values())
    assert usage.total_cost_usd == sum(m.cost_usd for m in usage.by_model.values())
    unpriced = "nonesuch" in by_model and not by_model["nonesuch"].is_zero()
    assert (usage.priced_cost_usd is None) == unpriced
