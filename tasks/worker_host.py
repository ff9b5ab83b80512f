"""This worker's host (DESIGN §11): the host queues it consumes besides the generic ones.

The host queues are added in code when the worker starts (`celeryd_after_setup`), so
every command line (`-Q chat`, `-Q chat,conversions`, compose, `wxrunner stack`, the
tests) consumes `<queue>.<worker_host>` for each generic queue it was given: one
setting, `WX_WORKER_HOST`, decides the host, and no command has to repeat it. The host's
registry entry is kept alive by tasks/housekeeping.py::HostBeat."""

from __future__ import annotations

import logging
from typing import Any

from app.services.hosts import host_queue
from app.settings import Settings
from app.taskqueue import make_queue
from app.vocab import QueueName

__all__ = ["add_host_queues", "consumed_queues"]

log = logging.getLogger("wx.worker.host")


def consumed_queues(celery: Any) -> list[str]:
    """The generic queues (`chat`, `conversions`) this worker consumes."""
    return [q for q in celery.amqp.queues.consume_from if q in set(QueueName)]


def add_host_queues(celery: Any, settings: Settings) -> list[str]:
    """Also consume `<queue>.<host>` for each generic queue consumed; the names added."""
    added = [host_queue(q, settings.worker_host) for q in consumed_queues(celery)]
    for name in added:
        celery.amqp.queues.select_add(make_queue(name))
    log.info("host %s: consuming %s", settings.worker_host, ", ".join(added) or "no host queue")
    return added
