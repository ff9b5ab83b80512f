"""Logs: one JSON object per line when `settings.log_json`, with the job_id and
tenant_id of the current context (contextvars) when set."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

import orjson

from app.settings import Settings

__all__ = [
    "JsonFormatter",
    "SecretRedactor",
    "configure_logging",
    "job_id_var",
    "log_context",
    "redact_secrets",
    "tenant_id_var",
]

job_id_var: ContextVar[str | None] = ContextVar("job_id", default=None)
tenant_id_var: ContextVar[str | None] = ContextVar("tenant_id", default=None)

_STD_ATTRS = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}


# What a log line must never show: a query parameter that carries a credential (uvicorn's
# access log prints the query string), an Authorization or Cookie value, a bare JWT.
_SECRET_PARAM = re.compile(
    r"(?i)\b((?:access_)?token|code|jwt|key|api_key|secret|password|auth)=[^&\s\"']+"
)
_SECRET_HEADER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
_SECRET_COOKIE = re.compile(r"(?i)\b(wx_token)=[^;\s\"']+")
REDACTED = "[redacted]"


def redact_secrets(text: str) -> str:
    """`text` with every credential-looking value replaced by [redacted]."""
    text = _SECRET_PARAM.sub(lambda m: f"{m.group(1)}={REDACTED}", text)
    text = _SECRET_COOKIE.sub(lambda m: f"{m.group(1)}={REDACTED}", text)
    text = _SECRET_HEADER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    return _JWT.sub(REDACTED, text)


class SecretRedactor(logging.Filter):
    """Rewrites each record's message (and traceback text) with `redact_secrets`."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_secrets(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


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
    handler.addFilter(SecretRedactor())  # every logger's records pass the root's handler
    if settings.log_json:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(settings.log_level)
