"""A tenant's own Claude credential: link, show (never the value), remove, and the one a
turn runs with (the tenant's, else the operator's shared one if the fallback is on)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from app.credentials import (
    CredentialCipher,
    CredentialKind,
    CredentialUnreadable,
    TurnCredential,
    check_credential,
    last4,
    shared_credential,
)
from app.errors import NoCredentials
from app.models import TenantCredential
from app.protocol import utc_now
from app.services.shared_reads import SharedReads
from app.settings import Settings

__all__ = [
    "CredentialStatus",
    "credential_for_turn",
    "credential_status",
    "has_credential_for_turn",
    "link_credential",
    "unlink_credential",
]

log = logging.getLogger("wx.credentials")

_turn_reads: SharedReads[TenantCredential | None] = SharedReads()  # turns starting together


@dataclass(frozen=True)
class CredentialStatus:
    set: bool
    kind: CredentialKind | None = None
    last4: str | None = None
    updated_at: datetime | None = None
    readable: bool = True  # False: stored under a key no longer configured: link it again


async def link_credential(
    cipher: CredentialCipher, *, tenant_id: str, kind: CredentialKind, value: str
) -> CredentialStatus:
    """Store (or replace) the tenant's credential, encrypted; BadRequest for a bad shape."""
    secret = check_credential(kind, value)
    now, ciphertext = utc_now(), cipher.encrypt(secret)
    await TenantCredential.find_one(TenantCredential.tenant_id == tenant_id).upsert(
        {"$set": {"kind": kind, "ciphertext": ciphertext, "updated_at": now}},
        on_insert=TenantCredential(tenant_id=tenant_id, kind=kind, ciphertext=ciphertext,
                                   updated_at=now),
    )
    log.info("tenant %s linked a Claude credential (%s)", tenant_id, kind)
    return CredentialStatus(set=True, kind=kind, last4=last4(secret), updated_at=now)


async def credential_status(cipher: CredentialCipher, *, tenant_id: str) -> CredentialStatus:
    stored = await TenantCredential.find_one(TenantCredential.tenant_id == tenant_id)
    if stored is None:
        return CredentialStatus(set=False)
    try:
        hint: str | None = last4(cipher.decrypt(stored.ciphertext))
    except CredentialUnreadable:
        hint = None
    return CredentialStatus(set=True, kind=stored.kind, last4=hint,
                            updated_at=stored.updated_at, readable=hint is not None)


async def unlink_credential(*, tenant_id: str) -> bool:
    """Remove the tenant's credential; whether there was one."""
    result = await TenantCredential.find(TenantCredential.tenant_id == tenant_id).delete()
    removed = bool(result and result.deleted_count)
    if removed:
        log.info("tenant %s removed its Claude credential", tenant_id)
    return removed


async def has_credential_for_turn(settings: Settings, *, tenant_id: str) -> bool:
    """Cheap admission check: the tenant has a credential, or may use the shared one."""
    if settings.uses_shared_credential:
        return True
    return await TenantCredential.find_one(TenantCredential.tenant_id == tenant_id) is not None


async def credential_for_turn(
    settings: Settings, cipher: CredentialCipher, *, tenant_id: str
) -> TurnCredential:
    """The credential of this tenant's turn; NoCredentials when it has none and may not use
    the shared one. Only this tenant's credential is ever decrypted for its turn."""
    stored = await _turn_reads.read(tenant_id, lambda: TenantCredential.find_one(
        TenantCredential.tenant_id == tenant_id))
    if stored is not None:
        try:
            return TurnCredential(kind=stored.kind, value=cipher.decrypt(stored.ciphertext))
        except CredentialUnreadable:
            log.error("tenant %s: its stored Claude credential cannot be decrypted with the "
                      "configured WX_CREDENTIAL_KEY", tenant_id)
            raise NoCredentials("The Claude credential linked to this account cannot be read "
                                "any more: link it again in Settings (/settings).") from None
    if settings.uses_shared_credential:
        return shared_credential(settings)
    raise NoCredentials()
