"""The worker's Celery app: the configuration shared with the API (app/taskqueue.py) plus
the chat-turn task module."""

from __future__ import annotations

from celery import Celery

from app.settings import Settings
from app.taskqueue import make_celery

__all__ = ["make_worker_celery"]


def make_worker_celery(settings: Settings) -> Celery:
    """The app `celery -A tasks worker` runs."""
    return make_celery(settings, include=["tasks.chat_turn"])
