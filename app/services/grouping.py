"""How usage reports group turns (no heavy imports: the CLI reads it at start-up)."""

from enum import StrEnum


class Grouping(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    SESSION = "session"
    MODEL = "model"
    BLOCK = "block"  # 5-hour blocks, the window subscription limits are counted in
    TENANT = "tenant"
    PROJECT = "project"


__all__ = ["Grouping"]
