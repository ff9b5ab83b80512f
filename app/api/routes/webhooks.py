"""The tenant's webhooks: told, signed, when a job ends; and their delivery log."""

from __future__ import annotations

from fastapi import APIRouter, Response

from app.api.deps import SettingsDep, TenantDep
from app.api.routes._responses import errors
from app.api.schemas import WebhookCreate, WebhookCreated, WebhookDeliveryPublic, WebhookPublic
from app.services import webhooks

router = APIRouter(prefix="/api/webhooks", tags=["webhooks"], responses=errors())


@router.post("", status_code=201, response_model=WebhookCreated)
async def create_webhook(body: WebhookCreate, tenant: TenantDep,
                         settings: SettingsDep) -> WebhookCreated:
    """Register a webhook; its secret is in this answer only."""
    hook = await webhooks.create_webhook(settings, tenant_id=tenant, url=body.url,
                                         events=body.events)
    return WebhookCreated.of(hook)


@router.get("", response_model=list[WebhookPublic])
async def list_webhooks(tenant: TenantDep) -> list[WebhookPublic]:
    """The tenant's webhooks."""
    return [WebhookPublic.of(h) for h in await webhooks.list_webhooks(tenant_id=tenant)]


@router.delete("/{webhook_id}", status_code=204, response_class=Response,
               responses=errors(404))
async def delete_webhook(webhook_id: str, tenant: TenantDep) -> Response:
    """Delete a webhook (its pending deliveries are dropped)."""
    await webhooks.delete_webhook(tenant_id=tenant, webhook_id=webhook_id)
    return Response(status_code=204)


@router.get("/{webhook_id}/deliveries", response_model=list[WebhookDeliveryPublic],
            responses=errors(404))
async def list_deliveries(webhook_id: str, tenant: TenantDep) -> list[WebhookDeliveryPublic]:
    """The webhook's deliveries, newest first, with every attempt (the delivery log)."""
    found = await webhooks.list_deliveries(tenant_id=tenant, webhook_id=webhook_id)
    return [WebhookDeliveryPublic.of(d) for d in found]
