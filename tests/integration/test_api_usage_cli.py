"""`wxrunner usage report` against SecantusDB: JSON and the rich table."""

from __future__ import annotations

import os
import subprocess
import uuid
from datetime import UTC, datetime

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
