"""The caller's subscription limits and current use."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import SettingsDep, TenantDep
from app.api.routes._responses import errors
from app.api.schemas import LimitsPublic
from app.protocol import utc_now
from app.services.limits import current_use, effective_limits

router = APIRouter(prefix="/api", tags=["limits"], responses=errors())


@router.get("/limits", response_model=LimitsPublic)
async def limits(tenant: TenantDep, settings: SettingsDep) -> LimitsPublic:
    """The tenant's limits and current use."""
    return LimitsPublic(
        limits=await effective_limits(settings, tenant_id=tenant),
        use=await current_use(tenant_id=tenant, now=utc_now()),
    )
