"""Gateway keys: shown once, stored hashed, bound to a user, a team and an environment.

A key has two faces: a bearer token ``bgk.<KEY_ID>.<secret>`` (``Authorization: Bearer``, what boto3 sends
when ``AWS_BEARER_TOKEN_BEDROCK`` is set, and the OpenAI ``api_key``) and an access-key pair for SigV4
(``KEY_ID`` / a secret derived from the server's master secret, so that the gateway can recompute signatures
without storing it). Only ``sha256(secret)`` of the bearer token is stored.

``master_secret(settings)`` is that server secret: ``gateway.master_secret`` / ``BEDROCKCTL_GATEWAY_SECRET``, else a
file created once in the data directory (mode 0600).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bedrockctl.settings import guardrail_problem
from bedrockctl.store.errors import KeyNotFound
from bedrockctl.store.gateway import gateway_keys

LIMIT_KEYS = ("rpm", "rph", "rpd", "tpm", "tph", "tpd", "monthly_budget_usd", "daily_budget_usd")
_B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


_METADATA_BAD = re.compile(r"[^a-zA-Z0-9\s:_@$#=/+,\-.]")


def _metadata_text(value: Any) -> str:
    return _METADATA_BAD.sub("_", str(value))[:256]


@dataclass
class KeyRecord:
    key_id: str
    secret_hash: str
    user: str
    team: str
    environment: str
    name: str = ""
    allowed_models: list[str] = field(default_factory=list)
    limits: dict[str, float] = field(default_factory=dict)
    created_at: float = 0.0
    expires_at: float | None = None
    revoked_at: float | None = None
    guardrail_id: str | None = None  # the guardrail the gateway applies to this key's requests (beats team, env)
    guardrail_version: str | None = None
    _ours: tuple[tuple[Any, ...], dict[str, str]] | None = field(default=None, init=False, repr=False, compare=False)

    def request_metadata(self, caller: Any = None) -> dict[str, str]:
        """Bedrock request metadata naming who is calling: ``gateway_user``, ``team``, ``environment`` and
        ``gateway_key`` of this key (authoritative), then the caller's own string pairs, at most 16 in all (AWS's
        limit), keys 1-256 and values 0-256 characters of ``[a-zA-Z0-9\\s:_@$#=/+,-.]`` (others become ``_``)."""
        ident = (self.user, self.team, self.environment, self.key_id)
        cached = self._ours
        if cached is None or cached[0] != ident:  # worked out once per key (hot path), again if a field changed
            ours = {
                "gateway_user": self.user,
                "team": self.team,
                "environment": self.environment,
                "gateway_key": self.key_id,
            }
            cached = self._ours = (ident, {k: _metadata_text(v) for k, v in ours.items() if v})
        out = dict(cached[1])
        if not caller:
            return out
        for k, v in (caller if isinstance(caller, dict) else {}).items():
            key = _metadata_text(k)
            if len(out) >= 16:
                break
            if key and key not in out and isinstance(v, str):
                out[key] = _metadata_text(v)
        return out

    def tag(self, converse: dict[str, Any]) -> None:
        """Stamp a Converse request with who is calling: the invocation log and CloudTrail's requestMetadata then
        carry the key's user, team and environment (the key is authoritative; the caller's other tags stay)."""
        converse["requestMetadata"] = self.request_metadata(converse.get("requestMetadata"))

    def state(self, now: float | None = None) -> str:
        now = time.time() if now is None else now
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and now >= self.expires_at:
            return "expired"
        return "active"

    def public(self) -> dict[str, Any]:
        return {
            "key_id": self.key_id,
            "name": self.name,
            "user": self.user,
            "team": self.team,
            "environment": self.environment,
            "allowed_models": list(self.allowed_models),
            "limits": dict(self.limits),
            "created_at": _iso(self.created_at),
            "expires_at": _iso(self.expires_at),
            "revoked_at": _iso(self.revoked_at),
            "guardrail": f"{self.guardrail_id}:{self.guardrail_version or 'DRAFT'}" if self.guardrail_id else None,
            "state": self.state(),
        }


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def sigv4_secret(master: bytes, key_id: str) -> str:
    digest = hmac.new(master, b"bedrockctl-gateway-sigv4\0" + key_id.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()[:40]


def parse_token(token: str) -> tuple[str, str] | None:
    parts = token.strip().split(".", 2)
    if len(parts) != 3 or parts[0] != "bgk" or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


class KeyStore:
    def __init__(self, engine: Any, master: bytes, cache_ttl: float = 5.0) -> None:
        self.engine = engine
        self.master = master
        self.cache_ttl = cache_ttl
        self._cache: dict[str, tuple[float, KeyRecord | None]] = {}

    # -- administration (CLI) ------------------------------------------------------------------------------
    def create(
        self,
        *,
        user: str,
        team: str,
        environment: str,
        name: str = "",
        allowed_models: list[str] | None = None,
        limits: dict[str, float] | None = None,
        expires_in: float | None = None,
        expires_at: float | None = None,
        guardrail_id: str | None = None,
        guardrail_version: str | None = None,
    ) -> dict[str, Any]:
        """Create a key; the returned ``token`` and ``aws_secret_access_key`` are shown once, never stored."""
        problem = guardrail_problem(guardrail_id, guardrail_version)
        if problem is not None:
            field_name, expected = problem
            value = guardrail_id if field_name == "guardrail_id" else guardrail_version
            raise ValueError(f"{field_name} = {value!r} is invalid; expected {expected}")
        key_id = "BGK" + "".join(secrets.choice(_B32) for _ in range(17))
        secret = secrets.token_urlsafe(32)
        now = time.time()
        unknown = set(limits or {}) - set(LIMIT_KEYS)
        if unknown:
            raise ValueError(f"unknown limit(s) {', '.join(sorted(unknown))}; expected {', '.join(LIMIT_KEYS)}")
        rec = KeyRecord(
            key_id=key_id,
            secret_hash=hash_secret(secret),
            user=user,
            team=team,
            environment=environment,
            name=name,
            allowed_models=list(allowed_models or []),
            limits={k: float(v) for k, v in (limits or {}).items() if v is not None},
            created_at=now,
            expires_at=expires_at if expires_at is not None else (now + expires_in if expires_in else None),
            guardrail_id=guardrail_id or None,
            guardrail_version=(guardrail_version or "DRAFT") if guardrail_id else None,
        )
        with self.engine.begin() as conn:
            conn.execute(
                gateway_keys.insert().values(
                    key_id=rec.key_id,
                    secret_hash=rec.secret_hash,
                    name=rec.name,
                    user_name=rec.user,
                    team=rec.team,
                    environment=rec.environment,
                    allowed_models=rec.allowed_models,
                    limits=rec.limits,
                    created_at=rec.created_at,
                    expires_at=rec.expires_at,
                    guardrail_id=rec.guardrail_id,
                    guardrail_version=rec.guardrail_version,
                )
            )
        out = rec.public()
        out["token"] = f"bgk.{key_id}.{secret}"
        out["aws_access_key_id"] = key_id
        out["aws_secret_access_key"] = sigv4_secret(self.master, key_id)
        return out

    def list(self, include_inactive: bool = True) -> list[KeyRecord]:
        with self.engine.connect() as conn:
            rows = conn.execute(gateway_keys.select().order_by(gateway_keys.c.created_at)).all()
        recs = [_record(r._mapping) for r in rows]
        return recs if include_inactive else [r for r in recs if r.state() == "active"]

    def revoke(self, key_id: str) -> KeyRecord:
        with self.engine.begin() as conn:
            res = conn.execute(
                gateway_keys.update()
                .where(gateway_keys.c.key_id == key_id, gateway_keys.c.revoked_at.is_(None))
                .values(revoked_at=time.time())
            )
            if res.rowcount == 0 and self.get(key_id, conn=conn) is None:
                raise KeyNotFound(f"no gateway key {key_id!r}")
        self._cache.pop(key_id, None)
        rec = self.get(key_id)
        assert rec is not None
        return rec

    def get(self, key_id: str, conn: Any = None) -> KeyRecord | None:
        stmt = gateway_keys.select().where(gateway_keys.c.key_id == key_id)
        if conn is not None:
            row = conn.execute(stmt).first()
        else:
            with self.engine.connect() as c:
                row = c.execute(stmt).first()
        return None if row is None else _record(row._mapping)

    # -- request path ------------------------------------------------------------------------------------
    def lookup(self, key_id: str) -> KeyRecord | None:
        """A cached read (``cache_ttl`` seconds): revocations reach every worker within the TTL."""
        now = time.monotonic()
        hit = self._cache.get(key_id)
        if hit is not None and now - hit[0] < self.cache_ttl:
            return hit[1]
        rec = self.get(key_id) if len(key_id) == 20 and key_id.startswith("BGK") else None
        if len(self._cache) > 100_000:
            self._cache.clear()
        self._cache[key_id] = (now, rec)
        return rec

    def verify_bearer(self, token: str) -> KeyRecord | None:
        parsed = parse_token(token)
        if parsed is None:
            return None
        rec = self.lookup(parsed[0])
        if rec is None or not hmac.compare_digest(rec.secret_hash, hash_secret(parsed[1])):
            return None
        return rec

    def secret_for(self, key_id: str) -> str:
        return sigv4_secret(self.master, key_id)


def _record(m: Any) -> KeyRecord:
    return KeyRecord(
        key_id=m["key_id"],
        secret_hash=m["secret_hash"],
        user=m["user_name"],
        team=m["team"],
        environment=m["environment"],
        name=m["name"] or "",
        allowed_models=list(m["allowed_models"] or []),
        limits=dict(m["limits"] or {}),
        created_at=m["created_at"],
        expires_at=m["expires_at"],
        revoked_at=m["revoked_at"],
        guardrail_id=m["guardrail_id"],
        guardrail_version=m["guardrail_version"],
    )


def master_secret(settings: Any, configured: str | None = None) -> bytes:
    """The server secret that derives SigV4 secrets of gateway keys (shared by every replica): ``configured`` (the
    gateway's parsed option), ``gateway.master_secret`` or ``BEDROCKCTL_GATEWAY_SECRET``, else a file created once
    in the data directory (mode 0600; the first writer wins, every process reads the same secret)."""
    raw = dict(getattr(settings, "gateway", {}) or {})
    given = configured or raw.get("master_secret") or os.environ.get("BEDROCKCTL_GATEWAY_SECRET")
    if given:
        return str(given).encode()
    from bedrockctl.files import create_once
    from bedrockctl.paths import data_dir

    path = Path(data_dir(settings)) / "gateway-master.key"
    if not path.exists():  # the first writer wins, every process reads the same secret
        create_once(path, secrets.token_urlsafe(48))
    return path.read_text().strip().encode()


__all__ = [
    "LIMIT_KEYS",
    "KeyNotFound",
    "KeyRecord",
    "KeyStore",
    "hash_secret",
    "master_secret",
    "parse_token",
    "sigv4_secret",
]
