"""Parsing ids from URLs and frames: a malformed id is simply not found."""

from __future__ import annotations

from beanie import PydanticObjectId
from bson import ObjectId
from bson.errors import InvalidId

from app.errors import NotFound

__all__ = ["parse_id"]


def parse_id(value: str, what: str) -> PydanticObjectId:
    """`value` as an ObjectId, or `NotFound(what)` (never a 400 that would leak validity)."""
    try:
        return PydanticObjectId(ObjectId(value))
    except (InvalidId, TypeError) as exc:
        raise NotFound(what) from exc
