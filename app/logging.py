"""Logs: one JSON object per line when `settings.log_json`, with the job_id and
tenant_id of the current context (contextvars) when set."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

import orjson

from app.settings import Settings

__all__ = ["JsonFormatter", "configure_logging", "job_id_var", "log_context", "tenant_id_var"]

job_id_var: ContextVar[str | None] = ContextVar("job_id", default=None)
tenant_id_var: ContextVar[str | None] = ContextVar("tenant_id", default=None)

_STD_ATTRS = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """A log record as one line of JSON."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, var in (("job_id", job_id_var), ("tenant_id", tenant_id_var)):
            value = getattr(record, key, None) or var.get()
            if value:
                entry[key] = value
        entry.update({k: v for k, v in record.__dict__.items()
                      if k not in _STD_ATTRS and k not in entry})
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


@contextmanager
def log_context(*, job_id: str | None = None, tenant_id: str | None = None) -> Iterator[None]:
    """Within the block, log records carry these ids."""
    tokens = []
    if job_id is not None:
        tokens.append((job_id_var, job_id_var.set(job_id)))
    if tenant_id is not None:
        tokens.append((tenant_id_var, tenant_id_var.set(tenant_id)))
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


def configure_logging(settings: Settings) -> None:
    """Root logger at `settings.log_level`, JSON lines or plain text."""
    handler = logging.StreamHandler()
    if settings.log_json:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(settings.log_level)
