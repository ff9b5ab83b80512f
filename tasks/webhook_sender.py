"""The webhook sender of a worker process (app/services/webhooks.py): claims due deliveries,
POSTs each stored body signed with its webhook's secret, and records the attempt. It runs
beside the turns, so a slow or failing endpoint never holds up a turn's end."""

from __future__ import annotations

import asyncio
import logging
import time
from urllib.parse import urlsplit

import httpx

from app.models import DeliveryAttempt, Webhook, WebhookDelivery
from app.protocol import utc_now
from app.retry import is_transient
from app.services.webhooks import SIGNATURE_HEADER, address_allowed, claim_due, record_attempt, sign
from tasks.runtime import Clients

__all__ = ["WebhookSender"]

log = logging.getLogger("wx.worker.webhooks")

_CONCURRENCY = 8


class WebhookSender:
    """Sends due deliveries, a few at a time, until cancelled."""

    def __init__(self, clients: Clients) -> None:
        self.clients = clients
        self.settings = clients.settings
        self._slots = asyncio.Semaphore(_CONCURRENCY)
        self._tasks: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        lease_s = self.settings.webhook_timeout_s * 3
        async with httpx.AsyncClient(timeout=self.settings.webhook_timeout_s,
                                     follow_redirects=False, trust_env=False) as http:
            try:
                while True:
                    await self._slots.acquire()
                    try:
                        delivery = await claim_due(lease_s=lease_s)
                    except Exception as exc:
                        self._slots.release()
                        if not is_transient(exc):
                            log.exception("webhooks: cannot claim deliveries")
                        await asyncio.sleep(self.settings.webhook_poll_s)
                        continue
                    if delivery is None:
                        self._slots.release()
                        await asyncio.sleep(self.settings.webhook_poll_s)
                        continue
                    task = asyncio.create_task(self._deliver(http, delivery))
                    self._tasks.add(task)
                    task.add_done_callback(self._done)
            finally:
                for task in self._tasks:
                    task.cancel()
                await asyncio.gather(*self._tasks, return_exceptions=True)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._slots.release()

    async def _deliver(self, http: httpx.AsyncClient, delivery: WebhookDelivery) -> None:
        try:
            hook = await Webhook.get(delivery.webhook_id)
            attempt = await self._post(http, hook, delivery)
            state = await record_attempt(self.settings, delivery, attempt)
            log.info("webhook delivery %s (%s, job %s): %s -> %s", delivery.id, delivery.event,
                     delivery.job_id, attempt.status_code or attempt.error, state)
        except Exception:
            log.exception("webhook delivery %s failed to run; it is tried again", delivery.id)

    async def _post(self, http: httpx.AsyncClient, hook: Webhook | None,
                    delivery: WebhookDelivery) -> DeliveryAttempt:
        started, at = time.monotonic(), utc_now()
        if hook is None:
            return DeliveryAttempt(at=at, error="the webhook was deleted")
        parts = urlsplit(hook.url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        if not await address_allowed(self.settings, parts.hostname or "", port):
            return DeliveryAttempt(at=at, error="the URL resolves to an address not allowed")
        body = delivery.body.encode()
        headers = {"Content-Type": "application/json", "User-Agent": "wxcode-runner-webhooks",
                   "X-Wx-Event": delivery.event, "X-Wx-Delivery": str(delivery.id),
                   SIGNATURE_HEADER: sign(hook.secret, body)}
        try:
            response = await http.post(hook.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return DeliveryAttempt(at=at, error=f"{type(exc).__name__}: {exc}"[:300],
                                   duration_ms=int((time.monotonic() - started) * 1000))
        return DeliveryAttempt(at=at, status_code=response.status_code,
                               duration_ms=int((time.monotonic() - started) * 1000))
