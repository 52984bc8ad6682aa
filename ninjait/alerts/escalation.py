"""Escalation policies and weekly on-call rotations.

A policy applies to a tenant's new alerts of at least ``min_severity`` (unless raised in maintenance).
Its steps run in order while nobody acknowledges the alert: step *i* fires ``after_minutes`` after the
alert was raised and notifies a channel, a user (e-mail), or whoever is on call in a rotation (e-mail).
Acknowledging or resolving stops it. ``ack_target_minutes`` is the time-to-acknowledge the MSP
promises; each alert reports whether it was met.

A rotation hands over every 7 days from ``starts_at``: the on-call user is
``user_ids[weeks since starts_at % len(user_ids)]``.
"""

from __future__ import annotations

import json
import time
from typing import Any

from ninjait.alerts import channels, incidents
from ninjait.core.errors import Conflict, Invalid, NotFound
from ninjait.core.events import Event
from ninjait.core.runtime import Runtime
from ninjait.identity.principal import Actor, Principal

WEEK = 7 * 86400
RANK = {s: i for i, s in enumerate(channels.SEVERITIES)}
MAX_STEPS = 10


def on_call(rotation: dict[str, Any], now: float) -> int | None:
    users = json.loads(rotation["user_ids"]) if isinstance(rotation["user_ids"], str) else rotation["user_ids"]
    if not users or now < rotation["starts_at"]:
        return users[0] if users else None
    return int(users[int((now - rotation["starts_at"]) // WEEK) % len(users)])


def _require(p: Principal) -> None:
    from ninjait.alerts.service import require_tenant_wide

    require_tenant_wide(p, "escalation policies and on-call rotations")


def _users_exist(c: Any, tenant_id: int, user_ids: list[int]) -> bool:
    found = c.all(f"SELECT id FROM users WHERE tenant_id = ? AND id IN ({', '.join('?' for _ in user_ids)})",
                  (tenant_id, *user_ids))
    return len(found) == len(set(user_ids))


# --- rotations -------------------------------------------------------------------------------------

def create_rotation(rt: Runtime, p: Principal, actor: Actor, name: str, user_ids: list[int],
                    starts_at: int) -> dict[str, Any]:
    _require(p)
    name = name.strip()
    if not 1 <= len(name) <= 100:
        raise Invalid("name must be 1 to 100 characters", field="name")
    if not 1 <= len(user_ids) <= 52 or len(set(user_ids)) != len(user_ids):
        raise Invalid("give 1 to 52 different users, in turn order", field="user_ids")

    def write(c: Any) -> int:
        if not _users_exist(c, p.tenant_id, user_ids):
            raise Invalid("every user must be a user of this tenant", field="user_ids")
        if c.value("SELECT 1 FROM oncall_rotations WHERE tenant_id = ? AND name = ?", (p.tenant_id, name)):
            raise Conflict(f"a rotation named {name!r} exists", field="name")
        return int(c.value("INSERT INTO oncall_rotations (tenant_id, name, user_ids, starts_at, created_at) "
                           "VALUES (?, ?, ?, ?, ?) RETURNING id",
                           (p.tenant_id, name, json.dumps(user_ids), starts_at, int(time.time()))))

    rotation_id = rt.db.write(write)
    rt.bus.emit("oncall_rotation.created", p.tenant_id, actor.as_dict(), object_type="oncall_rotation",
                object_id=rotation_id, summary={"name": name, "users": user_ids})
    return get_rotation(rt, p, rotation_id)


def _rotation_out(row: dict[str, Any], now: float) -> dict[str, Any]:
    return {**row, "user_ids": json.loads(row["user_ids"]), "on_call_user_id": on_call(row, now)}


def get_rotation(rt: Runtime, p: Principal, rotation_id: int) -> dict[str, Any]:
    with rt.db.read() as c:
        row = c.one("SELECT id, name, user_ids, starts_at, created_at FROM oncall_rotations WHERE tenant_id = ? "
                    "AND id = ?", (p.tenant_id, rotation_id))
    if row is None:
        raise NotFound("on-call rotation not found")
    return _rotation_out(row, time.time())


def list_rotations(rt: Runtime, p: Principal) -> list[dict[str, Any]]:
    with rt.db.read() as c:
        rows = c.all("SELECT id, name, user_ids, starts_at, created_at FROM oncall_rotations WHERE tenant_id = ? "
                     "ORDER BY name", (p.tenant_id,))
    now = time.time()
    return [_rotation_out(r, now) for r in rows]


def delete_rotation(rt: Runtime, p: Principal, actor: Actor, rotation_id: int) -> None:
    _require(p)
    get_rotation(rt, p, rotation_id)
    rt.db.write(lambda c: c.execute("DELETE FROM oncall_rotations WHERE tenant_id = ? AND id = ?",
                                    (p.tenant_id, rotation_id)))
    rt.bus.emit("oncall_rotation.deleted", p.tenant_id, actor.as_dict(), object_type="oncall_rotation",
                object_id=rotation_id)


# --- policies ----------------------------------------------------------------------------------------

TARGETS = ("channel_id", "user_id", "rotation_id")
TARGET_TABLES = {"channel_id": "notification_channels", "user_id": "users", "rotation_id": "oncall_rotations"}


def _check_steps(c: Any, tenant_id: int, steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if not 1 <= len(steps) <= MAX_STEPS:
        raise Invalid(f"a policy has 1 to {MAX_STEPS} steps", field="steps")
    clean, last = [], -1
    for i, step in enumerate(steps):
        after = step.get("after_minutes")
        if not isinstance(after, int) or not 0 <= after <= 10080 or after < last:
            raise Invalid(f"steps[{i}].after_minutes must be 0 to 10080 and not earlier than the step before",
                          field="steps")
        named = [t for t in TARGETS if step.get(t) is not None]
        if len(named) != 1:
            raise Invalid(f"steps[{i}] names exactly one of channel_id, user_id, rotation_id", field="steps")
        target = named[0]
        if c.value(f"SELECT 1 FROM {TARGET_TABLES[target]} WHERE tenant_id = ? AND id = ?",
                   (tenant_id, step[target])) is None:
            raise Invalid(f"steps[{i}].{target} {step[target]} is not in this tenant", field="steps")
        clean.append({"after_minutes": after, target: int(step[target])})
        last = after
    return clean


def create_policy(rt: Runtime, p: Principal, actor: Actor, data: dict[str, Any]) -> dict[str, Any]:
    _require(p)
    name = str(data.get("name", "")).strip()
    if not 1 <= len(name) <= 100:
        raise Invalid("name must be 1 to 100 characters", field="name")
    severity = data.get("min_severity", "critical")
    if severity not in channels.SEVERITIES:
        raise Invalid(f"min_severity must be one of {', '.join(channels.SEVERITIES)}", field="min_severity")
    target = data.get("ack_target_minutes", 15)
    if not isinstance(target, int) or not 1 <= target <= 10080:
        raise Invalid("ack_target_minutes must be 1 to 10080", field="ack_target_minutes")

    def write(c: Any) -> int:
        steps = _check_steps(c, p.tenant_id, list(data.get("steps") or []))
        if c.value("SELECT 1 FROM escalation_policies WHERE tenant_id = ? AND name = ?", (p.tenant_id, name)):
            raise Conflict(f"a policy named {name!r} exists", field="name")
        return int(c.value(
            "INSERT INTO escalation_policies (tenant_id, name, min_severity, ack_target_minutes, steps, enabled, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (p.tenant_id, name, severity, target, json.dumps(steps), int(bool(data.get("enabled", True))),
             int(time.time()))))

    policy_id = rt.db.write(write)
    rt.bus.emit("escalation_policy.created", p.tenant_id, actor.as_dict(), object_type="escalation_policy",
                object_id=policy_id, summary={"name": name})
    return get_policy(rt, p, policy_id)


POLICY_COLUMNS = "id, name, min_severity, ack_target_minutes, steps, enabled, created_at"


def _policy_out(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "steps": json.loads(row["steps"]), "enabled": bool(row["enabled"])}


def get_policy(rt: Runtime, p: Principal, policy_id: int) -> dict[str, Any]:
    with rt.db.read() as c:
        row = c.one(f"SELECT {POLICY_COLUMNS} FROM escalation_policies WHERE tenant_id = ? AND id = ?",
                    (p.tenant_id, policy_id))
    if row is None:
        raise NotFound("escalation policy not found")
    return _policy_out(row)


def list_policies(rt: Runtime, p: Principal) -> list[dict[str, Any]]:
    with rt.db.read() as c:
        rows = c.all(f"SELECT {POLICY_COLUMNS} FROM escalation_policies WHERE tenant_id = ? ORDER BY name",
                     (p.tenant_id,))
    return [_policy_out(r) for r in rows]


def delete_policy(rt: Runtime, p: Principal, actor: Actor, policy_id: int) -> None:
    _require(p)
    get_policy(rt, p, policy_id)
    rt.db.write(lambda c: c.execute("DELETE FROM escalation_policies WHERE tenant_id = ? AND id = ?",
                                    (p.tenant_id, policy_id)))
    rt.bus.emit("escalation_policy.deleted", p.tenant_id, actor.as_dict(), object_type="escalation_policy",
                object_id=policy_id)


# --- running them --------------------------------------------------------------------------------------

def start(rt: Runtime, event: Event) -> None:
    """A new alert enters every enabled policy of its tenant whose severity it reaches."""
    alert_id = int(event.data["object_id"])

    def write(c: Any) -> None:
        alert = c.one("SELECT id, tenant_id, severity, first_at, in_maintenance, incident_id FROM alerts WHERE id = ?",
                      (alert_id,))
        if alert is None or alert["in_maintenance"] or incidents.folded(c, alert):
            return
        for policy in c.all("SELECT id, min_severity, steps FROM escalation_policies WHERE tenant_id = ? AND enabled = 1",
                            (alert["tenant_id"],)):
            if RANK[alert["severity"]] < RANK[policy["min_severity"]]:
                continue
            first = json.loads(policy["steps"])[0]
            c.execute("INSERT INTO alert_escalations (alert_id, policy_id, tenant_id, next_step, next_at) "
                      "VALUES (?, ?, ?, 0, ?) ON CONFLICT (alert_id, policy_id) DO NOTHING",
                      (alert_id, policy["id"], alert["tenant_id"], alert["first_at"] + first["after_minutes"] * 60))

    rt.db.write(write)


def advance(rt: Runtime, now: float | None = None) -> list[int]:
    """Fire every due step of every unacknowledged alert; returns the deliveries made. Stops the
    escalation of alerts someone acknowledged or that resolved."""
    from ninjait.alerts import notify

    at = int(time.time() if now is None else now)

    def write(c: Any) -> list[int]:
        made: list[int] = []
        due = c.all("SELECT e.alert_id, e.policy_id, e.next_step, a.state, a.first_at, p.steps, a.tenant_id "
                    "FROM alert_escalations e JOIN alerts a ON a.id = e.alert_id "
                    "JOIN escalation_policies p ON p.id = e.policy_id "
                    "WHERE e.next_at IS NOT NULL AND e.next_at <= ?", (at,))
        for row in due:
            steps = json.loads(row["steps"])
            if row["state"] != "triggered":
                c.execute("UPDATE alert_escalations SET next_at = NULL WHERE alert_id = ? AND policy_id = ?",
                          (row["alert_id"], row["policy_id"]))
                continue
            alert = notify._alert(c, row["alert_id"])
            step = steps[row["next_step"]]
            message = notify.message_for(rt, alert, "triggered")
            if "channel_id" in step:
                made.append(channels.enqueue(c, row["tenant_id"], step["channel_id"], row["alert_id"], message))
            else:
                user_id = step.get("user_id")
                if "rotation_id" in step:
                    rotation = c.one("SELECT user_ids, starts_at FROM oncall_rotations WHERE id = ?",
                                     (step["rotation_id"],))
                    user_id = on_call(rotation, at) if rotation else None
                email = c.value("SELECT email FROM users WHERE id = ? AND tenant_id = ? AND disabled = 0",
                                (user_id, row["tenant_id"])) if user_id else None
                if email:
                    made.append(channels.enqueue_direct(c, row["tenant_id"], row["alert_id"], "email", email, message))
            following = row["next_step"] + 1
            next_at = row["first_at"] + steps[following]["after_minutes"] * 60 if following < len(steps) else None
            c.execute("UPDATE alert_escalations SET next_step = ?, next_at = ? WHERE alert_id = ? AND policy_id = ?",
                      (following, next_at, row["alert_id"], row["policy_id"]))
        return made

    return rt.db.write(write)


def ack_report(rt: Runtime, p: Principal, alert: dict[str, Any]) -> list[dict[str, Any]]:
    """For each policy the alert entered: its target, and how long acknowledging took (or has taken so far)."""
    with rt.db.read() as c:
        rows = c.all("SELECT p.name, p.ack_target_minutes FROM alert_escalations e JOIN escalation_policies p "
                     "ON p.id = e.policy_id WHERE e.alert_id = ? AND e.tenant_id = ?", (alert["id"], p.tenant_id))
    took = (alert["acknowledged_at"] or time.time()) - alert["first_at"]
    acked = bool(alert["acknowledged_at"])
    return [{"policy": r["name"], "target_minutes": r["ack_target_minutes"], "acknowledged": acked,
             "minutes": round(took / 60, 1), "met": acked and took <= r["ack_target_minutes"] * 60,
             "breached": took > r["ack_target_minutes"] * 60} for r in rows]


def subscribe(rt: Runtime) -> None:
    rt.bus.subscribe("alert.triggered", lambda e: start(rt, e))
