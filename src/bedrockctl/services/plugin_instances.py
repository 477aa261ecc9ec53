"""Plugin instances saved in the console: a plugin, regions and either one of the owner's stored credentials or
blank for the server's default credential chain (administrators only: it is the server's identity). Scans record
their snapshot in the inventory store. Members see and run only their own instances."""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa

from bedrockctl.errors import BedrockctlError, ValidationFailed
from bedrockctl.services.credentials import CredentialService
from bedrockctl.services.users import Actor, NotFound, PermissionDenied, log_event
from bedrockctl.store.console import console_credentials, console_plugin_instances, console_users

T = console_plugin_instances


class _StoreShim:
    def __init__(self, engine: Any) -> None:
        from bedrockctl.store.inventory import InventoryRepo

        self.inventory = InventoryRepo(engine)


class PluginInstances:
    def __init__(self, engine: Any, creds: CredentialService, default_sessions: Any) -> None:
        self.engine = engine
        self.creds = creds
        self.default_sessions = default_sessions

    def _row(self, conn: Any, actor: Actor, inst_id: int) -> Any:
        row = conn.execute(T.select().where(T.c.id == inst_id)).first()
        if row is None or not actor.may_access(int(row.owner_id)):
            raise NotFound(f"no plugin instance {inst_id}")
        return row

    def _check(self, conn: Any, actor: Actor, owner_id: int, plugin: str, credential_id: int | None) -> None:
        from bedrockctl.plugins.registry import plugin_names

        if plugin not in plugin_names():
            raise ValidationFailed(f"unknown plugin {plugin!r}", remediation=f"Use one of {', '.join(plugin_names())}.")
        if credential_id is None:
            if not actor.is_admin:
                raise PermissionDenied(
                    "Only administrators may scan with the server's default credentials",
                    remediation="Pick one of your stored credentials (Credentials page).",
                )
            return
        cred = conn.execute(
            sa.select(console_credentials.c.owner_id).where(console_credentials.c.id == credential_id)
        ).first()
        if cred is None or int(cred.owner_id) != owner_id:
            raise NotFound(f"no credential {credential_id} of this owner")

    def list(self, actor: Actor) -> list[dict[str, Any]]:
        c = console_credentials
        q = (
            sa.select(T, console_users.c.username.label("owner"), c.c.name.label("credential_name"))
            .join_from(T, console_users, T.c.owner_id == console_users.c.id)
            .outerjoin(c, T.c.credential_id == c.c.id)
            .order_by(T.c.id)
        )
        if not actor.is_admin:
            q = q.where(T.c.owner_id == actor.id)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]

    def get(self, actor: Actor, inst_id: int) -> dict[str, Any]:
        with self.engine.connect() as conn:
            return dict(self._row(conn, actor, inst_id)._mapping)

    def save(
        self,
        actor: Actor,
        *,
        name: str,
        plugin: str,
        regions: str,
        credential_id: int | None,
        inst_id: int | None = None,
    ) -> int:
        name = name.strip()
        if not name:
            raise ValidationFailed("a plugin instance needs a name")
        regions = ",".join(r.strip() for r in regions.split(",") if r.strip())
        with self.engine.begin() as conn:
            owner = actor.id if inst_id is None else int(self._row(conn, actor, inst_id).owner_id)
            self._check(conn, actor, owner, plugin, credential_id)
            values = {"name": name, "plugin": plugin, "regions": regions, "credential_id": credential_id}
            if inst_id is None:
                res = conn.execute(T.insert().values(owner_id=owner, config={}, created_at=time.time(), **values))
                inst_id = int(res.inserted_primary_key[0])
                log_event(conn, actor, "plugin.create", f"plugin:{inst_id} {name}", actor.username)
            else:
                conn.execute(T.update().where(T.c.id == inst_id).values(**values))
                log_event(conn, actor, "plugin.update", f"plugin:{inst_id} {name}")
        return inst_id

    def delete(self, actor: Actor, inst_id: int) -> None:
        with self.engine.begin() as conn:
            row = self._row(conn, actor, inst_id)
            conn.execute(T.delete().where(T.c.id == inst_id))
            log_event(conn, actor, "plugin.delete", f"plugin:{inst_id} {row.name}")

    def scan(self, actor: Actor, inst_id: int) -> dict[str, Any]:
        """Run discovery for the instance; the snapshot lands in the inventory store."""
        from bedrockctl.services.inventory import discover

        with self.engine.connect() as conn:
            row = self._row(conn, actor, inst_id)
            self._check(conn, actor, int(row.owner_id), row.plugin, row.credential_id)
        if row.credential_id is None:
            sessions = self.default_sessions
        else:
            owner = Actor(int(row.owner_id), "", "member")  # the owner's credential, whoever runs the scan
            sessions = self.creds.sessions_for(owner if actor.is_admin else actor, int(row.credential_id))
        try:
            rep = discover(
                sessions,
                plugins=[row.plugin],
                regions=row.regions or None,
                store=_StoreShim(self.engine),
                max_workers=8,
                probe_timeout=3.0,
            )
            summary = {
                "ok": True,
                "asset_count": rep["asset_count"],
                "assets_by_type": rep["assets_by_type"],
                "errors": [
                    {k: e.get(k) for k in ("region", "asset_type", "error_code", "error")} for e in rep["errors"]
                ][:20],
                "dead_regions": rep["dead_regions"],
                "scan_id": (rep.get("snapshot") or {}).get("scan_id"),
            }
        except BedrockctlError as exc:
            summary = {"ok": False, "error": {"code": exc.code, "message": exc.message, "remediation": exc.remediation}}
        with self.engine.begin() as conn:
            conn.execute(T.update().where(T.c.id == inst_id).values(last_scan_at=time.time(), last_scan=summary))
            log_event(
                conn, actor, "plugin.scan", f"plugin:{inst_id} {row.name}", detail=str(summary.get("asset_count"))
            )
        return summary
