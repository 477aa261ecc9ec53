"""Envelope encryption of stored secrets.

Each record gets its own random 256-bit data key; the secret is encrypted with AES-GCM under that key (with
associated data binding it to its record), and the data key is stored *wrapped* by a master key:

- ``LocalMasterKey``: a 256-bit key in a file (mode 0600, created on first use in the data directory); the data
  key is wrapped with AES-GCM under it.
- ``KmsMasterKey``: an AWS KMS key; ``kms:GenerateDataKey`` gives the data key (plaintext + wrapped),
  ``kms:Decrypt`` unwraps it. The encryption context names bedrockctl, so the key policy can pin it.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from bedrockctl.errors import BedrockctlError
from bedrockctl.files import create_once
from bedrockctl.services.errors import EncryptionError

_WRAP_AAD = b"bedrockctl-data-key-v1"
KMS_CONTEXT = {"application": "bedrockctl", "purpose": "console-credentials"}


class MasterKey(Protocol):
    @property
    def provider_id(self) -> str: ...

    def new_data_key(self) -> tuple[bytes, bytes]:
        """(plaintext data key, wrapped data key)."""
        ...

    def unwrap(self, wrapped: bytes) -> bytes: ...


def _aesgcm(key: bytes) -> Any:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    return AESGCM(key)


class LocalMasterKey:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._key: bytes | None = None

    def _load(self) -> bytes:
        if self._key is None:
            if not self.path.exists():  # the first writer wins, every process reads the same key
                create_once(self.path, base64.b64encode(secrets.token_bytes(32)).decode() + "\n")
            mode = self.path.stat().st_mode & 0o777
            if mode & 0o077:
                raise EncryptionError(
                    f"master key file {self.path} is readable by others (mode {mode:o})",
                    remediation=f"Run: chmod 600 {self.path}",
                )
            try:
                key = base64.b64decode(self.path.read_text().strip(), validate=True)
            except ValueError as exc:
                raise EncryptionError(f"master key file {self.path} is not valid base64") from exc
            if len(key) != 32:
                raise EncryptionError(f"master key file {self.path} does not hold a 256-bit key")
            self._key = key
        return self._key

    @property
    def provider_id(self) -> str:
        return "local:" + hashlib.sha256(self._load()).hexdigest()[:16]

    def new_data_key(self) -> tuple[bytes, bytes]:
        dek = secrets.token_bytes(32)
        nonce = secrets.token_bytes(12)
        return dek, nonce + _aesgcm(self._load()).encrypt(nonce, dek, _WRAP_AAD)

    def unwrap(self, wrapped: bytes) -> bytes:
        from cryptography.exceptions import InvalidTag

        try:
            return bytes(_aesgcm(self._load()).decrypt(wrapped[:12], wrapped[12:], _WRAP_AAD))
        except InvalidTag as exc:
            raise EncryptionError("the data key does not open with this master key") from exc


class KmsMasterKey:
    def __init__(self, sessions: Any, key_id: str, region: str | None = None) -> None:
        self.sessions = sessions
        self.key_id = key_id
        self.region = region or (key_id.split(":")[3] if key_id.startswith("arn:") else None)

    def _client(self) -> Any:
        return self.sessions.client("kms", self.region)

    @property
    def provider_id(self) -> str:
        return "kms:" + self.key_id

    def new_data_key(self) -> tuple[bytes, bytes]:
        try:
            resp = self._client().generate_data_key(KeyId=self.key_id, KeySpec="AES_256", EncryptionContext=KMS_CONTEXT)
        except Exception as exc:
            raise _kms_error(exc, "GenerateDataKey") from exc
        return bytes(resp["Plaintext"]), bytes(resp["CiphertextBlob"])

    def unwrap(self, wrapped: bytes) -> bytes:
        try:
            resp = self._client().decrypt(CiphertextBlob=wrapped, EncryptionContext=KMS_CONTEXT, KeyId=self.key_id)
        except Exception as exc:
            raise _kms_error(exc, "Decrypt") from exc
        return bytes(resp["Plaintext"])


def _kms_error(exc: Exception, operation: str) -> BedrockctlError:
    if isinstance(exc, BedrockctlError):
        return exc
    from bedrockctl.aws.errors import translate

    try:
        return translate(exc, service="kms", operation=operation)
    except Exception:
        return EncryptionError(f"KMS {operation} failed: {type(exc).__name__}")


@dataclass(frozen=True)
class Sealed:
    ciphertext: bytes
    nonce: bytes
    wrapped_key: bytes
    key_provider: str


def seal(master: MasterKey, plaintext: bytes, aad: bytes) -> Sealed:
    dek, wrapped = master.new_data_key()
    nonce = secrets.token_bytes(12)
    return Sealed(_aesgcm(dek).encrypt(nonce, plaintext, aad), nonce, wrapped, master.provider_id)


def open_sealed(master: MasterKey, sealed: Sealed, aad: bytes) -> bytes:
    from cryptography.exceptions import InvalidTag

    dek = master.unwrap(sealed.wrapped_key)
    try:
        return bytes(_aesgcm(dek).decrypt(sealed.nonce, sealed.ciphertext, aad))
    except InvalidTag as exc:
        raise EncryptionError("the stored secret failed its integrity check") from exc


def master_key_from_env(settings: Any, sessions: Any = None, env: dict[str, str] | None = None) -> MasterKey:
    """``BEDROCKCTL_CREDENTIALS_KMS_KEY`` (a KMS key id/ARN/alias) or ``BEDROCKCTL_CREDENTIALS_MASTER_KEY_FILE``,
    else ``<data_dir>/credentials-master.key``."""
    env = dict(os.environ) if env is None else env
    kms = env.get("BEDROCKCTL_CREDENTIALS_KMS_KEY")
    if kms:
        if sessions is None:
            from bedrockctl.aws.session import SessionFactory

            sessions = SessionFactory(getattr(settings, "aws", None))
        return KmsMasterKey(sessions, kms)
    path = env.get("BEDROCKCTL_CREDENTIALS_MASTER_KEY_FILE")
    if not path:
        from bedrockctl.paths import data_dir

        path = str(data_dir(settings) / "credentials-master.key")
    return LocalMasterKey(path)


__all__ = [
    "KMS_CONTEXT",
    "EncryptionError",
    "KmsMasterKey",
    "LocalMasterKey",
    "MasterKey",
    "Sealed",
    "master_key_from_env",
    "open_sealed",
    "seal",
]
