"""What the simulator bills for each request: the tokens it delivered, priced with the price
table, as the API would bill them (the ground truth the billing tests compare against)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from app.pricing import PriceTable, TokenCounts, request_cost
from workers.simulator.events import Meter
from workers.simulator.scenarios import Plan

_CHARS_PER_TOKEN = 4  # the simulator's output rule (scenarios.usage_for)


def delivered_usage(plan: Plan, meter: Meter) -> dict[str, int]:
    """The plan's usage; an answer cut short (client gone, mid-stream failure) bills only the
    output it sent."""
    usage = dict(plan.usage)
    if not meter.finished:
        usage["output_tokens"] = math.ceil(meter.chars / _CHARS_PER_TOKEN)
    return usage


def bill(entry: dict[str, Any], plan: Plan, prices: PriceTable, meter: Meter) -> None:
    """Fill a served-log entry's `billed_usage` and `billed_usd` (None: model not priced)."""
    usage = delivered_usage(plan, meter)
    entry["billed_usage"] = usage
    price = prices.lookup(str(entry["model"]))
    entry["priced"] = price is not None
    entry["billed_usd"] = None if price is None else request_cost(price,
                                                                  TokenCounts.from_api(usage))


def billed_summary(entries: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Requests, USD and tokens billed, in total and per model; `pending` are still streaming,
    `unpriced` lists models the price table lacks."""
    by_model: dict[str, dict[str, Any]] = {}
    total, pending, unpriced = 0.0, 0, set()
    for entry in entries:
        if entry.get("error_status"):
            continue
        if not entry["priced"]:
            unpriced.add(entry["model"])
        if entry["billed_usage"] is None:
            pending += 1
            continue
        row = by_model.setdefault(entry["model"], {"requests": 0, "usd": 0.0,
                                                   **dict.fromkeys(_TOKEN_KEYS, 0)})
        row["requests"] += 1
        row["usd"] += entry["billed_usd"] or 0.0
        counts = TokenCounts.from_api(entry["billed_usage"])
        for key in _TOKEN_KEYS:
            row[key] += getattr(counts, key)
        total += entry["billed_usd"] or 0.0
    return {"requests": sum(r["requests"] for r in by_model.values()), "pending": pending,
            "total_usd": total, "unpriced": sorted(unpriced), "by_model": by_model}


_TOKEN_KEYS = ("input_tokens", "output_tokens", "cache_creation_tokens", "cache_read_tokens")

__all__ = ["bill", "billed_summary", "delivered_usage"]
