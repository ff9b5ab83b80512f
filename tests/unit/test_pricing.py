"""The price table: lookup by the ids Claude Code and the providers use, per-request cost
(cache writes of 5 min and 1 h, long-context tier), the catalog read from the pinned Claude
Code binary, and version bumps on update."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from app.pricing import TokenCounts, load_price_table, model_cost, price_turn, request_cost
from app.pricing.catalog import read_catalog, table_from_catalog
from app.pricing.table import PACKAGED_TABLE, normalize_model_id, read_price_table
from app.pricing.update import diff_tables, next_version, updated_table
from workers.simulator.billing import delivered_usage
from workers.simulator.events import Meter
from workers.simulator.scenarios import plan_for

CLAUDE = Path(__file__).resolve().parents[2] / "node_modules" / ".bin" / "claude"


@pytest.mark.parametrize(("spelled", "model"), [
    ("claude-opus-5-5", "claude-opus-5-5"),
    ("claude-haiku-4-5-20251001", "claude-haiku-4-5"),
    ("us.anthropic.claude-haiku-4-5-20251001-v1:0", "claude-haiku-4-5"),
    ("claude-sonnet-4-5@20250929", "claude-sonnet-4-5"),
    ("claude-sonnet-4-6[1m]", "claude-sonnet-4-6"),
    ("CLAUDE-OPUS-4-1-20250805", "claude-opus-4-1"),
])
def test_model_ids_normalize(spelled: str, model: str) -> None:
    assert normalize_model_id(spelled) == model
    assert load_price_table().lookup(spelled) is not None


def test_a_first_party_alias_finds_its_model() -> None:
    table = load_price_table()
    assert table.lookup("claude-sonnet-4-20250514") == table.models["claude-sonnet-4-0"]
    assert table.lookup("claude-sim") is None


def test_the_table_says_where_its_prices_come_from() -> None:
    table = read_price_table(PACKAGED_TABLE)
    assert table.version and table.retrieved and "Claude Code 2.1.332" in table.source
    assert "platform.claude.com" in table.source and table.unit == "USD per million tokens"
    opus = table.models["claude-opus-5-5"]
    assert (opus.input, opus.output, opus.cache_write_5m, opus.cache_write_1h,
            opus.cache_read) == (4, 20, 5, 8, 0.2)


def test_cost_of_one_request_with_both_cache_write_durations() -> None:
    opus = load_price_table().models["claude-opus-5-5"]
    usage = TokenCounts(input_tokens=1000, output_tokens=200, cache_creation_tokens=3000,
                        cache_creation_1h_tokens=1000, cache_read_tokens=10_000)
    expected = (1000 * 4 + 200 * 20 + 2000 * 5 + 1000 * 8 + 10_000 * 0.2) / 1e6
    assert request_cost(opus, usage) == pytest.approx(expected)


def test_long_context_tier_is_chosen_per_request() -> None:
    haiku = load_price_table().models["claude-haiku-5-5"]
    assert haiku.long_context is not None
    small = TokenCounts(input_tokens=50_000, output_tokens=1000)
    big = TokenCounts(input_tokens=50_000, cache_read_tokens=60_000, output_tokens=1000)
    assert request_cost(haiku, small) == pytest.approx((50_000 * 0.1 + 1000 * 0.5) / 1e6)
    assert request_cost(haiku, big) == pytest.approx(
        (50_000 * 0.5 + 60_000 * 0.05 + 1000 * 2.5) / 1e6)
    # two small requests summed past the threshold are still two small requests
    assert model_cost(haiku, small + small, [small, small]) == pytest.approx(
        2 * request_cost(haiku, small))


def test_geo_multiplier_and_web_search() -> None:
    table = load_price_table()
    usage = {"m": TokenCounts(input_tokens=1_000_000, web_search_requests=2)}
    table_m = table.model_copy(update={"models": {"m": table.models["claude-opus-5-5"]}})
    assert price_turn(table_m, usage).by_model["m"] == pytest.approx(4 + 0.02)
    assert price_turn(table_m, usage, inference_geo="us").by_model["m"] == pytest.approx(
        4 * 1.1 + 0.02)


def test_an_unpriced_model_has_no_total_while_a_zero_turn_does() -> None:
    table = load_price_table()
    priced = price_turn(table, {"claude-opus-5-5": TokenCounts(input_tokens=10),
                                "nonesuch": TokenCounts(input_tokens=10)})
    assert priced.unpriced == ["nonesuch"] and priced.total_usd is None
    assert price_turn(table, {"nonesuch": TokenCounts()}).total_usd == 0.0


def test_the_packaged_table_is_what_the_pinned_claude_code_uses() -> None:
    packaged = read_price_table(PACKAGED_TABLE)
    fresh = table_from_catalog(read_catalog(CLAUDE.resolve()), claude_version="2.1.332",
                               retrieved=packaged.retrieved, version=packaged.version)
    assert not diff_tables(packaged, fresh).any
    assert fresh.models["claude-haiku-5-5"].long_context is not None


def test_an_update_bumps_the_version_only_when_a_price_changed() -> None:
    table = read_price_table(PACKAGED_TABLE)
    day = date(2027, 1, 5)
    assert updated_table(table, table, day).version == table.version
    dearer = table.model_copy(deep=True)
    dearer.models["claude-opus-5-5"].output = 30
    bumped = updated_table(table, dearer, day)
    assert bumped.version == "2027-01-05" and diff_tables(table, dearer).changed == [
        "claude-opus-5-5"]
    assert next_version(bumped, day) == "2027-01-05.2"
    assert next_version(bumped.model_copy(update={"version": "2027-01-05.2"}), day) == \
        "2027-01-05.3"


def test_the_simulator_bills_what_it_sent_of_an_answer_cut_short() -> None:
    body = {"model": "claude-opus-5-5", "max_tokens": 1000, "tools": [{"name": "Read"}],
            "system": "Claude Code", "messages": [{"role": "user", "content": "hi"}]}
    plan = plan_for(body)
    assert delivered_usage(plan, Meter(chars=999, finished=True)) == plan.usage
    cut = delivered_usage(plan, Meter(chars=41))
    assert cut["output_tokens"] == 11 and cut["input_tokens"] == plan.usage["input_tokens"]
