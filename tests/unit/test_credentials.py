"""The credential cipher and shape checks (app/credentials.py), and the settings around them."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr, ValidationError

from app.credentials import (
    KEY_FILE_NAME,
    CredentialCipher,
    CredentialKind,
    CredentialUnreadable,
    TurnCredential,
    check_credential,
    credential_cipher,
    last4,
    shared_credential,
)
from app.errors import BadRequest
from app.settings import Settings

API_KEY = "sk-ant-api03-" + "A1b2C3d4" * 8 + "-wxyz"
OAUTH = "sk-ant-oat01-" + "Z9y8X7w6" * 8 + "-abcd"


class TestCipher:
    def test_round_trip_and_no_clear_text(self) -> None:
        cipher = CredentialCipher([Fernet.generate_key()])
        token = cipher.encrypt(SecretStr(API_KEY))
        assert API_KEY not in token and API_KEY[-8:] not in token
        assert cipher.decrypt(token).get_secret_value() == API_KEY

    def test_each_encryption_differs(self) -> None:
        cipher = CredentialCipher([Fernet.generate_key()])
        assert cipher.encrypt(SecretStr(API_KEY)) != cipher.encrypt(SecretStr(API_KEY))

    def test_wrong_key_is_unreadable_not_a_crash(self) -> None:
        token = CredentialCipher([Fernet.generate_key()]).encrypt(SecretStr(API_KEY))
        with pytest.raises(CredentialUnreadable) as caught:
            CredentialCipher([Fernet.generate_key()]).decrypt(token)
        assert API_KEY not in str(caught.value)

    def test_new_key_in_front_still_reads_old_values(self) -> None:
        old, new = Fernet.generate_key(), Fernet.generate_key()
        token = CredentialCipher([old]).encrypt(SecretStr(OAUTH))
        rotated = CredentialCipher([new, old])
        assert rotated.decrypt(token).get_secret_value() == OAUTH
        with pytest.raises(CredentialUnreadable):  # the new value is under the new key
            CredentialCipher([old]).decrypt(rotated.encrypt(SecretStr(OAUTH)))

    def test_no_key_refused(self) -> None:
        with pytest.raises(ValueError):
            CredentialCipher([])


class TestKeyFromSettings:
    def test_setting_with_several_keys(self, tmp_path: Path) -> None:
        first, second = Fernet.generate_key().decode(), Fernet.generate_key().decode()
        settings = Settings(data_dir=tmp_path, credential_key=SecretStr(f"{first}, {second}"))
        token = CredentialCipher([second.encode()]).encrypt(SecretStr(API_KEY))
        assert credential_cipher(settings).decrypt(token).get_secret_value() == API_KEY
        assert not (tmp_path / KEY_FILE_NAME).exists()

    def test_bad_key_named_clearly(self, tmp_path: Path) -> None:
        settings = Settings(data_dir=tmp_path, credential_key=SecretStr("not-a-fernet-key"))
        with pytest.raises(ValueError, match="WX_CREDENTIAL_KEY"):
            credential_cipher(settings)

    def test_dev_key_made_once_mode_600(self, tmp_path: Path) -> None:
        settings = Settings(data_dir=tmp_path / "data")
        token = credential_cipher(settings).encrypt(SecretStr(API_KEY))
        path = tmp_path / "data" / KEY_FILE_NAME
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert credential_cipher(settings).decrypt(token).get_secret_value() == API_KEY
        assert [p.name for p in path.parent.iterdir()] == [KEY_FILE_NAME]

    def test_dev_key_processes_starting_at_once_agree(self, tmp_path: Path) -> None:
        settings = Settings(data_dir=tmp_path)
        ciphers: list[CredentialCipher] = []
        threads = [threading.Thread(target=lambda: ciphers.append(credential_cipher(settings)))
                   for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        token = ciphers[0].encrypt(SecretStr(OAUTH))
        assert all(c.decrypt(token).get_secret_value() == OAUTH for c in ciphers)

    def test_prod_requires_the_key(self) -> None:
        with pytest.raises(ValidationError, match="WX_CREDENTIAL_KEY"):
            Settings(env="prod", jwt_secret=SecretStr(os.urandom(16).hex()))
        Settings(env="prod", jwt_secret=SecretStr(os.urandom(16).hex()),
                 credential_key=SecretStr(Fernet.generate_key().decode()))

    @pytest.mark.parametrize(("env", "switch", "expected"), [
        ("dev", None, True), ("test", None, True), ("prod", None, False),
        ("dev", False, False), ("prod", True, True),
    ])
    def test_shared_fallback_default_by_env(self, env: str, switch: bool | None,
                                            expected: bool) -> None:
        settings = Settings(env=env, jwt_secret=SecretStr("x" * 40),  # type: ignore[arg-type]
                            credential_key=SecretStr(Fernet.generate_key().decode()),
                            shared_credential_fallback=switch)
        assert settings.uses_shared_credential is expected


class TestShape:
    def test_accepts_and_trims(self) -> None:
        assert check_credential(CredentialKind.API_KEY, f"  {API_KEY}\n").get_secret_value() \
            == API_KEY
        assert check_credential(CredentialKind.OAUTH_TOKEN, OAUTH).get_secret_value() == OAUTH

    @pytest.mark.parametrize(("kind", "value", "problem"), [
        (CredentialKind.API_KEY, "sk-short", "characters long"),
        (CredentialKind.API_KEY, "x" * 1001, "characters long"),
        (CredentialKind.API_KEY, API_KEY[:30] + " " + API_KEY[30:], "paste only the value"),
        (CredentialKind.API_KEY, API_KEY + "\nsecond", "paste only the value"),
        (CredentialKind.API_KEY, '"' + API_KEY + '"', "paste only the value"),
        (CredentialKind.API_KEY, OAUTH, "oauth_token"),
        (CredentialKind.OAUTH_TOKEN, API_KEY, "api_key"),
    ])
    def test_refusals_name_the_problem_never_the_value(
        self, kind: CredentialKind, value: str, problem: str
    ) -> None:
        with pytest.raises(BadRequest) as caught:
            check_credential(kind, value)
        assert problem in caught.value.message
        assert value.strip()[-12:] not in caught.value.message

    def test_last4(self) -> None:
        assert last4(SecretStr(OAUTH)) == "…abcd"


class TestTurnCredential:
    def test_env_of_each_kind(self) -> None:
        assert TurnCredential(CredentialKind.API_KEY, SecretStr(API_KEY)).env() == {
            "ANTHROPIC_API_KEY": API_KEY}
        assert TurnCredential(CredentialKind.OAUTH_TOKEN, SecretStr(OAUTH)).env() == {
            "CLAUDE_CODE_OAUTH_TOKEN": OAUTH}
        assert TurnCredential(kind=None).env() == {}

    def test_never_in_repr(self) -> None:
        assert API_KEY not in repr(TurnCredential(CredentialKind.API_KEY, SecretStr(API_KEY)))

    def test_shared_preference(self, tmp_path: Path) -> None:
        both = Settings(anthropic_api_key=SecretStr(API_KEY), claude_oauth_token=SecretStr(OAUTH))
        assert shared_credential(both).env() == {"CLAUDE_CODE_OAUTH_TOKEN": OAUTH}
        assert shared_credential(both).shared
        with_file = Settings(anthropic_api_key=SecretStr(API_KEY),
                             claude_credentials_file=tmp_path / "c.json")
        assert shared_credential(with_file).shared_file
        assert shared_credential(with_file).env() == {}
