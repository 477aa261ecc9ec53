"""Console users: local accounts (argon2id hashes), roles ``admin`` and ``member``, login sessions with a CSRF
token each.

Only ``sha256(cookie)`` of a session is stored. Every method that acts on behalf of somebody takes an ``Actor``
and checks it here, in the service layer, so that no interface can forget to.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from bedrockctl.errors import ValidationFailed
from bedrockctl.services.errors import AuthenticationFailed, LoginThrottled, NotFound, PermissionDenied
from bedrockctl.services.login_throttle import LoginThrottle
from bedrockctl.store.console import console_events, console_sessions, console_users

ROLES = ("admin", "member")
SESSION_TTL = 12 * 3600.0
_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,199}$")
MIN_PASSWORD = 10


@dataclass(frozen=True)
class Actor:
    """Who is acting: the signed-in user (or the CLI, which acts as an administrator)."""

    id: int
    username: str
    role: str
    team: str = "default"

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def may_access(self, owner_id: int) -> bool:
        return self.is_admin or owner_id == self.id


SYSTEM = Actor(0, "cli", "admin")


def _hasher(cost: str = "default") -> Any:
    """argon2id with the library's defaults (RFC 9106 low-memory profile); ``cost="test"`` is for test suites."""
    from argon2 import PasswordHasher

    if cost == "test":
        return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    return PasswordHasher()


def _sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def log_event(
    conn: Any, actor: Actor, action: str, target: str = "", owner: str | None = None, detail: str = ""
) -> None:
    conn.execute(
        console_events.insert().values(
            ts=time.time(), actor=actor.username, action=action, target=target, owner=owner, detail=detail[:2000]
        )
    )


@dataclass
class SessionInfo:
    token: str  # the cookie value: returned once, never stored
    csrf_token: str
    actor: Actor
    expires_at: float


