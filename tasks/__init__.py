"""Celery tasks: `celery -A tasks worker -Q chat` (and `-Q conversions`).

The worker's settings come from its environment (`WX_*`): the command line is the only way
in. The API never imports this package; it sends the task by name (app/taskqueue.py)."""

from __future__ import annotations

from app.settings import get_settings
from tasks.celery_app import make_worker_celery

app = make_worker_celery(get_settings())

__all__ = ["app"]
