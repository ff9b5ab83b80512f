"""What tokens cost under a price table: per API request (the long-context tier is chosen
by that request's prompt size, as the API bills it) and per model of a turn."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from app.pricing.table import ModelPrice, PriceTable, Rates

_PER_TOKEN = 1e-6  # the table is per million tokens


@dataclass(frozen=True)
class TokenCounts:
    """Token counts of one request or a sum of them, in the runner's field names."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_tokens: int = 0
    cache_read_tokens: int = 0
    cache_creation_1h_tokens: int = 0  # the part of cache_creation_tokens cached for 1 hour
    web_search_requests: int = 0

    @property
    def prompt_tokens(self) -> int:
        return self.input_tokens + self.cache_creation_tokens + self.cache_read_tokens

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.output_tokens

    def __add__(self, other: TokenCounts) -> TokenCounts:
        return TokenCounts(**{f: getattr(self, f) + getattr(other, f) for f in _FIELDS})

    def __sub__(self, other: TokenCounts) -> TokenCounts:
        return TokenCounts(**{f: getattr(self, f) - getattr(other, f) for f in _FIELDS})

    def at_least_zero(self) -> TokenCounts:
        return TokenCounts(**{f: max(0, getattr(self, f)) for f in _FIELDS})

    def any_negative(self) -> bool:
        return any(getattr(self, f) < 0 for f in _FIELDS)

    def is_zero(self) -> bool:
        return not any(getattr(self, f) for f in _FIELDS)

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> TokenCounts:
        """A Messages API `usage` object (`cache_creation.ephemeral_1h_input_tokens` included)."""
        split = raw.get("cache_creation") if isinstance(raw.get("cache_creation"), dict) else {}
        tools = raw.get("server_tool_use") if isinstance(raw.get("server_tool_use"), dict) else {}
        return cls(
            input_tokens=_int(raw.get("input_tokens")),
            output_tokens=_int(raw.get("output_tokens")),
            cache_creation_tokens=_int(raw.get("cache_creation_input_tokens")),
            cache_read_tokens=_int(raw.get("cache_read_input_tokens")),
            cache_creation_1h_tokens=_int((split or {}).get("ephemeral_1h_input_tokens")),
            web_search_requests=_int((tools or {}).get("web_search_requests")),
        )


_FIELDS = tuple(f.name for f in fields(TokenCounts))


def _int(value: Any) -> int:
    return int(value) if isinstance(value, int | float) else 0


def total_of(counts: Iterable[TokenCounts]) -> TokenCounts:
    out = TokenCounts()
    for c in counts:
        out = out + c
    return out


def _tokens_cost(rates: Rates, usage: TokenCounts) -> float:
    one_hour = min(max(usage.cache_creation_1h_tokens, 0), usage.cache_creation_tokens)
    five_minutes = usage.cache_creation_tokens - one_hour
    return _PER_TOKEN * (usage.input_tokens * rates.input + usage.output_tokens * rates.output
                         + usage.cache_read_tokens * rates.cache_read
                         + five_minutes * rates.cache_write_5m + one_hour * rates.cache_write_1h)


def request_cost(price: ModelPrice, usage: TokenCounts, *, geo_multiplier: float = 1.0,
                 base_tier: bool = False) -> float:
    """USD of one API request; `base_tier` prices a sum of requests of unknown sizes."""
    long = price.long_context
    rates: Rates = price
    if long is not None and not base_tier and usage.prompt_tokens > long.above_prompt_tokens:
        rates = long
    searches = usage.web_search_requests * price.web_search
    return _tokens_cost(rates, usage) * geo_multiplier + searches


def model_cost(price: ModelPrice, total: TokenCounts, requests: Iterable[TokenCounts] = (),
               *, geo_multiplier: float = 1.0) -> float:
    """USD of a model's share of a turn: the requests seen one by one, the rest of `total`
    (requests not seen one by one, e.g. a subagent's) at the base tier. Requests that add up
    to more than `total` (an attempt `total` leaves out) are not used: `total` is priced."""
    seen = list(requests)
    rest = total - total_of(seen)
    if rest.any_negative():
        seen, rest = [], total
    return sum(request_cost(price, r, geo_multiplier=geo_multiplier) for r in seen) + \
        request_cost(price, rest, geo_multiplier=geo_multiplier, base_tier=True)


@dataclass(frozen=True)
class PricedTurn:
    """A turn priced model by model; a model missing from the table has cost None."""

    version: str
    by_model: dict[str, float | None] = field(default_factory=dict)

    @property
    def unpriced(self) -> list[str]:
        return sorted(m for m, cost in self.by_model.items() if cost is None)

    @property
    def total_usd(self) -> float | None:
        """None when any model with tokens has no price: never priced at zero."""
        if self.unpriced:
            return None
        return sum(c for c in self.by_model.values() if c is not None)


def price_turn(table: PriceTable, by_model: Mapping[str, TokenCounts],
               requests: Mapping[str, Iterable[TokenCounts]] | None = None,
               *, inference_geo: str | None = None) -> PricedTurn:
    """Price each model's tokens of a turn with `table` (`requests`: those seen one by one)."""
    multiplier = table.geo_multipliers.get(inference_geo or "", 1.0)
    priced: dict[str, float | None] = {}
    for model, total in by_model.items():
        price = table.lookup(model)
        if price is None:
            priced[model] = None if not total.is_zero() else 0.0
            continue
        priced[model] = model_cost(price, total, (requests or {}).get(model, ()),
                                   geo_multiplier=multiplier)
    return PricedTurn(version=table.version, by_model=priced)


__all__ = ["PricedTurn", "TokenCounts", "model_cost", "price_turn", "request_cost", "total_of"]
