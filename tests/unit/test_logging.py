"""JSON log lines carry job_id/tenant_id from the context."""

from __future__ import annotations

import logging

import orjson

from app.logging import JsonFormatter, log_context


def _format(record_msg: str, **extra: object) -> dict[str, object]:
    record = logging.makeLogRecord({"name": "t", "levelname": "INFO", "msg": record_msg, **extra})
    return dict(orjson.loads(JsonFormatter().format(record)))


def test_context_ids_are_added_and_removed() -> None:
    with log_context(job_id="j1", tenant_id="acme"):
        line = _format("hello %s", args=("you",))
    assert (line["message"], line["job_id"], line["tenant_id"]) == ("hello you", "j1", "acme")
    assert "job_id" not in _format("after")


def test_extra_fields_are_kept_and_one_line() -> None:
    record = logging.makeLogRecord({"name": "t", "msg": "x\ny", "levelname": "WARNING",
                                    "queue": "chat"})
    text = JsonFormatter().format(record)
    assert "\n" not in text
    assert orjson.loads(text)["queue"] == "chat"
