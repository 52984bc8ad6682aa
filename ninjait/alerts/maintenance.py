"""Maintenance windows: planned work (patch nights, a move) during which a device's new alerts are
still recorded but marked ``in_maintenance`` and not notified.

A window covers the whole tenant, an organization, a site, a device group or one device. It is one-off
(``starts_at`` to ``ends_at``) or weekly: on the chosen weekdays (Monday = 0) at ``minute_of_day`` UTC for
``duration_minutes``, from ``starts_at`` until ``ends_at`` (or for ever).
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from ninjait.core.errors import Invalid, NotFound
from ninjait.devices import store as device_store
from ninjait.core.runtime import Runtime
from ninjait.identity.principal import Actor, Principal

SCOPES = ("tenant", "organization", "site", "group", "device")
COLUMNS = ("id, tenant_id, name, scope, scope_id, starts_at, ends_at, weekdays, minute_of_day, duration_minutes, "
           "created_by, created_at")


def _weekdays(text: str) -> list[int]:
    return [int(d) for d in text.split(",") if d.strip().isdigit()]


def is_open(window: dict[str, Any], now: float) -> bool:
    if now < window["starts_at"] or (window["ends_at"] is not None and now >= window["ends_at"]):
        return False
    days = _weekdays(window["weekdays"])
    if not days:
        return True  # one-off: the whole span
    moment = dt.datetime.fromtimestamp(now, dt.UTC)
    minute = moment.hour * 60 + moment.minute
    start, length = window["minute_of_day"], window["duration_minutes"]
    # Today's occurrence, or yesterday's one running past midnight.
    if moment.weekday() in days and start <= minute < start + length:
        return True
    yesterday = (moment.weekday() - 1) % 7
    return yesterday in days and minute < start + length - 1440


def _check(data: dict[str, Any]) -> dict[str, Any]:
    name = str(data.get("name", "")).strip()
    if not 1 <= len(name) <= 100:
        raise Invalid("name must be 1 to 100 characters", field="name")
    scope = data.get("scope", "")
    if scope not in SCOPES:
        raise Invalid(f"scope must be one of {', '.join(SCOPES)}", field="scope")
    scope_id = data.get("scope_id")
    if (scope == "tenant") != (scope_id is None):
        raise Invalid("scope_id names the organization, site, group or device (none for tenant)", field="scope_id")
    starts, ends = data.get("starts_at"), data.get("ends_at")
    if not isinstance(starts, int) or starts < 0:
        raise Invalid("starts_at is a Unix time", field="starts_at")
    if ends is not None and (not isinstance(ends, int) or ends <= starts):
        raise Invalid("ends_at must be after starts_at", field="ends_at")
    days = data.get("weekdays") or []
    if not all(isinstance(d, int) and 0 <= d <= 6 for d in days) or len(set(days)) != len(days):
        raise Invalid("weekdays are distinct numbers 0 (Monday) to 6 (Sunday)", field="weekdays")
    minute, length = data.get("minute_of_day", 0), data.get("duration_minutes", 0)
    if days:
        if not isinstance(minute, int) or not 0 <= minute < 1440:
            raise Invalid("minute_of_day is 0 to 1439 (UTC)", field="minute_of_day")
        if not isinstance(length, int) or not 1 <= length <= 1440:
            raise Invalid("duration_minutes is 1 to 1440", field="duration_minutes")
    elif ends is None:
        raise Invalid("a one-off window needs ends_at (or give weekdays for a weekly one)", field="ends_at")
    elif ends - starts > 31 * 86400:
        raise Invalid("a one-off window lasts at most 31 days", field="ends_at")
    return {"name": name, "scope": scope, "scope_id": scope_id, "starts_at": starts, "ends_at": ends,
            "weekdays": ",".join(str(d) for d in sorted(days)), "minute_of_day": minute if days else 0,
            "duration_minutes": length if days else 0}


SCOPE_TABLES = {"organization": "organizations", "site": "sites", "group": "device_groups", "device": "devices"}


def _out(row: dict[str, Any], now: float) -> dict[str, Any]:
    return {**row, "weekdays": _weekdays(row["weekdays"]), "open_now": is_open(row, now)}


def create_window(rt: Runtime, p: Principal, actor: Actor, data: dict[str, Any]) -> dict[str, Any]:
    from ninjait.alerts.service import require_tenant_wide  # service imports this module

    require_tenant_wide(p, "maintenance windows")
    w = _check(data)

    def write(c: Any) -> int:
        if w["scope"] != "tenant" and c.value(f"SELECT 1 FROM {SCOPE_TABLES[w['scope']]} WHERE tenant_id = ? AND id = ?",
                                              (p.tenant_id, w["scope_id"])) is None:
            raise Invalid(f"no {w['scope']} {w['scope_id']} in this tenant", field="scope_id")
        return int(c.value(
            "INSERT INTO maintenance_windows (tenant_id, name, scope, scope_id, starts_at, ends_at, weekdays, "
            "minute_of_day, duration_minutes, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "RETURNING id", (p.tenant_id, w["name"], w["scope"], w["scope_id"], w["starts_at"], w["ends_at"],
                             w["weekdays"], w["minute_of_day"], w["duration_minutes"], actor.user_id,
                             int(time.time()))))

    window_id = rt.db.write(write)
    rt.bus.emit("maintenance_window.created", p.tenant_id, actor.as_dict(), object_type="maintenance_window",
                object_id=window_id, summary={"name": w["name"], "scope": w["scope"], "scope_id": w["scope_id"]})
    return get_window(rt, p, window_id)


def get_window(rt: Runtime, p: Principal, window_id: int) -> dict[str, Any]:
    with rt.db.read() as c:
        row = c.one(f"SELECT {COLUMNS} FROM maintenance_windows WHERE tenant_id = ? AND id = ?", (p.tenant_id, window_id))
    if row is None:
        raise NotFound("maintenance window not found")
    return _out(row, time.time())


def list_windows(rt: Runtime, p: Principal) -> list[dict[str, Any]]:
    now = time.time()
    with rt.db.read() as c:
        rows = c.all(f"SELECT {COLUMNS} FROM maintenance_windows WHERE tenant_id = ? ORDER BY starts_at DESC, id DESC",
                     (p.tenant_id,))
    return [_out(r, now) for r in rows]


def delete_window(rt: Runtime, p: Principal, actor: Actor, window_id: int) -> None:
    window = get_window(rt, p, window_id)
    from ninjait.alerts.service import require_tenant_wide  # service imports this module

    require_tenant_wide(p, "maintenance windows")
    rt.db.write(lambda c: c.execute("DELETE FROM maintenance_windows WHERE tenant_id = ? AND id = ?",
                                    (p.tenant_id, window_id)))
    rt.bus.emit("maintenance_window.deleted", p.tenant_id, actor.as_dict(), object_type="maintenance_window",
                object_id=window_id, summary={"name": window["name"]})


def covering(c: Any, tenant_id: int, device_id: int | None, organization_id: int | None, now: float) -> list[str]:
    """Names of the windows open now that cover this device (or organization, for alerts without a device)."""
    rows = c.all(f"SELECT {COLUMNS} FROM maintenance_windows WHERE tenant_id = ? AND starts_at <= ? "
                 "AND (ends_at IS NULL OR ends_at > ?)", (tenant_id, int(now), int(now)))
    if not rows:
        return []
    device = device_store.brief(c, tenant_id, device_id) if device_id else None
    groups = {r["group_id"] for r in c.all("SELECT group_id FROM device_group_members WHERE tenant_id = ? "
                                          "AND device_id = ?", (tenant_id, device_id))} if device else set()
    covers = {("tenant", None), ("organization", device["organization_id"] if device else organization_id)}
    if device:
        covers |= {("site", device["site_id"]), ("device", device_id), *(("group", g) for g in groups)}
    return [r["name"] for r in rows if (r["scope"], r["scope_id"]) in covers and is_open(r, now)]
