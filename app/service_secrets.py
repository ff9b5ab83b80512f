"""The passwords of the dev stack's own Redis and MongoDB: generated once, kept in the data dir.

`<data_dir>/secrets.json` (mode 600) holds them; `wxrunner stack up` creates it on its first
run and reuses it after, and the default service URLs of the settings carry them. URLs are
printed and logged only through `mask_url`.
"""

from __future__ import annotations

import json
import os
import secrets
import stat
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

__all__ = [
    "SECRETS_FILE",
    "ServiceSecrets",
    "ensure_service_secrets",
    "load_service_secrets",
    "mask_url",
    "with_credentials",
]

SECRETS_FILE = "secrets.json"
_PRIVATE = 0o600
MONGO_USER = "wxrunner"


@dataclass(frozen=True)
class ServiceSecrets:
    """What the dev stack's Redis (`requirepass`) and SecantusDB (SCRAM user) require."""

    redis_password: str
    mongo_user: str
    mongo_password: str

    @classmethod
    def generate(cls) -> ServiceSecrets:
        return cls(secrets.token_urlsafe(32), MONGO_USER, secrets.token_urlsafe(32))

    def redis_url(self, url: str) -> str:
        return with_credentials(url, None, self.redis_password)

    def mongo_url(self, url: str) -> str:
        return with_credentials(url, self.mongo_user, self.mongo_password, auth_source="admin")


def load_service_secrets(data_dir: Path) -> ServiceSecrets | None:
    """The secrets of the data dir's stack, or None when none were generated there."""
    path = data_dir / SECRETS_FILE
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path} is not a readable secrets file ({exc}): remove it to "
                         "generate new passwords") from exc
    try:
        return ServiceSecrets(str(raw["redis_password"]), str(raw["mongo_user"]),
                              str(raw["mongo_password"]))
    except (KeyError, TypeError) as exc:
        raise ValueError(f"{path} lacks {exc}: remove it to generate new passwords") from exc


def ensure_service_secrets(data_dir: Path) -> ServiceSecrets:
    """The data dir's secrets, generated on the first call (file mode 600, made atomically)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / SECRETS_FILE
    existing = load_service_secrets(data_dir)
    if existing is not None:
        _keep_private(path)
        return existing
    fresh = ServiceSecrets.generate()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _PRIVATE)
    except FileExistsError:  # another process made it first: use theirs
        return ensure_service_secrets(data_dir)
    with os.fdopen(fd, "w") as out:
        json.dump(asdict(fresh), out)
    return fresh


def _keep_private(path: Path) -> None:
    if stat.S_IMODE(path.stat().st_mode) != _PRIVATE:
        path.chmod(_PRIVATE)


def with_credentials(url: str, user: str | None, password: str, *,
                     auth_source: str | None = None) -> str:
    """`url` with `user:password@` (quoted), unless it already carries credentials."""
    parts = urlsplit(url)
    if parts.username or parts.password:
        return url
    userinfo = f"{quote(user or '', safe='')}:{quote(password, safe='')}"
    query = parts.query
    if auth_source and "authsource=" not in query.lower():
        query = f"{query}&authSource={auth_source}" if query else f"authSource={auth_source}"
    path = parts.path or ("/" if query else "")
    return urlunsplit((parts.scheme, f"{userinfo}@{parts.netloc}", path, query, parts.fragment))


def mask_url(url: str) -> str:
    """`url` with its password replaced by `***` (for printing and logging)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    userinfo, _, host = parts.netloc.rpartition("@")
    user = userinfo.split(":", 1)[0]
    return urlunsplit((parts.scheme, f"{user}:***@{host}", parts.path, parts.query,
                       parts.fragment))
