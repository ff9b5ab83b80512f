"""The versioned price table (USD per million tokens), its file and model lookup."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

PACKAGED_TABLE = Path(__file__).resolve().parent / "prices.json"

# A provider prefix ("us.anthropic."), a date or version suffix ("-20251001", "@20251001",
# "-v1:0"), a context-window suffix ("[1m]"): none of them changes the price.
_PROVIDER_PREFIX = re.compile(r"^(?:[a-z]{2}\.)?anthropic\.")
_SUFFIX = re.compile(r"(?:\[1m\]|-v\d+(?::\d+)?|[-@]\d{8})$")


class Rates(BaseModel):
    """USD per million tokens of each kind."""

    model_config = ConfigDict(extra="forbid")

    input: float = Field(ge=0)
    output: float = Field(ge=0)
    cache_write_5m: float = Field(ge=0)
    cache_write_1h: float = Field(ge=0)
    cache_read: float = Field(ge=0)


class LongContextRates(Rates):
    """The rates of a request whose prompt (input + cache write + cache read) exceeds a size."""

    above_prompt_tokens: int = Field(gt=0)


class ModelPrice(Rates):
    """One model's rates, with its long-context tier when it has one."""

    family: str
    display_name: str = ""
    aliases: list[str] = Field(default_factory=list)
    web_search: float = Field(default=0.01, ge=0, description="USD per web search request")
    long_context: LongContextRates | None = None


class PriceTable(BaseModel):
    """Prices by model id, with where they come from and when they were taken."""

    model_config = ConfigDict(extra="forbid")

    version: str = Field(description="changes whenever a price changes (YYYY-MM-DD[.n])")
    source: str
    retrieved: str = Field(description="the day the prices were read from the source")
    unit: str = "USD per million tokens"
    geo_multipliers: dict[str, float] = Field(
        default_factory=dict, description="inference_geo -> multiplier (data residency)")
    models: dict[str, ModelPrice]

    def lookup(self, model: str) -> ModelPrice | None:
        """The price of a model id as Claude Code or the API spell it; None when unknown."""
        return self._index().get(normalize_model_id(model))

    def _index(self) -> dict[str, ModelPrice]:
        index: dict[str, ModelPrice] = {}
        for model_id, price in self.models.items():
            for name in (model_id, *price.aliases):
                index.setdefault(normalize_model_id(name), price)
        return index


def normalize_model_id(model: str) -> str:
    """`us.anthropic.claude-haiku-4-5-20251001-v1:0` -> `claude-haiku-4-5`."""
    name = model.strip().lower()
    name = _PROVIDER_PREFIX.sub("", name)
    while (shorter := _SUFFIX.sub("", name)) != name:
        name = shorter
    return name


def read_price_table(path: Path) -> PriceTable:
    return PriceTable.model_validate_json(path.read_bytes())


def write_price_table(table: PriceTable, path: Path) -> None:
    path.write_text(table.model_dump_json(indent=2, exclude_defaults=False) + "\n")


@lru_cache(maxsize=8)
def load_price_table(path: Path | None = None) -> PriceTable:
    """The table at `path` (the packaged one when None), read once per process."""
    return read_price_table(path or PACKAGED_TABLE)


__all__ = [
    "PACKAGED_TABLE",
    "LongContextRates",
    "ModelPrice",
    "PriceTable",
    "Rates",
    "load_price_table",
    "normalize_model_id",
    "read_price_table",
    "write_price_table",
]
