"""Prices of Claude models (a versioned table in the package) and what tokens cost."""

from app.pricing.cost import PricedTurn, TokenCounts, model_cost, price_turn, request_cost
from app.pricing.table import ModelPrice, PriceTable, load_price_table, normalize_model_id

__all__ = [
    "ModelPrice",
    "PriceTable",
    "PricedTurn",
    "TokenCounts",
    "load_price_table",
    "model_cost",
    "normalize_model_id",
    "price_turn",
    "request_cost",
]
