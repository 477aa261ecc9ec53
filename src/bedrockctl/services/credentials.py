"""Per-user AWS credentials: access key + secret (+ session token), or a role ARN + external id, and a region.

Secrets (secret access key, session token, external id) are envelope-encrypted (``services/envelope.py``) with the
record's owner and random reference bound in as associated data, so a ciphertext moved to another row does not
open. They are write-only: no method returns them; ``public`` rows show them masked. Members see and use only
their own credentials, administrators manage everybody's -- enforced here, whatever interface calls.
"""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass
from typing import Any

import orjson
import sqlalchemy as sa

from bedrockctl.aws.session import SessionFactory
from bedrockctl.errors import BedrockctlError, ValidationFailed
from bedrockctl.redact import MASK, mask_key_id
from bedrockctl.services.envelope import MasterKey, Sealed, open_sealed, seal
from bedrockctl.services.users import Actor, NotFound, log_event
from bedrockctl.settings import AwsSettings
from bedrockctl.store.console import console_credentials, console_users

KINDS = ("keys", "role")
_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$")
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")
_KEY_ID = re.compile(r"^[A-Z0-9]{16,128}$")
SECRET_FIELDS = ("secret_access_key", "session_token", "external_id")


@dataclass
class CredentialInput:
    name: str
    kind: str = "keys"
    region: str = "us-east-1"
    access_key_id: str | None = None
    secret_access_key: str | None = None  # None / "" on update: keep the stored one
    session_token: str | None = None
    role_arn: str | None = None
    external_id: str | None = None
    clear_session_token: bool = False


