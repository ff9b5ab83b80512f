"""The fault suite's report: every trial's verdict, by case (see conftest.py for the table)."""

from __future__ import annotations

from typing import Any

from tests.faults.client import Verdict

REPORT: dict[str, list[dict[str, Any]]] = {}


def record(case: str, trial: int, verdict: Verdict, problems: list[str]) -> None:
    """Add a trial to the report."""
    REPORT.setdefault(case, []).append({"trial": trial, "problems": problems,
                                        **{k: v for k, v in vars(verdict).items()}})
