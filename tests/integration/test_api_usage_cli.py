"""`wxrunner usage report` against SecantusDB: JSON and the rich table."""

from __future__ import annotations

import os
import subprocess
import uuid
from datetime import UTC, datetime, timedelta

import orjson
from bson import ObjectId
from pymongo import MongoClient

from tests.helpers import VENV_BIN


def _run(mongo_url: str, db: str, *args: str) -> str:
    env = {**os.environ, "WX_MONGO_URL": mongo_url, "WX_MONGO_DB": db}
    proc = subprocess.run([str(VENV_BIN / "wxrunner"), "usage", "report", *args], env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_usage_report_by_model_and_day(mongo_url: str) -> None:
    db = f"wxcli_{uuid.uuid4().hex[:8]}"
    with MongoClient(mongo_url) as mongo:
        logs = mongo[db].token_usage_logs
        for tenant, model, day in [("acme", "opus", 3), ("acme", "haiku", 4), ("other", "opus", 4)]:
            logs.insert_one({
                "job_id": ObjectId(), "tenant_id": tenant, "project_id": ObjectId(),
                "session_id": "s", "input_tokens": 100, "output_tokens": 10,
                "cache_creation_tokens": 0, "cache_read_tokens": 0, "total_cost_usd": 0.25,
                "model": model, "by_model": {model: {"input_tokens": 100, "output_tokens": 10,
                                                     "cost_usd": 0.25}},
                "partial": False, "created_at": datetime(2026, 2, day, tzinfo=UTC),
            })
        try:
            report = orjson.loads(_run(mongo_url, db, "--tenant", "acme", "--by", "model",
                                       "--json"))
            assert {r["key"]: r["input_tokens"] for r in report["rows"]} == {
                "haiku": 100, "opus": 100}
            assert (report["total"]["turns"], report["total"]["cost_usd"]) == (2, 0.5)
            table = _run(mongo_url, db, "--by", "day")
            assert "2026-02-03" in table and "2026-02-04" in table
            assert "Total" in table and "$0.7500" in table
        finally:
            mongo.drop_database(db)


def _turn(tenant: str, session: str, when: datetime, cost: float,
          models: dict[str, int]) -> dict[str, object]:
    by_model = {m: {"input_tokens": n, "output_tokens": 0, "cache_creation_tokens": 0,
                    "cache_read_tokens": 0, "cost_usd": cost / len(models),
                    "claude_cost_usd": cost / len(models), "priced_cost_usd": cost / len(models)}
                for m, n in models.items()}
    return {"job_id": ObjectId(), "tenant_id": tenant, "project_id": ObjectId(),
            "session_id": session, "input_tokens": sum(models.values()), "output_tokens": 0,
            "cache_creation_tokens": 0, "cache_read_tokens": 0, "total_cost_usd": cost,
            "claude_cost_usd": cost, "priced_cost_usd": cost, "unpriced": False,
            "basis": "delta", "model": next(iter(models)), "by_model": by_model,
            "partial": False, "created_at": when}


def test_usage_report_by_week_month_block_and_session(mongo_url: str) -> None:
    db = f"wxcli_{uuid.uuid4().hex[:8]}"
    t0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)  # a Monday
    turns = [
        _turn("acme", "s1", t0, 1.0, {"claude-opus-5-5": 100, "claude-haiku-5-5": 10}),
        _turn("acme", "s1", t0 + timedelta(hours=4, minutes=20), 2.0, {"claude-opus-5-5": 50}),
        _turn("acme", "s2", t0 + timedelta(hours=5), 4.0, {"claude-opus-5-5": 10}),
        _turn("acme", "s2", t0 + timedelta(days=30), 8.0, {"claude-opus-5-5": 1}),
    ]
    with MongoClient(mongo_url) as mongo:
        mongo[db].token_usage_logs.insert_many(turns)
        try:
            def rows(by: str) -> dict[str, float]:
                out = orjson.loads(_run(mongo_url, db, "--tenant", "acme", "--by", by,
                                        "--json"))
                assert out["total"]["cost_usd"] == 15.0 and out["total"]["turns"] == 4
                return {r["key"]: r["cost_usd"] for r in out["rows"]}

            assert rows("week") == {"2026-W10": 7.0, "2026-W14": 8.0}
            assert rows("month") == {"2026-03": 7.0, "2026-04": 8.0}
            assert rows("session") == {"s1": 3.0, "s2": 12.0}
            assert rows("model") == {"claude-haiku-5-5": 0.5, "claude-opus-5-5": 14.5}
            # 09:00-14:00 holds the first two turns; 14:30 opens a block at 14:00
            assert rows("block") == {"2026-03-02T09:00Z": 3.0, "2026-03-02T14:00Z": 4.0,
                                     "2026-04-01T09:00Z": 8.0}
            table = _run(mongo_url, db, "--by", "day", "--since", "2026-03-02",
                         "--until", "2026-03-02")
            assert "opus-5-5, haiku-5-5" in table or "haiku-5-5, opus-5-5" in table
            assert "$7.0000" in table and "2026-04-01" not in table
        finally:
            mongo.drop_database(db)


def test_usage_report_refuses_a_bad_grouping(mongo_url: str) -> None:
    env = {**os.environ, "WX_MONGO_URL": mongo_url}
    proc = subprocess.run([str(VENV_BIN / "wxrunner"), "usage", "report", "--by", "year"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "year" in proc.stderr and "Traceback" not in proc.stderr
