"""Celery tasks: `celery -A tasks worker -Q chat` (and `-Q conversions`)."""

from __future__ import annotations

from app.settings import get_settings
from tasks.celery_app import make_celery

app = make_celery(get_settings())

__all__ = ["app"]