class CredentialService:
    def __init__(
        self, engine: Any, master: MasterKey, *, base_settings: AwsSettings | None = None, env: Any = None
    ) -> None:
        self.engine = engine
        self.master = master
        self.base_settings = base_settings or AwsSettings()  # endpoint, timeouts (never credentials) for sessions
        self.env = env

    # -- access control ----------------------------------------------------------------------------------
    def _row(self, conn: Any, actor: Actor, cred_id: int) -> Any:
        row = conn.execute(console_credentials.select().where(console_credentials.c.id == cred_id)).first()
        if row is None or not actor.may_access(int(row.owner_id)):
            raise NotFound(f"no credential {cred_id}")  # the same answer for "absent" and "not yours"
        return row

    @staticmethod
    def _aad(owner_id: int, ref: str) -> bytes:
        return f"bedrockctl-credential:{owner_id}:{ref}".encode()

    # -- writing -------------------------------------------------------------------------------------------
    def _validate(self, data: CredentialInput, stored_secret: dict[str, str] | None) -> dict[str, str]:
        name = (data.name or "").strip()
        if not name or len(name) > 200:
            raise ValidationFailed("a credential needs a name (up to 200 characters)")
        if data.kind not in KINDS:
            raise ValidationFailed(f"invalid kind {data.kind!r}", remediation="Use keys or role.")
        if not _REGION.match(data.region or ""):
            raise ValidationFailed(f"invalid region {data.region!r}", remediation="Use a region such as us-east-1.")
        secret = dict(stored_secret or {})
        for field in SECRET_FIELDS:
            value = getattr(data, field)
            if value:
                secret[field] = value.strip()
        if data.clear_session_token:
            secret.pop("session_token", None)
        if data.kind == "keys":
            if not data.access_key_id or not _KEY_ID.match(data.access_key_id.strip()):
                raise ValidationFailed(
                    "an access key id is required (AKIA... or ASIA...)", remediation="Paste the access key id."
                )
            if not secret.get("secret_access_key"):
                raise ValidationFailed("a secret access key is required", remediation="Paste the secret access key.")
        if data.role_arn and not _ROLE_ARN.match(data.role_arn.strip()):
            raise ValidationFailed(
                "invalid role ARN", remediation="Use arn:aws:iam::123456789012:role/Name (role credentials)."
            )
        if data.kind == "role" and not data.role_arn:
            raise ValidationFailed("a role ARN is required", remediation="Paste the ARN of the role to assume.")
        if data.kind == "role":
            secret.pop("secret_access_key", None)
            secret.pop("session_token", None)
        return secret

    def create(self, actor: Actor, data: CredentialInput, *, owner_id: int | None = None) -> dict[str, Any]:
        owner = actor.id if owner_id is None else owner_id
        if not actor.may_access(owner):
            raise NotFound("no such user")
        secret = self._validate(data, None)
        ref = secrets.token_hex(16)
        sealed = seal(self.master, orjson.dumps(secret), self._aad(owner, ref))
        now = time.time()
        with self.engine.begin() as conn:
            user = conn.execute(sa.select(console_users.c.username).where(console_users.c.id == owner)).first()
            if user is None:
                raise NotFound("no such user")
            dup = conn.execute(
                sa.select(console_credentials.c.id).where(
                    console_credentials.c.owner_id == owner, console_credentials.c.name == data.name.strip()
                )
            ).first()
            if dup:
                raise ValidationFailed(f"a credential named {data.name!r} exists", remediation="Pick another name.")
            res = conn.execute(
                console_credentials.insert().values(
                    ref=ref,
                    owner_id=owner,
                    name=data.name.strip(),
                    kind=data.kind,
                    access_key_id=data.access_key_id.strip() if data.kind == "keys" and data.access_key_id else None,
                    role_arn=(data.role_arn or "").strip() or None,
                    region=data.region,
                    ciphertext=sealed.ciphertext,
                    nonce=sealed.nonce,
                    wrapped_key=sealed.wrapped_key,
                    key_provider=sealed.key_provider,
                    created_at=now,
                    updated_at=now,
                )
            )
            cred_id = int(res.inserted_primary_key[0])
            log_event(conn, actor, "credential.create", f"credential:{cred_id} {data.name}", user.username)
        return self.get(actor, cred_id)

    def update(self, actor: Actor, cred_id: int, data: CredentialInput) -> dict[str, Any]:
        with self.engine.connect() as conn:
            row = self._row(conn, actor, cred_id)
        secret = self._validate(data, self._decrypt(row))
        sealed = seal(self.master, orjson.dumps(secret), self._aad(int(row.owner_id), row.ref))
        with self.engine.begin() as conn:
            conn.execute(
                console_credentials.update()
                .where(console_credentials.c.id == cred_id)
                .values(
                    name=data.name.strip(),
                    kind=data.kind,
                    access_key_id=data.access_key_id.strip() if data.kind == "keys" and data.access_key_id else None,
                    role_arn=(data.role_arn or "").strip() or None,
                    region=data.region,
                    ciphertext=sealed.ciphertext,
                    nonce=sealed.nonce,
                    wrapped_key=sealed.wrapped_key,
                    key_provider=sealed.key_provider,
                    updated_at=time.time(),
                    last_tested_at=None,
                    last_test_ok=None,
                )
            )
            log_event(
                conn, actor, "credential.update", f"credential:{cred_id} {data.name}", self._owner_name(conn, row)
            )
        return self.get(actor, cred_id)

    def delete(self, actor: Actor, cred_id: int) -> None:
        with self.engine.begin() as conn:
            row = self._row(conn, actor, cred_id)
            conn.execute(console_credentials.delete().where(console_credentials.c.id == cred_id))
            log_event(conn, actor, "credential.delete", f"credential:{cred_id} {row.name}", self._owner_name(conn, row))

    @staticmethod
    def _owner_name(conn: Any, row: Any) -> str | None:
        name: str | None = conn.execute(
            sa.select(console_users.c.username).where(console_users.c.id == row.owner_id)
        ).scalar_one_or_none()
        return name

    # -- reading -------------------------------------------------------------------------------------------
    def list(self, actor: Actor, *, owner_id: int | None = None) -> list[dict[str, Any]]:
        c, u = console_credentials, console_users
        q = (
            sa.select(c, u.c.username.label("owner"))
            .join_from(c, u, c.c.owner_id == u.c.id)
            .order_by(u.c.username, c.c.name)
        )
        if not actor.is_admin:
            q = q.where(c.c.owner_id == actor.id)
        elif owner_id is not None:
            q = q.where(c.c.owner_id == owner_id)
        with self.engine.connect() as conn:
            rows = conn.execute(q).all()
        return [self._public(r) for r in rows]

    def get(self, actor: Actor, cred_id: int) -> dict[str, Any]:
        c, u = console_credentials, console_users
        with self.engine.connect() as conn:
            self._row(conn, actor, cred_id)
            row = conn.execute(
                sa.select(c, u.c.username.label("owner"))
                .join_from(c, u, c.c.owner_id == u.c.id)
                .where(c.c.id == cred_id)
            ).one()
        return self._public(row)

    def _public(self, row: Any) -> dict[str, Any]:
        secret = self._decrypt(row)
        return {
            "id": int(row.id),
            "owner_id": int(row.owner_id),
            "owner": row.owner,
            "name": row.name,
            "kind": row.kind,
            "region": row.region,
            "access_key_id": mask_key_id(row.access_key_id),
            "secret_access_key": MASK if secret.get("secret_access_key") else "",
            "session_token": MASK if secret.get("session_token") else "",
            "role_arn": row.role_arn or "",
            "external_id": MASK if secret.get("external_id") else "",
            "key_provider": row.key_provider.split(":", 1)[0],
            "created_at": row.created_at,
            "updated_at": row.updated_at,
            "last_tested_at": row.last_tested_at,
            "last_test_ok": row.last_test_ok,
        }

    def _decrypt(self, row: Any) -> dict[str, str]:
        sealed = Sealed(bytes(row.ciphertext), bytes(row.nonce), bytes(row.wrapped_key), row.key_provider)
        data: dict[str, str] = orjson.loads(open_sealed(self.master, sealed, self._aad(int(row.owner_id), row.ref)))
        return data

    # -- using ---------------------------------------------------------------------------------------------
    def sessions_for(self, actor: Actor, cred_id: int, *, region: str | None = None) -> SessionFactory:
        """A ``SessionFactory`` with the credential (decrypted in memory only)."""
        with self.engine.connect() as conn:
            row = self._row(conn, actor, cred_id)
        secret = self._decrypt(row)
        base = self.base_settings
        settings = AwsSettings(
            region=region or row.region,
            access_key_id=row.access_key_id if row.kind == "keys" else None,
            secret_access_key=secret.get("secret_access_key") if row.kind == "keys" else None,
            session_token=secret.get("session_token") if row.kind == "keys" else None,
            role_arn=row.role_arn or None,
            external_id=secret.get("external_id") or None,
            role_session_name=f"bedrockctl-console-{actor.username}"[:64].replace("@", "-"),
            endpoint_url=base.endpoint_url,
            retry_attempts=2,
            connect_timeout=min(base.connect_timeout, 5.0),
            read_timeout=min(base.read_timeout, 20.0),
        )
        return SessionFactory(settings, env=self.env)

    def test(self, actor: Actor, cred_id: int) -> dict[str, Any]:
        """Identity, credential source and the foundation models available, or the error with its remediation
        and the packaged catalog marked as fallback data."""
        factory = self.sessions_for(actor, cred_id)
        region = factory.settings.region or "us-east-1"
        out: dict[str, Any] = {"credential_id": cred_id, "region": region}
        try:
            who = factory.whoami()
            out["identity"] = {k: who.get(k) for k in ("account", "arn", "principal_type")}
            out["source"] = who.get("credential_source_description") or who.get("credential_source")
            out["base_source"] = who.get("base_credential_source")
            out["roles"] = who.get("assumed_roles") or []
            out["external_id_used"] = bool(who.get("external_id_used"))
            out["access_key_id"] = who.get("access_key_id")
            models = _foundation_models(factory, region)
            out.update(ok=True, models=models, models_source="live")
        except BedrockctlError as exc:
            out.update(
                ok=False,
                error={"code": exc.code, "title": exc.title, "message": exc.message, "remediation": exc.remediation},
                models=_catalog_models(region),
                models_source="offline_catalog",
            )
        with self.engine.begin() as conn:
            conn.execute(
                console_credentials.update()
                .where(console_credentials.c.id == cred_id)
                .values(last_tested_at=time.time(), last_test_ok=bool(out["ok"]))
            )
        return out


