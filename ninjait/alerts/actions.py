"""Actions on alerts (self-healing): when an alert with a device is raised or resolved and an action of
its tenant matches (rule, severity), a script is queued on that device through the agents' command
channel, signed like any command, and the alert's timeline says so.

Creating an action needs alerts.write and devices.write for every organization: it runs scripts on
any device of the tenant, with no one at the keyboard.
"""

from __future__ import annotations

import time
from typing import Any

from ninjait.alerts import store
from ninjait.core.errors import Conflict, Forbidden, Invalid, NotFound, ServiceError
from ninjait.core.events import Event
from ninjait.core.runtime import Runtime
from ninjait.identity.principal import Actor, Principal

EVENTS = ("triggered", "resolved")
SEVERITIES = ("info", "warning", "critical")
COLUMNS = ("id, name, rule, on_event, min_severity, interpreter, script, timeout_seconds, enabled, created_by, "
           "created_at")


def _require(p: Principal) -> None:
    if any(not p.can(perm) or p.organizations_for(perm) is not None for perm in ("alerts.write", "devices.write")):
        raise Forbidden("actions run scripts on any device: you need alerts.write and devices.write everywhere")


def create_action(rt: Runtime, p: Principal, actor: Actor, data: dict[str, Any]) -> dict[str, Any]:
    _require(p)
    name = str(data.get("name", "")).strip()
    if not 1 <= len(name) <= 100:
        raise Invalid("name must be 1 to 100 characters", field="name")
    if data.get("on_event") not in EVENTS:
        raise Invalid("on_event must be triggered or resolved", field="on_event")
    if data.get("min_severity", "info") not in SEVERITIES:
        raise Invalid(f"min_severity must be one of {', '.join(SEVERITIES)}", field="min_severity")
    from ninjait.agents.service import check_command

    timeout = data.get("timeout_seconds", 300)
    script = str(data.get("script", ""))
    # The same rules as a script a technician queues by hand.
    check_command("run_script", {"interpreter": data.get("interpreter"), "script": script, "timeout": timeout}, 3600,
                  None)
    rule = str(data.get("rule", "")).strip()[:200]

    def write(c: Any) -> int:
        if c.value("SELECT 1 FROM alert_actions WHERE tenant_id = ? AND name = ?", (p.tenant_id, name)):
            raise Conflict(f"an action named {name!r} exists", field="name")
        return int(c.value(
            "INSERT INTO alert_actions (tenant_id, name, rule, on_event, min_severity, interpreter, script, "
            "timeout_seconds, enabled, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (p.tenant_id, name, rule, data["on_event"], data.get("min_severity", "info"), data["interpreter"], script,
             timeout, int(bool(data.get("enabled", True))), actor.user_id, int(time.time()))))

    action_id = rt.db.write(write)
    rt.bus.emit("alert_action.created", p.tenant_id, actor.as_dict(), object_type="alert_action", object_id=action_id,
                summary={"name": name, "rule": rule, "on_event": data["on_event"]})
    return get_action(rt, p, action_id)


def _out(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "enabled": bool(row["enabled"])}


def get_action(rt: Runtime, p: Principal, action_id: int) -> dict[str, Any]:
    with rt.db.read() as c:
        row = c.one(f"SELECT {COLUMNS} FROM alert_actions WHERE tenant_id = ? AND id = ?", (p.tenant_id, action_id))
    if row is None:
        raise NotFound("alert action not found")
    return _out(row)


def list_actions(rt: Runtime, p: Principal) -> list[dict[str, Any]]:
    with rt.db.read() as c:
        return [_out(r) for r in c.all(f"SELECT {COLUMNS} FROM alert_actions WHERE tenant_id = ? ORDER BY name",
                                       (p.tenant_id,))]


def delete_action(rt: Runtime, p: Principal, actor: Actor, action_id: int) -> None:
    _require(p)
    get_action(rt, p, action_id)
    rt.db.write(lambda c: c.execute("DELETE FROM alert_actions WHERE tenant_id = ? AND id = ?", (p.tenant_id, action_id)))
    rt.bus.emit("alert_action.deleted", p.tenant_id, actor.as_dict(), object_type="alert_action", object_id=action_id)


def _tenant_system(tenant_id: int) -> Principal:
    from ninjait.identity.permissions import PERMISSIONS

    return Principal(user_id=0, tenant_id=tenant_id, email="alert action", name="alert action",
                     is_super_admin=False, everywhere=frozenset(PERMISSIONS))


def run(rt: Runtime, event: Event) -> list[int]:
    """Queue the matching actions' scripts on the alert's device; returns the command ids."""
    from ninjait.agents import service as agents

    which = "triggered" if event.name == "alert.triggered" else "resolved"
    alert_id = int(event.data["object_id"])
    with rt.db.read() as c:
        alert = c.one("SELECT id, tenant_id, rule, severity, device_id FROM alerts WHERE id = ?", (alert_id,))
        if alert is None or alert["device_id"] is None:
            return []
        chosen = c.all(f"SELECT {COLUMNS} FROM alert_actions WHERE tenant_id = ? AND enabled = 1 AND on_event = ? "
                       "AND (rule = '' OR rule = ?) ORDER BY id", (alert["tenant_id"], which, alert["rule"]))
    commands = []
    for action in chosen:
        if SEVERITIES.index(alert["severity"]) < SEVERITIES.index(action["min_severity"]):
            continue
        actor = Actor(user_id=None, email=f"alert action {action['name']}")
        try:
            cmd = agents.queue_command(rt, _tenant_system(alert["tenant_id"]), actor, alert["device_id"], "run_script",
                                       {"interpreter": action["interpreter"], "script": action["script"],
                                        "timeout": action["timeout_seconds"]})
            note = f"action {action['name']}: queued command {cmd['id']}"
            commands.append(int(cmd["id"]))
        except ServiceError as exc:
            note = f"action {action['name']}: not run: {exc.message}"
        rt.db.write(lambda c, n=note: store.transition(c, alert["tenant_id"], alert_id, "action", int(time.time()),
                                                       actor="system", note=n))
    return commands


def subscribe(rt: Runtime) -> None:
    for name in ("alert.triggered", "alert.resolved"):
        rt.bus.subscribe(name, lambda e: run(rt, e))
