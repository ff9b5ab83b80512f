"""Per-tenant webhooks, told when a job ends (DESIGN §12).

A turn's end only records what is to be sent (`enqueue_job_event`: one delivery per webhook
and event, upserted, so an ending replayed from the outbox sends nothing twice); a sender of
its own in each worker process (tasks/webhook_sender.py) claims due deliveries, POSTs the
stored body signed with HMAC-SHA256 under the webhook's secret, and retries a failure with
exponential backoff until `webhook_max_attempts`. Every attempt is kept: the delivery log."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import secrets
import socket
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import orjson
from pymongo import ReturnDocument

from app.errors import BadRequest, NotFound
from app.models import DeliveryAttempt, Job, Webhook, WebhookDelivery
from app.protocol import utc_now
from app.services.ids import parse_id
from app.services.shared_reads import SharedReads
from app.settings import Settings
from app.vocab import DeliveryState, WebhookEvent, event_of

__all__ = [
    "SIGNATURE_HEADER",
    "address_allowed",
    "backoff_s",
    "claim_due",
    "create_webhook",
    "delete_webhook",
    "enqueue_job_event",
    "get_webhook",
    "list_deliveries",
    "list_webhooks",
    "record_attempt",
    "sign",
]

SIGNATURE_HEADER = "X-Wx-Signature"  # "sha256=<hex HMAC-SHA256 of the body>"
_MAX_WEBHOOKS = 20


def sign(secret: str, body: bytes) -> str:
    """The signature header's value for `body`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def create_webhook(settings: Settings, *, tenant_id: str, url: str,
                         events: list[WebhookEvent]) -> Webhook:
    """A new webhook with a fresh secret; BadRequest for a URL it may not call."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadRequest("The webhook URL must be http(s)://host/...", field="url")
    if parts.username or parts.password:
        raise BadRequest("Put no credentials in the webhook URL.", field="url")
    if not events:
        raise BadRequest("Name at least one event.", field="events")
    if await Webhook.find(Webhook.tenant_id == tenant_id).count() >= _MAX_WEBHOOKS:
        raise BadRequest(f"At most {_MAX_WEBHOOKS} webhooks per tenant.")
    if not await address_allowed(settings, parts.hostname, parts.port or _port(parts.scheme)):
        raise BadRequest("The webhook URL resolves to a private, loopback or reserved address.",
                         field="url")
    return await Webhook(tenant_id=tenant_id, url=url, events=sorted(set(events)),
                         secret="whsec_" + secrets.token_urlsafe(32)).insert()


async def list_webhooks(*, tenant_id: str) -> list[Webhook]:
    return await Webhook.find(Webhook.tenant_id == tenant_id).sort("+created_at").to_list()


async def get_webhook(*, tenant_id: str, webhook_id: str) -> Webhook:
    hook = await Webhook.find_one(Webhook.id == parse_id(webhook_id, "Webhook"),
                                  Webhook.tenant_id == tenant_id)
    if hook is None:
        raise NotFound("Webhook")
    return hook


async def delete_webhook(*, tenant_id: str, webhook_id: str) -> None:
    hook = await get_webhook(tenant_id=tenant_id, webhook_id=webhook_id)
    await hook.delete()
    await WebhookDelivery.get_pymongo_collection().update_many(
        {"webhook_id": hook.id, "state": DeliveryState.PENDING},
        {"$set": {"state": DeliveryState.FAILED}})


async def list_deliveries(*, tenant_id: str, webhook_id: str,
                          limit: int = 100) -> list[WebhookDelivery]:
    """The webhook's deliveries, newest first, each with its attempts."""
    hook = await get_webhook(tenant_id=tenant_id, webhook_id=webhook_id)
    query = WebhookDelivery.find(WebhookDelivery.webhook_id == hook.id)
    return await query.sort("-created_at").limit(limit).to_list()


_ending_reads: SharedReads[list[Webhook]] = SharedReads()  # turns ending together


