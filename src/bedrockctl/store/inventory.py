"""Inventory history in the store: each scan is a snapshot (observations); assets keep first_seen, last_seen and
removed_at; every addition, removal, change and reappearance is an event that ``diff`` reads back.

An asset is only marked removed when the scan *covered* its scope (plugin, account, region, asset type) without
error: a region that timed out this time does not make its assets disappear.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.engine import Engine

from bedrockctl.store.schema import (
    inventory_assets as A,
)
from bedrockctl.store.schema import (
    inventory_events as EV,
)
from bedrockctl.store.schema import (
    inventory_observations as OBS,
)
from bedrockctl.store.schema import (
    inventory_scan_targets as TGT,
)
from bedrockctl.store.schema import (
    inventory_scans as SCANS,
)

Scope = tuple[str, str, str, str]  # plugin, account_id, region, asset_type
_CHUNK = 500


def utcnow() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def asset_key(plugin: str, account_id: str, region: str, asset_type: str, asset_id: str) -> str:
    raw = "|".join((plugin, account_id, region, asset_type, asset_id))
    return hashlib.sha256(raw.encode()).hexdigest()


def data_hash(data: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _asset_row(row: Any) -> dict[str, Any]:
    m = dict(row._mapping)
    for k in ("first_seen", "last_seen", "removed_at"):
        if k in m:
            v = _aware(m[k])
            m[k] = v.isoformat() if v else None
    m.pop("data_hash", None)
    return m


class InventoryRepo:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- writing ---------------------------------------------------------------------------------------------
    def begin_scan(self, plugins: Sequence[str], regions: Sequence[str], accounts: Sequence[str]) -> int:
        with self.engine.begin() as conn:
            res = conn.execute(
                insert(SCANS).values(
                    started_at=utcnow(),
                    status="running",
                    plugins=list(plugins),
                    regions=list(regions),
                    accounts=list(accounts),
                    target_count=0,
                    asset_count=0,
                    error_count=0,
                )
            )
            return int(res.inserted_primary_key[0])  # type: ignore[index]

    def finish_scan(
        self,
        scan_id: int,
        assets: Sequence[Mapping[str, Any]],
        targets: Sequence[Mapping[str, Any]],
        *,
        duration_s: float | None = None,
        now: datetime | None = None,
    ) -> dict[str, Any]:
        """Record what a scan saw. ``assets``: dicts with plugin, account_id, region, asset_type, asset_id, name,
        arn, data. ``targets``: one per (plugin, account_id, region, asset_type) with ok, asset_count, error_code,
        error, duration_s. Returns counts of added / removed / changed / reappeared / unchanged."""
        now = now or utcnow()
        covered: set[Scope] = {
            (t["plugin"], t["account_id"], t["region"], t["asset_type"]) for t in targets if t.get("ok")
        }
        counts = {"added": 0, "removed": 0, "changed": 0, "reappeared": 0, "unchanged": 0}
        with self.engine.begin() as conn:
            existing = {
                r.asset_key: r
                for r in conn.execute(
                    select(
                        A.c.id,
                        A.c.asset_key,
                        A.c.data_hash,
                        A.c.removed_at,
                        A.c.data,
                        A.c.plugin,
                        A.c.account_id,
                        A.c.region,
                        A.c.asset_type,
                    )
                )
            }
            seen: dict[str, tuple[int | None, str]] = {}
            new_rows, touch_ids, events = [], [], []
            for a in assets:
                key = asset_key(a["plugin"], a["account_id"], a["region"], a["asset_type"], str(a["asset_id"]))
                if key in seen:
                    continue
                h = data_hash(a["data"])
                old = existing.get(key)
                if old is None:
                    new_rows.append(
                        {
                            "asset_key": key,
                            "plugin": a["plugin"],
                            "account_id": a["account_id"],
                            "region": a["region"],
                            "asset_type": a["asset_type"],
                            "asset_id": str(a["asset_id"]),
                            "name": a.get("name"),
                            "arn": a.get("arn"),
                            "data": dict(a["data"]),
                            "data_hash": h,
                            "first_seen": now,
                            "last_seen": now,
                            "removed_at": None,
                            "first_scan_id": scan_id,
                            "last_scan_id": scan_id,
                        }
                    )
                    seen[key] = (None, h)
                    continue
                seen[key] = (old.id, h)
                if old.removed_at is not None or old.data_hash != h:
                    kind = "reappeared" if old.removed_at is not None else "changed"
                    counts[kind] += 1
                    conn.execute(
                        update(A)
                        .where(A.c.id == old.id)
                        .values(
                            data=dict(a["data"]),
                            data_hash=h,
                            name=a.get("name"),
                            arn=a.get("arn"),
                            last_seen=now,
                            last_scan_id=scan_id,
                            removed_at=None,
                        )
                    )
                    events.append({"asset_pk": old.id, "kind": kind, "before": old.data, "after": dict(a["data"])})
                else:
                    counts["unchanged"] += 1
                    touch_ids.append(old.id)
            for chunk in _chunks(touch_ids):
                conn.execute(update(A).where(A.c.id.in_(chunk)).values(last_seen=now, last_scan_id=scan_id))
            for chunk in _chunks(new_rows):
                for row in conn.execute(insert(A).returning(A.c.id, A.c.asset_key), list(chunk)):
                    seen[row.asset_key] = (row.id, seen[row.asset_key][1])
                    events.append({"asset_pk": row.id, "kind": "added", "before": None, "after": None})
            counts["added"] = len(new_rows)
            removed_ids = [
                r.id
                for k, r in existing.items()
                if r.removed_at is None
                and k not in seen
                and (r.plugin, r.account_id, r.region, r.asset_type) in covered
            ]
            for chunk in _chunks(removed_ids):
                conn.execute(update(A).where(A.c.id.in_(chunk)).values(removed_at=now))
            events.extend({"asset_pk": i, "kind": "removed", "before": None, "after": None} for i in removed_ids)
            counts["removed"] = len(removed_ids)
            obs = [{"scan_id": scan_id, "asset_pk": pk, "data_hash": h} for pk, h in seen.values() if pk is not None]
            for chunk in _chunks(obs, 5000):
                conn.execute(insert(OBS), list(chunk))
            for chunk in _chunks([{**e, "scan_id": scan_id, "at": now} for e in events], 5000):
                conn.execute(insert(EV), list(chunk))
            target_rows = [
                {
                    "scan_id": scan_id,
                    "plugin": t["plugin"],
                    "account_id": t["account_id"],
                    "region": t["region"],
                    "asset_type": t["asset_type"],
                    "ok": bool(t.get("ok")),
                    "asset_count": int(t.get("asset_count", 0)),
                    "error_code": t.get("error_code"),
                    "error": t.get("error"),
                    "duration_s": t.get("duration_s"),
                }
                for t in targets
            ]
            for chunk in _chunks(target_rows, 5000):
                conn.execute(insert(TGT), list(chunk))
            errors = sum(1 for t in targets if not t.get("ok"))
            status = "complete" if not errors else ("failed" if errors == len(targets) else "partial")
            conn.execute(
                update(SCANS)
                .where(SCANS.c.id == scan_id)
                .values(
                    finished_at=now,
                    status=status,
                    target_count=len(targets),
                    asset_count=len(seen),
                    error_count=errors,
                    duration_s=duration_s,
                )
            )
        return {"scan_id": scan_id, "status": status, **counts}

    # -- reading ---------------------------------------------------------------------------------------------
    def list_assets(
        self,
        *,
        include_removed: bool = False,
        asset_type: str | None = None,
        plugin: str | None = None,
        account_id: str | None = None,
        region: str | None = None,
        with_data: bool = True,
    ) -> list[dict[str, Any]]:
        cols = [c for c in A.c if with_data or c.name != "data"]
        q = select(*cols).order_by(A.c.plugin, A.c.account_id, A.c.region, A.c.asset_type, A.c.asset_id)
        if not include_removed:
            q = q.where(A.c.removed_at.is_(None))
        for col, value in ((A.c.asset_type, asset_type), (A.c.plugin, plugin), (A.c.account_id, account_id)):
            if value:
                q = q.where(col == value)
        if region:
            q = q.where(A.c.region == region)
        with self.engine.connect() as conn:
            return [_asset_row(r) for r in conn.execute(q)]

    def get_asset(self, ident: str) -> list[dict[str, Any]]:
        """Assets whose key (or its prefix, >= 8 chars), id, ARN or name is ``ident``, each with its events."""
        cond = or_(A.c.asset_id == ident, A.c.arn == ident, A.c.name == ident)
        if len(ident) >= 8:
            cond = or_(cond, A.c.asset_key.startswith(ident))
        with self.engine.connect() as conn:
            rows = [_asset_row(r) for r in conn.execute(select(A).where(cond).order_by(A.c.id))]
            for row in rows:
                evs = conn.execute(
                    select(EV.c.scan_id, EV.c.kind, EV.c.at).where(EV.c.asset_pk == row["id"]).order_by(EV.c.id)
                )
                row["history"] = [
                    {"scan_id": e.scan_id, "kind": e.kind, "at": (_aware(e.at) or now_fallback()).isoformat()}
                    for e in evs
                ]
        return rows

    def scans(self, limit: int = 20) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(SCANS).order_by(SCANS.c.id.desc()).limit(limit))
            out = []
            for r in rows:
                m = dict(r._mapping)
                for k in ("started_at", "finished_at"):
                    v = _aware(m[k])
                    m[k] = v.isoformat() if v else None
                out.append(m)
            return out

    def scan_errors(self, scan_id: int) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            q = select(TGT).where(and_(TGT.c.scan_id == scan_id, TGT.c.ok.is_(False))).order_by(TGT.c.id)
            return [dict(r._mapping) for r in conn.execute(q)]

    def diff(self, since: datetime | None = None) -> dict[str, Any]:
        """Changes since ``since`` (all scans after it), else those of the latest finished scan."""
        with self.engine.connect() as conn:
            q = select(EV.c.kind, EV.c.at, EV.c.scan_id, EV.c.before, EV.c.after, *[c for c in A.c if c.name != "data"])
            q = q.join_from(EV, A, EV.c.asset_pk == A.c.id)
            if since is not None:
                q = q.where(EV.c.at >= since)
                scope: dict[str, Any] = {"since": since.isoformat()}
            else:
                last = conn.execute(
                    select(func.max(SCANS.c.id)).where(SCANS.c.finished_at.is_not(None))
                ).scalar_one_or_none()
                q = q.where(EV.c.scan_id == (last or -1))
                scope = {"scan_id": last}
            out: dict[str, Any] = {**scope, "added": [], "removed": [], "changed": [], "reappeared": []}
            for r in conn.execute(q.order_by(EV.c.id)):
                row = _asset_row(r)
                row["at"] = (_aware(r.at) or now_fallback()).isoformat()
                kind = row.pop("kind")
                before, after = row.pop("before"), row.pop("after")
                if kind == "changed":
                    row["changes"] = _changed_fields(before or {}, after or {})
                out[kind].append(row)
        return out


def now_fallback() -> datetime:
    return utcnow()


def _changed_fields(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    keys = sorted(set(before) | set(after))
    return {k: {"before": before.get(k), "after": after.get(k)} for k in keys if before.get(k) != after.get(k)}
