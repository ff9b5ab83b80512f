"""Read the model catalog baked into the Claude Code binary: the prices Claude Code itself
uses for `total_cost_usd` (its `pricing_tiers`, per model), turned into a PriceTable."""

from __future__ import annotations

import mmap
import re
from pathlib import Path
from typing import Any

import json5

from app.pricing.table import LongContextRates, ModelPrice, PriceTable, normalize_model_id

_MARKER = b"baked-in model catalog"
_OPEN = b'={"//":'
_JS_BOOL = re.compile(r"(?<=[:\[,])!([01])(?=[,}\]])")
PRICING_PAGE = "https://platform.claude.com/docs/en/about-claude/pricing"


class CatalogNotFound(Exception):
    """The binary holds no model catalog this reader understands."""


def read_catalog(binary: Path) -> dict[str, Any]:
    """The catalog object literal found in a Claude Code binary, as a dict."""
    with binary.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
        marker = data.find(_MARKER)
        start = data.rfind(_OPEN, max(0, marker - 4096), marker) if marker >= 0 else -1
        if start < 0:
            raise CatalogNotFound(f"no model catalog in {binary}")
        literal = _object_at(data, start + 1).decode("utf-8")
    try:
        catalog = json5.loads(_JS_BOOL.sub(lambda m: "true" if m[1] == "0" else "false",
                                           literal))
    except ValueError as exc:
        raise CatalogNotFound(f"the model catalog in {binary} does not parse: {exc}") from exc
    if not isinstance(catalog, dict) or "pricing_tiers" not in catalog:
        raise CatalogNotFound(f"the model catalog in {binary} has no pricing_tiers")
    return catalog


def _object_at(data: mmap.mmap, start: int) -> bytes:
    """The bytes of the `{...}` that opens at `start` (strings skipped)."""
    depth, i, quote = 0, start, 0
    while i < len(data):
        c = data[i]
        if quote:
            if c == 0x5C:  # backslash: skip the escaped byte
                i += 1
            elif c == quote:
                quote = 0
        elif c in (0x22, 0x27, 0x60):
            quote = c
        elif c == 0x7B:
            depth += 1
        elif c == 0x7D:
            depth -= 1
            if depth == 0:
                return bytes(data[start:i + 1])
        i += 1
    raise CatalogNotFound("the model catalog never closes")


def table_from_catalog(catalog: dict[str, Any], *, claude_version: str, retrieved: str,
                       version: str) -> PriceTable:
    """A PriceTable with one entry per catalog model that has a price."""
    tiers: dict[str, Any] = catalog["pricing_tiers"]
    models: dict[str, ModelPrice] = {}
    for entry in catalog.get("models", []):
        pricing = entry.get("pricing")
        tier = tiers.get(pricing) if isinstance(pricing, str) else pricing
        if not isinstance(tier, dict):
            continue
        models[entry["id"]] = _model_price(entry, tier)
    return PriceTable(
        version=version, retrieved=retrieved, models=models, geo_multipliers={"us": 1.1},
        source=(f"Claude Code {claude_version}: its baked-in model catalog (pricing_tiers), the "
                f"prices it uses for total_cost_usd; Anthropic's list prices ({PRICING_PAGE})"),
    )


def _model_price(entry: dict[str, Any], tier: dict[str, Any]) -> ModelPrice:
    long = tier.get("long_prompt")
    own = normalize_model_id(entry["id"])
    aliases = {normalize_model_id(str(p)) for p in (entry.get("provider_ids") or {}).values() if p}
    return ModelPrice(
        family=str(entry.get("family", "")), display_name=str(entry.get("display_name", "")),
        aliases=sorted(aliases - {own}), web_search=float(tier.get("web_search", 0.01)),
        **_rates(tier),
        long_context=None if not isinstance(long, dict) else LongContextRates(
            above_prompt_tokens=int(long["above_prompt_tokens"]), **_rates(long)),
    )


def _rates(tier: dict[str, Any]) -> dict[str, float]:
    names = ("input", "output", "cache_write_5m", "cache_write_1h", "cache_read")
    return {name: float(tier[name]) for name in names}


__all__ = ["PRICING_PAGE", "CatalogNotFound", "read_catalog", "table_from_catalog"]
