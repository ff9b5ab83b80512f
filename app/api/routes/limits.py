"""The caller's subscription limits and current use."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import SettingsDep, TenantDep
from app.api.routes._responses import errors
from app.api.schemas import LimitsPublic
from app.protocol import utc_now
from app.services.limit_outlook import limit_warnings, month_outlook
from app.services.limits import current_use, effective_limits

router = APIRouter(prefix="/api", tags=["limits"], responses=errors())


@router.get("/limits", response_model=LimitsPublic)
async def limits(tenant: TenantDep, settings: SettingsDep) -> LimitsPublic:
    """The tenant's limits, current use, the limits past the warning share, and the month's
    burn rate and projected cost."""
    now = utc_now()
    values = await effective_limits(settings, tenant_id=tenant)
    use = await current_use(tenant_id=tenant, now=now)
    return LimitsPublic(limits=values, use=use, warn_share=settings.limit_warn_share,
                        warnings=limit_warnings(values, use, settings.limit_warn_share),
                        month=month_outlook(values, use, now))