def _foundation_models(factory: SessionFactory, region: str) -> list[dict[str, Any]]:
    from bedrockctl.aws.errors import translate

    try:
        resp = factory.client("bedrock", region).list_foundation_models()
    except BedrockctlError:
        raise
    except Exception as exc:
        raise translate(exc, service="bedrock", operation="ListFoundationModels", region=region) from exc
    rows = [
        {
            "model_id": m["modelId"],
            "name": m.get("modelName", ""),
            "provider": m.get("providerName", ""),
            "inference_types": list(m.get("inferenceTypesSupported", [])),
            "lifecycle": (m.get("modelLifecycle") or {}).get("status", ""),
        }
        for m in resp.get("modelSummaries", [])
    ]
    return sorted(rows, key=lambda r: (r["provider"].lower(), r["model_id"]))


def _catalog_models(region: str) -> list[dict[str, Any]]:
    from bedrockctl.catalog import models_in_region

    rows = [
        {
            "model_id": m.model_id,
            "name": m.model_name,
            "provider": m.provider,
            "inference_types": list(m.inference_types_in(region)),
            "lifecycle": m.lifecycle,
        }
        for m in models_in_region(region)
    ]
    return sorted(rows, key=lambda r: (str(r["provider"]).lower(), str(r["model_id"])))


__all__ = ["KINDS", "CredentialInput", "CredentialService"]
