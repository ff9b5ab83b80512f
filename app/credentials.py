"""Tenants' Claude credentials (issue 12): their shape, and the cipher that keeps them
encrypted at rest. The value is a `SecretStr` from the moment it is read: its repr, a log
line or an error message never shows it."""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from pydantic import SecretStr

from app.errors import BadRequest
from app.settings import Settings

__all__ = [
    "CredentialCipher",
    "CredentialKind",
    "CredentialUnreadable",
    "TurnCredential",
    "check_credential",
    "credential_cipher",
    "last4",
    "shared_credential",
]

KEY_FILE_NAME = "credential.key"
_ALLOWED = re.compile(r"[A-Za-z0-9_\-.~+/=]+")
_MIN_CHARS, _MAX_CHARS = 20, 1000
_OAUTH_PREFIX, _API_KEY_PREFIX = "sk-ant-oat", "sk-ant-api"


class CredentialKind(StrEnum):
    """What a tenant links: `claude setup-token`'s subscription token, or an API key."""

    OAUTH_TOKEN = "oauth_token"
    API_KEY = "api_key"


# How each kind reaches Claude Code: the variable of the exec environment.
ENV_VAR: dict[CredentialKind, str] = {
    CredentialKind.OAUTH_TOKEN: "CLAUDE_CODE_OAUTH_TOKEN",
    CredentialKind.API_KEY: "ANTHROPIC_API_KEY",
}


@dataclass(frozen=True)
class TurnCredential:
    """The credential one turn runs with: the tenant's own, or the operator's shared one.
    `value` None with `shared_file`: the shared OAuth credentials file the executor copies."""

    kind: CredentialKind | None
    value: SecretStr | None = field(default=None, repr=False)
    shared: bool = False
    shared_file: bool = False

    def env(self) -> dict[str, str]:
        """The exec environment's part that carries this credential."""
        if self.kind is None or self.value is None:
            return {}
        return {ENV_VAR[self.kind]: self.value.get_secret_value()}


def shared_credential(settings: Settings) -> TurnCredential:
    """The operator's credential, in the order of preference of DESIGN §5: the subscription
    token, the credentials file (copied by the executor, no variable), the API key (which
    would win over OAuth inside Claude Code: only one is passed)."""
    if settings.claude_oauth_token is not None:
        return TurnCredential(CredentialKind.OAUTH_TOKEN, settings.claude_oauth_token, True)
    if settings.claude_credentials_file is not None:
        return TurnCredential(kind=None, shared=True, shared_file=True)
    if settings.anthropic_api_key is not None:
        return TurnCredential(CredentialKind.API_KEY, settings.anthropic_api_key, True)
    return TurnCredential(kind=None, shared=True)


class CredentialUnreadable(Exception):
    """A stored credential no configured key decrypts (the key was replaced)."""


def check_credential(kind: CredentialKind, value: str) -> SecretStr:
    """The value, trimmed, if it has the shape of `kind`; else BadRequest naming the
    problem (never the value)."""
    value = value.strip()
    if not _MIN_CHARS <= len(value) <= _MAX_CHARS:
        raise BadRequest(f"The credential must be {_MIN_CHARS} to {_MAX_CHARS} characters "
                         f"long (it is {len(value)}).")
    if not _ALLOWED.fullmatch(value):
        raise BadRequest("The credential holds characters no token or key has (spaces, "
                         "quotes or line breaks?): paste only the value.")
    if kind == CredentialKind.API_KEY and value.startswith(_OAUTH_PREFIX):
        raise BadRequest("This is a subscription token (sk-ant-oat…): link it as kind "
                         "oauth_token.")
    if kind == CredentialKind.OAUTH_TOKEN and value.startswith(_API_KEY_PREFIX):
        raise BadRequest("This is an API key (sk-ant-api…): link it as kind api_key.")
    return SecretStr(value)


def last4(value: SecretStr) -> str:
    """What a tenant is shown of a linked credential: its last 4 characters."""
    return "…" + value.get_secret_value()[-4:]


class CredentialCipher:
    """Fernet over every configured key (MultiFernet): the first encrypts, any decrypts,
    so a new key can be put in front and the old ones kept until stored values move."""

    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise ValueError("no credential key")
        self._fernet = MultiFernet([Fernet(k) for k in keys])

    def encrypt(self, value: SecretStr) -> str:
        return self._fernet.encrypt(value.get_secret_value().encode()).decode()

    def decrypt(self, token: str) -> SecretStr:
        try:
            return SecretStr(self._fernet.decrypt(token.encode()).decode())
        except InvalidToken:
            raise CredentialUnreadable("no configured credential key decrypts it") from None


def credential_cipher(settings: Settings) -> CredentialCipher:
    """The cipher of settings.credential_key; in dev and test without one, of the key in
    the data dir (made on first use, mode 600). Prod refuses to start without the setting
    (Settings' validator)."""
    if settings.credential_key is not None:
        text = settings.credential_key.get_secret_value()
    else:
        text = _dev_key(settings.data_dir / KEY_FILE_NAME)
    try:
        return CredentialCipher([k.strip().encode() for k in text.split(",") if k.strip()])
    except ValueError as exc:
        raise ValueError("WX_CREDENTIAL_KEY must be Fernet keys (urlsafe base64 of 32 bytes), "
                         "comma-separated: make one with `wxrunner credential-key`") from exc


def _dev_key(path: Path) -> str:
    """The key file's content, made first if missing; two processes starting at once agree
    (the file is linked into place only if none is there yet)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 600
        with os.fdopen(fd, "w") as out:
            out.write(Fernet.generate_key().decode())
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
        os.unlink(tmp)
    return path.read_text().strip()
