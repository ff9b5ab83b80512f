"""5-hour billing blocks (the window subscription limits are counted in, as ccusage shows
them): a block opens at the hour of the first turn after the previous block ended and lasts
five hours. Pure: hourly sums in, block rows out."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

BLOCK = timedelta(hours=5)


@dataclass(frozen=True)
class HourSums:
    """What one tenant used in one clock hour (UTC)."""

    tenant_id: str
    hour: datetime
    sums: dict[str, float]


@dataclass
class Block:
    tenant_id: str
    start: datetime
    sums: dict[str, float]

    @property
    def end(self) -> datetime:
        return self.start + BLOCK


def fold_blocks(hours: Iterable[HourSums]) -> list[Block]:
    """Blocks of each tenant, oldest first; `hours` in any order."""
    blocks: list[Block] = []
    current: dict[str, Block] = {}
    for item in sorted(hours, key=lambda h: (h.hour, h.tenant_id)):
        block = current.get(item.tenant_id)
        if block is None or item.hour >= block.end:
            block = Block(item.tenant_id, item.hour, dict.fromkeys(item.sums, 0.0))
            current[item.tenant_id] = block
            blocks.append(block)
        for name, value in item.sums.items():
            block.sums[name] = block.sums.get(name, 0.0) + value
    return blocks


def projected(block: Block, value: float, now: datetime) -> float | None:
    """`value` of an active block extrapolated to its end at the rate so far; None when the
    block is over."""
    if not block.start <= now < block.end:
        return None
    elapsed = max((now - block.start).total_seconds(), 60.0)
    return value * BLOCK.total_seconds() / elapsed


__all__ = ["BLOCK", "Block", "HourSums", "fold_blocks", "projected"]
