from datetime import datetime

from beanie import Document
from pydantic import Field
from pymongo import ASCENDING, IndexModel

from app.credentials import CredentialKind
from app.protocol import utc_now


class TenantCredential(Document):
    """A tenant's own Claude credential, encrypted (app/credentials.py): the value is never
    stored in clear, not even in part (its last 4 characters are read by decrypting)."""

    tenant_id: str
    kind: CredentialKind
    ciphertext: str = Field(repr=False)
    updated_at: datetime = Field(default_factory=utc_now)

    class Settings:
        name = "tenant_credentials"
        indexes = [IndexModel([("tenant_id", ASCENDING)], unique=True)]
