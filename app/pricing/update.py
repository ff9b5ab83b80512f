"""A new price table from a source, with its version bumped only when a price changed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from app.pricing.table import ModelPrice, PriceTable


@dataclass(frozen=True)
class TableChanges:
    """What an update changes, model by model."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)

    @property
    def any(self) -> bool:
        return bool(self.added or self.removed or self.changed)


def diff_tables(old: PriceTable | None, new: PriceTable) -> TableChanges:
    before: dict[str, ModelPrice] = old.models if old else {}
    return TableChanges(
        added=sorted(set(new.models) - set(before)),
        removed=sorted(set(before) - set(new.models)),
        changed=sorted(m for m in set(new.models) & set(before)
                       if new.models[m] != before[m]),
    )


def next_version(old: PriceTable | None, today: date) -> str:
    """Today's date; `YYYY-MM-DD.n` when today's version is already taken."""
    base = today.isoformat()
    if old is None or not old.version.startswith(base):
        return base
    _, _, n = old.version.partition(".")
    return f"{base}.{int(n or 1) + 1}"


def updated_table(old: PriceTable | None, new: PriceTable, today: date) -> PriceTable:
    """`new`, versioned: the old version when no price changed, else a new one."""
    if old is not None and not diff_tables(old, new).any and old.geo_multipliers == \
            new.geo_multipliers:
        return new.model_copy(update={"version": old.version, "retrieved": today.isoformat()})
    return new.model_copy(update={"version": next_version(old, today),
                                  "retrieved": today.isoformat()})


__all__ = ["TableChanges", "diff_tables", "next_version", "updated_table"]
