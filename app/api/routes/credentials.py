"""The caller's own Claude credential: link (PUT), see whether one is linked (GET), remove
(DELETE). The value goes in and is never sent back."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from app.api.deps import SettingsDep, TenantDep
from app.api.routes._responses import errors
from app.api.schemas import CredentialPublic, CredentialSet
from app.credentials import CredentialCipher
from app.errors import NotFound
from app.services.credentials import (
    CredentialStatus,
    credential_status,
    link_credential,
    unlink_credential,
)
from app.settings import Settings

router = APIRouter(prefix="/api/credentials", tags=["credentials"], responses=errors())


def _cipher(request: Request) -> CredentialCipher:
    cipher: CredentialCipher = request.app.state.credential_cipher
    return cipher


def _public(status: CredentialStatus, settings: Settings) -> CredentialPublic:
    return CredentialPublic(set=status.set, kind=status.kind, last4=status.last4,
                            updated_at=status.updated_at, readable=status.readable,
                            shared_fallback=settings.uses_shared_credential)


@router.get("/claude", response_model=CredentialPublic)
async def get_claude_credential(
    request: Request, tenant: TenantDep, settings: SettingsDep
) -> CredentialPublic:
    """Whether a Claude credential is linked: its kind and last 4 characters, never the value."""
    return _public(await credential_status(_cipher(request), tenant_id=tenant), settings)


@router.put("/claude", response_model=CredentialPublic)
async def put_claude_credential(
    body: CredentialSet, request: Request, tenant: TenantDep, settings: SettingsDep
) -> CredentialPublic:
    """Link (or replace) the tenant's Claude credential; stored encrypted, used only for
    this tenant's turns."""
    status = await link_credential(_cipher(request), tenant_id=tenant, kind=body.kind,
                                   value=body.value.get_secret_value())
    return _public(status, settings)


@router.delete("/claude", status_code=204, responses=errors(404))
async def delete_claude_credential(tenant: TenantDep) -> Response:
    """Remove the tenant's Claude credential (404 if none is linked)."""
    if not await unlink_credential(tenant_id=tenant):
        raise NotFound("Credential")
    return Response(status_code=204)
