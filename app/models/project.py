from datetime import datetime

from beanie import Document
from pydantic import Field
from pymongo import ASCENDING, IndexModel

from app.protocol import utc_now


class Project(Document):
    tenant_id: str
    name: str
    created_at: datetime = Field(default_factory=utc_now)

    class Settings:
        name = "projects"
        indexes = [IndexModel([("tenant_id", ASCENDING), ("created_at", ASCENDING)])]