async def enqueue_job_event(job: Job) -> int:
    """Record a delivery of the job's end for each webhook that wants it; how many."""
    event = event_of(job.state)
    if event is None:
        return 0
    hooks = await _ending_reads.read((job.tenant_id, event), lambda: Webhook.find(
        {"tenant_id": job.tenant_id, "events": event}).to_list())
    for hook in hooks:
        body = _body(hook, job, event)
        await WebhookDelivery.get_pymongo_collection().update_one(
            {"webhook_id": hook.id, "job_id": job.id, "event": event},
            {"$setOnInsert": WebhookDelivery(
                tenant_id=job.tenant_id, webhook_id=hook.id, event=event,
                job_id=job.id, body=body).model_dump(exclude={"id", "revision_id"})},
            upsert=True)
    return len(hooks)


def _body(hook: Webhook, job: Job, event: WebhookEvent) -> str:
    usage = job.usage.model_dump(mode="json") if job.usage else None
    return orjson.dumps({
        "event": event, "webhook_id": str(hook.id), "tenant_id": job.tenant_id,
        "sent_for": utc_now().isoformat(),
        "job": {"id": str(job.id), "project_id": str(job.project_id),
                "session_id": str(job.session_id), "context": job.context, "state": job.state,
                "error_code": job.error_code, "error_message": job.error_message,
                "usage": usage, "created_at": job.created_at.isoformat(),
                "finished_at": job.finished_at.isoformat() if job.finished_at else None},
    }).decode()


async def claim_due(*, lease_s: float) -> WebhookDelivery | None:
    """A pending delivery that is due and that no sender holds, now held for `lease_s`."""
    now = utc_now()
    raw = await WebhookDelivery.get_pymongo_collection().find_one_and_update(
        {"state": DeliveryState.PENDING, "next_attempt_at": {"$lte": now},
         "$or": [{"lease_until": None}, {"lease_until": {"$lt": now}}]},
        {"$set": {"lease_until": now + timedelta(seconds=lease_s)}},
        sort=[("next_attempt_at", 1)], return_document=ReturnDocument.AFTER)
    return None if raw is None else WebhookDelivery.model_validate(raw)


async def record_attempt(settings: Settings, delivery: WebhookDelivery,
                         attempt: DeliveryAttempt) -> DeliveryState:
    """Keep the attempt; delivered on a 2xx, else due again after the backoff (or failed
    after the last attempt). The delivery's state now."""
    tries = len(delivery.attempts) + 1
    update: dict[str, Any] = {"lease_until": None}
    ok = attempt.status_code is not None and 200 <= attempt.status_code < 300
    if ok:
        update |= {"state": DeliveryState.DELIVERED, "delivered_at": attempt.at}
    elif tries >= settings.webhook_max_attempts:
        update |= {"state": DeliveryState.FAILED}
    else:
        update |= {"next_attempt_at": attempt.at + timedelta(seconds=backoff_s(settings, tries))}
    await WebhookDelivery.get_pymongo_collection().update_one(
        {"_id": delivery.id},
        {"$set": update, "$push": {"attempts": attempt.model_dump()}})
    return DeliveryState(update.get("state", DeliveryState.PENDING))


def backoff_s(settings: Settings, tries: int) -> float:
    """The wait after the `tries`-th failed attempt: doubling from the base, capped."""
    return float(min(settings.webhook_retry_base_s * 2 ** (tries - 1),
                     settings.webhook_retry_max_s))


async def address_allowed(settings: Settings, host: str, port: int) -> bool:
    """Whether every address `host` resolves to may be called (public ones only, unless
    `webhook_allow_private`)."""
    if settings.webhook_allow_private:
        return True
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port,
                                                             type=socket.SOCK_STREAM)
    except OSError:
        return False
    addresses = {ipaddress.ip_address(info[4][0]) for info in infos}
    return bool(addresses) and all(a.is_global for a in addresses)


def _port(scheme: str) -> int:
    return 443 if scheme == "https" else 80