class UserService:
    def __init__(
        self,
        engine: Any,
        session_ttl: float = SESSION_TTL,
        *,
        hash_cost: str = "default",
        throttle: LoginThrottle | None = None,
    ) -> None:
        self.engine = engine
        self.session_ttl = session_ttl
        self.throttle = throttle  # sign-in back-off (the console's); None: no throttling (CLI, tests)
        self._ph = _hasher(hash_cost)
        self._dummy_hash: str | None = None

    @property
    def _dummy(self) -> str:
        if self._dummy_hash is None:  # equal work for unknown user names
            self._dummy_hash = self._ph.hash(secrets.token_urlsafe(16))
        return self._dummy_hash

    # -- users -----------------------------------------------------------------------------------------------
    def create(
        self,
        actor: Actor,
        username: str,
        password: str | None,
        *,
        role: str = "member",
        team: str = "default",
        display_name: str = "",
    ) -> dict[str, Any]:
        if not actor.is_admin:
            raise PermissionDenied("Only administrators create users")
        if not _USERNAME.match(username or ""):
            raise ValidationFailed(
                f"invalid user name {username!r}",
                remediation="Use letters, digits and . _ @ + - (up to 200 characters).",
            )
        if role not in ROLES:
            raise ValidationFailed(f"invalid role {role!r}", remediation="Use admin or member.")
        if password is not None:
            self._check_password(password)
        with self.engine.begin() as conn:
            exists = conn.execute(sa.select(console_users.c.id).where(console_users.c.username == username)).first()
            if exists:
                raise ValidationFailed(f"user {username!r} already exists", remediation="Pick another user name.")
            res = conn.execute(
                console_users.insert().values(
                    username=username,
                    password_hash=self._ph.hash(password) if password is not None else None,
                    role=role,
                    team=team or "default",
                    display_name=display_name,
                    created_at=time.time(),
                )
            )
            log_event(conn, actor, "user.create", username, username, f"role={role} team={team}")
            user_id = int(res.inserted_primary_key[0])
        return self.get(actor, user_id)

    @staticmethod
    def _check_password(password: str) -> None:
        if len(password) < MIN_PASSWORD:
            raise ValidationFailed(
                f"password too short ({len(password)} characters)",
                remediation=f"Use at least {MIN_PASSWORD} characters.",
            )

    def get(self, actor: Actor, user_id: int) -> dict[str, Any]:
        if not actor.may_access(user_id):
            raise NotFound("no such user")
        with self.engine.connect() as conn:
            row = conn.execute(console_users.select().where(console_users.c.id == user_id)).first()
        if row is None:
            raise NotFound("no such user")
        return _public(row._mapping)

    def by_name(self, username: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(console_users.select().where(console_users.c.username == username)).first()
        return None if row is None else _public(row._mapping)

    def list(self, actor: Actor) -> list[dict[str, Any]]:
        q = console_users.select().order_by(console_users.c.username)
        if not actor.is_admin:
            q = q.where(console_users.c.id == actor.id)
        with self.engine.connect() as conn:
            return [_public(r._mapping) for r in conn.execute(q)]

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(console_users)).scalar_one())

    def update(
        self,
        actor: Actor,
        user_id: int,
        *,
        role: str | None = None,
        team: str | None = None,
        disabled: bool | None = None,
    ) -> dict[str, Any]:
        if not actor.is_admin:
            raise PermissionDenied("Only administrators change users")
        values: dict[str, Any] = {}
        if role is not None:
            if role not in ROLES:
                raise ValidationFailed(f"invalid role {role!r}", remediation="Use admin or member.")
            values["role"] = role
        if team is not None:
            values["team"] = team or "default"
        if disabled is not None:
            values["disabled"] = disabled
        if user_id == actor.id and (values.get("role") == "member" or values.get("disabled")):
            raise ValidationFailed("you cannot demote or disable yourself", remediation="Ask another administrator.")
        target = self.get(actor, user_id)
        with self.engine.begin() as conn:
            if values:
                conn.execute(console_users.update().where(console_users.c.id == user_id).values(**values))
            if values.get("disabled") or values.get("role"):
                conn.execute(console_sessions.delete().where(console_sessions.c.user_id == user_id))
            log_event(conn, actor, "user.update", target["username"], target["username"], repr(sorted(values)))
        return self.get(actor, user_id)

    def delete(self, actor: Actor, user_id: int) -> None:
        if not actor.is_admin:
            raise PermissionDenied("Only administrators delete users")
        if user_id == actor.id:
            raise ValidationFailed("you cannot delete yourself", remediation="Ask another administrator.")
        target = self.get(actor, user_id)
        with self.engine.begin() as conn:
            conn.execute(console_users.delete().where(console_users.c.id == user_id))
            log_event(conn, actor, "user.delete", target["username"], target["username"])

    def set_password(self, actor: Actor, user_id: int, new: str, *, current: str | None = None) -> None:
        """Admins reset anybody's password; a member changes their own and must give the current one."""
        if not actor.may_access(user_id):
            raise NotFound("no such user")
        self._check_password(new)
        with self.engine.begin() as conn:
            row = conn.execute(console_users.select().where(console_users.c.id == user_id)).first()
            if row is None:
                raise NotFound("no such user")
            if not actor.is_admin and not self._verify(row.password_hash, current or ""):
                raise AuthenticationFailed("the current password is wrong")
            conn.execute(
                console_users.update().where(console_users.c.id == user_id).values(password_hash=self._ph.hash(new))
            )
            conn.execute(console_sessions.delete().where(console_sessions.c.user_id == user_id))
            log_event(conn, actor, "user.password", row.username, row.username)

    # -- sign-in ---------------------------------------------------------------------------------------------
    def _verify(self, stored: str | None, password: str) -> bool:
        from argon2.exceptions import InvalidHashError, VerificationError

        try:
            return bool(self._ph.verify(stored or self._dummy, password)) and stored is not None
        except (VerificationError, InvalidHashError):  # a wrong password, or a stored hash that is not argon2
            return False

    def login_wait(self, username: str, address: str) -> float:
        """Seconds before ``username`` may try to sign in from ``address`` again (0: now)."""
        return self.throttle.wait_for(username, address) if self.throttle is not None else 0.0

    def authenticate(self, username: str, password: str, *, address: str | None = None) -> Actor:
        """The user with this name and password. With a throttle and the client's ``address`` the attempt is counted
        first, and refused without checking the password (``LoginThrottled``) while a back-off runs."""
        if self.throttle is not None and address is not None:
            wait = self.throttle.begin(username, address)
            if wait > 0:
                raise LoginThrottled(wait)
        with self.engine.connect() as conn:
            row = conn.execute(console_users.select().where(console_users.c.username == username)).first()
        ok = self._verify(row.password_hash if row is not None else None, password)
        if row is None or not ok or row.disabled:
            if self.throttle is not None and address is not None:
                self.throttle.failed(username, address)
            raise AuthenticationFailed("wrong user name or password")
        if self._ph.check_needs_rehash(row.password_hash):
            with self.engine.begin() as conn:
                conn.execute(
                    console_users.update()
                    .where(console_users.c.id == row.id)
                    .values(password_hash=self._ph.hash(password))
                )
        if self.throttle is not None and address is not None:
            self.throttle.succeeded(username, address)
        return Actor(int(row.id), str(row.username), str(row.role), str(row.team))

    def sign_in_external(
        self,
        provider: str,
        subject: str,
        username: str,
        *,
        team: str = "default",
        role: str | None = None,
        display_name: str = "",
        auto_create: bool = True,
    ) -> Actor:
        """The user an identity provider vouched for (``provider`` = its issuer, ``subject`` = its ``sub``), created
        on first sign-in when ``auto_create``. A local account of the same name is never taken over: it stays
        password-only until an administrator deletes it. ``role`` (from the provider's groups) and ``team`` follow
        the provider at every sign-in."""
        if not _USERNAME.match(username or ""):
            raise AuthenticationFailed(f"the identity provider's user name {username!r} is not usable here")
        u = console_users
        with self.engine.begin() as conn:
            row = conn.execute(
                u.select().where(u.c.auth_provider == provider[:64], u.c.external_subject == subject[:300])
            ).first()
            if row is None:
                if conn.execute(sa.select(u.c.id).where(u.c.username == username)).first() is not None:
                    raise AuthenticationFailed(
                        f"a console user named {username!r} already signs in another way",
                        remediation="An administrator deletes or renames that user first.",
                    )
                if not auto_create:
                    raise AuthenticationFailed(
                        f"no console user for {username!r}",
                        remediation="An administrator creates it, or sets gateway.oidc.auto_create = true.",
                    )
                res = conn.execute(
                    u.insert().values(
                        username=username,
                        password_hash=None,
                        role=role or "member",
                        team=team or "default",
                        display_name=display_name[:200],
                        auth_provider=provider[:64],
                        external_subject=subject[:300],
                        created_at=time.time(),
                    )
                )
                actor = Actor(int(res.inserted_primary_key[0]), username, role or "member", team or "default")
                log_event(conn, actor, "user.create", username, username, f"provider={provider} team={team}")
                return actor
            if row.disabled:
                raise AuthenticationFailed(f"the console user {row.username!r} is disabled")
            changes = {"team": team or row.team, "display_name": display_name[:200] or row.display_name}
            if role is not None:
                changes["role"] = role
            conn.execute(u.update().where(u.c.id == row.id).values(**changes))
            return Actor(int(row.id), str(row.username), str(changes.get("role", row.role)), str(changes["team"]))

    def open_session(self, actor: Actor) -> SessionInfo:
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        now = time.time()
        with self.engine.begin() as conn:
            conn.execute(console_sessions.delete().where(console_sessions.c.expires_at < now))
            conn.execute(
                console_sessions.insert().values(
                    id=_sha(token), user_id=actor.id, csrf_token=csrf, created_at=now, expires_at=now + self.session_ttl
                )
            )
            conn.execute(console_users.update().where(console_users.c.id == actor.id).values(last_login_at=now))
            log_event(conn, actor, "session.login", actor.username, actor.username)
        return SessionInfo(token, csrf, actor, now + self.session_ttl)

    def session(self, token: str | None) -> SessionInfo | None:
        if not token or len(token) > 200:
            return None
        now = time.time()
        s, u = console_sessions, console_users
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(s.c.csrf_token, s.c.expires_at, u.c.id, u.c.username, u.c.role, u.c.team, u.c.disabled)
                .join_from(s, u, s.c.user_id == u.c.id)
                .where(s.c.id == _sha(token))
            ).first()
        if row is None or row.expires_at < now or row.disabled:
            return None
        return SessionInfo(token, row.csrf_token, Actor(row.id, row.username, row.role, row.team), row.expires_at)

    def close_session(self, token: str | None) -> None:
        if not token:
            return
        with self.engine.begin() as conn:
            conn.execute(console_sessions.delete().where(console_sessions.c.id == _sha(token)))


def _public(m: Any) -> dict[str, Any]:
    return {
        "id": int(m["id"]),
        "username": m["username"],
        "role": m["role"],
        "team": m["team"],
        "display_name": m["display_name"] or "",
        "auth_provider": m["auth_provider"],
        "disabled": bool(m["disabled"]),
        "created_at": m["created_at"],
        "last_login_at": m["last_login_at"],
        "has_password": m["password_hash"] is not None,
    }


__all__ = [
    "ROLES",
    "SYSTEM",
    "Actor",
    "AuthenticationFailed",
    "NotFound",
    "PermissionDenied",
    "SessionInfo",
    "UserService",
    "log_event",
]
