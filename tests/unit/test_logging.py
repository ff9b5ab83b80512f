"""JSON log lines carry job_id/tenant_id from the context."""

from __future__ import annotations

import asyncio
import logging

import orjson
import pytest

from app.logging import JsonFormatter, configure_logging, log_context
from app.settings import Settings


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


def test_turn_log_line_carries_both_ids(capsys: pytest.CaptureFixture[str]) -> None:
    """As a worker logs inside a turn: configure_logging(JSON), log_context, an asyncio task."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    try:
        configure_logging(Settings(log_json=True, log_level="INFO"))

        async def turn() -> None:
            with log_context(job_id="665f1c0ffee0000000000001", tenant_id="acme"):
                await asyncio.sleep(0)
                logging.getLogger("wx.worker.turn").warning("job %s: executor failed", "x")

        asyncio.run(turn())
        logging.getLogger("wx.worker.turn").warning("outside")
    finally:
        root.handlers = saved[0]
        root.setLevel(saved[1])
    lines = [orjson.loads(line) for line in capsys.readouterr().err.splitlines()]
    inside, outside = lines[-2], lines[-1]
    assert inside["job_id"] == "665f1c0ffee0000000000001" and inside["tenant_id"] == "acme"
    assert inside["logger"] == "wx.worker.turn" and inside["level"] == "WARNING"
    assert "job_id" not in outside and "tenant_id" not in outside


JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4IiwidGVuYW50X2lkIjoiYSJ9.c2lnbmF0dXJlLXZhbHVl"


@pytest.mark.parametrize("line", [
    f'127.0.0.1:5 - "GET /ws/chat/p?token={JWT}&after_seq=3 HTTP/1.1" 200',
    f"GET /api/projects?access_token={JWT}",
    f"Authorization: Bearer {JWT}",
    f"cookie: wx_token={JWT}; theme=dark",
    f"a bare token {JWT} in a message",
])
def test_credentials_are_redacted_from_every_line(line: str) -> None:
    from app.logging import SecretRedactor

    record = logging.makeLogRecord({"name": "uvicorn.access", "levelname": "INFO",
                                    "msg": "%s", "args": (line,)})
    assert SecretRedactor().filter(record)
    message = record.getMessage()
    assert JWT not in message and JWT.split(".")[2] not in message
    assert "[redacted]" in message


def test_lines_without_credentials_are_kept() -> None:
    from app.logging import redact_secrets

    line = '127.0.0.1:5 - "GET /api/jobs/abc/events?after_seq=3 HTTP/1.1" 200'
    assert redact_secrets(line) == line
    assert redact_secrets("/signin?code=abcdef") == "/signin?code=[redacted]"
