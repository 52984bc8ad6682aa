"""Alerts: raise on a condition, fold repeats into one open alert, acknowledge, resolve (by hand or when
the condition clears), detect flapping, and publish what happened.

A condition is identified by its fingerprint, rule + subject (``device.unreachable`` + ``device:7``):
while an alert for it is open (triggered or acknowledged), repeats only count occurrences and may raise
its severity. A condition that was resolved ``FLAP_COUNT`` times within ``FLAP_WINDOW`` is flapping:
its new alert is marked so notifications can hold back.

Events, after commit: ``alert.triggered`` (a new alert; the ticketing domain opens tickets on it),
``alert.acknowledged``, ``alert.resolved`` (``auto`` true when the condition cleared; tickets close on
it). Their summary carries the alert's id, severity, title, rule, device and organization.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from ninjait.alerts import incidents, maintenance, store
from ninjait.core.errors import Conflict, Forbidden, Invalid, NotFound
from ninjait.core.runtime import Runtime
from ninjait.identity.principal import Actor, Principal

SEVERITIES = ("info", "warning", "critical")
RANK = {s: i for i, s in enumerate(SEVERITIES)}
FLAP_WINDOW = 3600
FLAP_COUNT = 3
SYSTEM = {"user_id": None, "email": "system"}
MAX_NOTE = 2000


@dataclass(frozen=True)
class Condition:
    tenant_id: int
    rule: str
    subject: str
    source: str
    severity: str
    title: str
    message: str = ""
    organization_id: int | None = None
    device_id: int | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def fingerprint(self) -> str:
        return f"{self.rule}|{self.subject}"


def _summary(alert: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"alert_id": alert["id"], "severity": alert["severity"], "title": alert["title"], "rule": alert["rule"],
            "device_id": alert["device_id"], "organization_id": alert["organization_id"],
            "flapping": bool(alert["flapping"]), "in_maintenance": bool(alert.get("in_maintenance")), **extra}


def _out(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "details": json.loads(row["details"] or "{}"), "flapping": bool(row["flapping"]),
            "in_maintenance": bool(row.get("in_maintenance"))}


def trigger(rt: Runtime, cond: Condition, now: float | None = None) -> tuple[dict[str, Any], str]:
    """Raise the condition; returns the open alert and what happened: triggered, occurred or escalated."""
    if cond.severity not in SEVERITIES:
        raise Invalid(f"severity must be one of {', '.join(SEVERITIES)}", field="severity")
    at = int(time.time() if now is None else now)

    def write(c: Any) -> tuple[dict[str, Any], str]:
        current = store.open_by_fingerprint(c, cond.tenant_id, cond.fingerprint)
        if current is not None:
            higher = RANK[cond.severity] > RANK[current["severity"]]
            severity = cond.severity if higher else current["severity"]
            title = cond.title[:300] if higher else current["title"]  # the worse state names the alert
            store.occurred(c, current["id"], severity, title, cond.message[:2000], at)
            what = "escalated" if higher else "occurred"
            if higher:
                store.transition(c, cond.tenant_id, current["id"], what, at, note=f"severity {severity}")
            return store.get(c, cond.tenant_id, current["id"]) or current, what
        flapping = store.resolved_since(c, cond.tenant_id, cond.fingerprint, at - FLAP_WINDOW) >= FLAP_COUNT
        windows = maintenance.covering(c, cond.tenant_id, cond.device_id, cond.organization_id, at)
        alert_id = store.insert(c, {
            "tenant_id": cond.tenant_id, "organization_id": cond.organization_id, "device_id": cond.device_id,
            "source": cond.source, "rule": cond.rule, "subject": cond.subject, "fingerprint": cond.fingerprint,
            "severity": cond.severity, "title": cond.title[:300], "message": cond.message[:2000],
            "details": json.dumps(cond.details), "flapping": int(flapping), "first_at": at, "last_at": at,
            "in_maintenance": int(bool(windows))})
        notes = [f"flapping: resolved {FLAP_COUNT} times in the last hour" if flapping else "",
                 f"during maintenance ({', '.join(windows)}): not notified" if windows else ""]
        incident = incidents.attach(c, alert_id, cond.tenant_id, cond.organization_id, cond.rule, cond.title[:300], at)
        if incident is not None:
            notes.append(f"part of incident {incident}")
        store.transition(c, cond.tenant_id, alert_id, "triggered", at, note="; ".join(n for n in notes if n))
        return store.get(c, cond.tenant_id, alert_id) or {}, "triggered"

    alert, what = rt.db.write(write)
    if what == "triggered":
        rt.bus.emit("alert.triggered", cond.tenant_id, SYSTEM, object_type="alert", object_id=alert["id"],
                    summary=_summary(alert))
    elif what == "escalated":
        rt.bus.emit("alert.escalated", cond.tenant_id, SYSTEM, object_type="alert", object_id=alert["id"],
                    summary=_summary(alert))
    return _out(alert), what


def clear(rt: Runtime, tenant_id: int, rule: str, subject: str, note: str = "the condition cleared",
          now: float | None = None) -> dict[str, Any] | None:
    """Resolve the open alert of a condition that no longer holds; None when none was open."""
    at = int(time.time() if now is None else now)

    def write(c: Any) -> dict[str, Any] | None:
        current = store.open_by_fingerprint(c, tenant_id, f"{rule}|{subject}")
        if current is None:
            return None
        store.resolve(c, current["id"], None, note, at)
        store.transition(c, tenant_id, current["id"], "resolved", at, actor="system", note=note)
        return store.get(c, tenant_id, current["id"])

    alert = rt.db.write(write)
    if alert is not None:
        rt.bus.emit("alert.resolved", tenant_id, SYSTEM, object_type="alert", object_id=alert["id"],
                    summary=_summary(alert, auto=True, note=note))
    return _out(alert) if alert else None


def clear_rule(rt: Runtime, tenant_id: int, rule: str, note: str) -> list[int]:
    """Resolve every open alert of a rule, whatever its subject (the rule itself is gone)."""
    with rt.db.read() as c:
        subjects = [r["subject"] for r in c.all("SELECT subject FROM alerts WHERE tenant_id = ? AND rule = ? "
                                                "AND state <> 'resolved'", (tenant_id, rule))]
    return [a["id"] for s in subjects if (a := clear(rt, tenant_id, rule, s, note=note)) is not None]


def _visible(p: Principal, alert: dict[str, Any] | None, permission: str) -> dict[str, Any]:
    orgs = p.organizations_for("alerts.read")
    if alert is None or (orgs is not None and alert["organization_id"] not in orgs):
        raise NotFound("alert not found")
    if permission != "alerts.read":
        allowed = p.organizations_for(permission)
        if allowed is not None and alert["organization_id"] not in allowed:
            raise NotFound("alert not found")
    return alert


def get_alert(rt: Runtime, p: Principal, alert_id: int) -> dict[str, Any]:
    alert = listed(rt, p, alert_id)
    if alert is None:
        raise NotFound("alert not found")
    with rt.db.read() as c:
        return {**alert, "transitions": store.transitions(c, p.tenant_id, alert_id)}


def change(rt: Runtime, p: Principal, actor: Actor, alert_id: int, action: str, note: str) -> dict[str, Any]:
    if len(note) > MAX_NOTE:
        raise Invalid(f"the note is longer than {MAX_NOTE} characters", field="note")
    at = int(time.time())

    def write(c: Any) -> dict[str, Any]:
        alert = _visible(p, store.get(c, p.tenant_id, alert_id), "alerts.write")
        if alert["state"] == "resolved":
            raise Conflict("the alert is already resolved")
        if action == "acknowledge":
            if alert["state"] == "acknowledged":
                raise Conflict("the alert is already acknowledged")
            store.acknowledge(c, alert_id, actor.user_id, at)
        else:
            store.resolve(c, alert_id, actor.user_id, note, at)
        store.transition(c, p.tenant_id, alert_id, "acknowledged" if action == "acknowledge" else "resolved", at,
                         actor.user_id, actor.email, note)
        return store.get(c, p.tenant_id, alert_id) or alert

    alert = rt.db.write(write)
    name = "alert.acknowledged" if action == "acknowledge" else "alert.resolved"
    rt.bus.emit(name, p.tenant_id, actor.as_dict(), object_type="alert", object_id=alert_id,
                summary=_summary(alert, auto=False, note=note[:500]))
    return _out(alert)


def acknowledge(rt: Runtime, p: Principal, actor: Actor, alert_id: int, note: str = "") -> dict[str, Any]:
    return change(rt, p, actor, alert_id, "acknowledge", note)


def resolve(rt: Runtime, p: Principal, actor: Actor, alert_id: int, note: str = "") -> dict[str, Any]:
    return change(rt, p, actor, alert_id, "resolve", note)


BULK_ACTIONS = ("acknowledge", "resolve")
MAX_BULK = 500


def bulk(rt: Runtime, p: Principal, actor: Actor, ids: list[int], action: str, note: str = "") -> dict[str, Any]:
    """Apply one action to many alerts; each is checked on its own. Returns which were changed and which
    were refused, with the reason."""
    if action not in BULK_ACTIONS:
        raise Invalid(f"action must be one of {', '.join(BULK_ACTIONS)}", field="action")
    if not ids or len(ids) > MAX_BULK:
        raise Invalid(f"give 1 to {MAX_BULK} alert ids", field="ids")
    done, refused = [], []
    for alert_id in dict.fromkeys(ids):
        try:
            change(rt, p, actor, alert_id, action, note)
            done.append(alert_id)
        except (Conflict, NotFound) as exc:
            refused.append({"id": alert_id, "reason": exc.message})
    return {"done": done, "refused": refused}


def list_alerts(rt: Runtime, p: Principal, *, state: str = "open", severity: str = "",
                organization_id: int | None = None, device_id: int | None = None, max_age_hours: int | None = None,
                incident_id: int | None = None, page: int = 1, per_page: int = 50) -> tuple[list[dict[str, Any]], int]:
    if state not in store.STATE_FILTERS:
        raise Invalid(f"state must be one of {', '.join(store.STATE_FILTERS)}", field="state")
    if severity and severity not in SEVERITIES:
        raise Invalid(f"severity must be one of {', '.join(SEVERITIES)}", field="severity")
    if max_age_hours is not None and not 1 <= max_age_hours <= 24 * 366:
        raise Invalid("max_age_hours must be 1 to 8784", field="max_age_hours")
    if not 1 <= per_page <= 500 or page < 1:
        raise Invalid("page starts at 1 and per_page is 1 to 500", field="per_page")
    since = int(time.time()) - max_age_hours * 3600 if max_age_hours else None
    with rt.db.read() as c:
        rows, total = store.search(c, p.tenant_id, p.organizations_for("alerts.read"), state=state, severity=severity,
                                   organization_id=organization_id, device_id=device_id, since=since, limit=per_page,
                                   offset=(page - 1) * per_page, incident_id=incident_id)
    return [_out(r) for r in rows], total


def open_count(rt: Runtime, p: Principal) -> int:
    """Alerts nobody has acknowledged yet: the number in the header."""
    with rt.db.read() as c:
        return store.open_count(c, p.tenant_id, p.organizations_for("alerts.read"))


def listed(rt: Runtime, p: Principal, alert_id: int) -> dict[str, Any] | None:
    """One alert as the list shows it (with host and organization names), if the principal may see it."""
    with rt.db.read() as c:
        rows, _ = store.search(c, p.tenant_id, p.organizations_for("alerts.read"), state="all", severity="",
                               organization_id=None, device_id=None, since=None, limit=1, offset=0, alert_id=alert_id)
    return _out(rows[0]) if rows else None


def require_tenant_wide(p: Principal, what: str) -> None:
    """Channels and maintenance windows serve the whole tenant: changing them needs alerts.write for every
    organization, not only some."""
    if not p.can("alerts.write") or p.organizations_for("alerts.write") is not None:
        raise Forbidden(f"{what} are tenant-wide: you need alerts.write for every organization")
