"""What a tenant configures of its service desk: the statuses (name, type, order, whether a pending one pauses
the SLA) and the ticket number (prefix and next number).

Both are tenant-wide: changing them needs tickets.write for every organization. A tenant always keeps a status
of type new (new tickets start there) and one of type resolved or closed; a status in use cannot be deleted or
change its type (move its tickets first).
"""

from __future__ import annotations

import re
import time
from typing import Any

from ninjait.core.errors import Conflict, Invalid, NotFound
from ninjait.core.runtime import Runtime
from ninjait.identity.principal import Actor, Principal
from ninjait.tickets import service, store

PREFIX = re.compile(r"^[A-Za-z0-9#_/.-]{0,10}$")
MAX_STATUSES = 30


def _status_fields(data: dict[str, Any], before: dict[str, Any] | None) -> dict[str, Any]:
    before = before or {}
    name = str(data.get("name") if data.get("name") is not None else before.get("name", "")).strip()
    if not 1 <= len(name) <= 60:
        raise Invalid("name must be 1 to 60 characters", field="name")
    kind = data.get("type") or before.get("type")
    if kind not in service.STATUS_TYPES:
        raise Invalid(f"type must be one of {', '.join(service.STATUS_TYPES)}", field="type")
    position = data.get("position")
    position = before.get("position", 0) if position is None else position
    if not isinstance(position, int) or not 0 <= position <= 1000:
        raise Invalid("position is 0 to 1000 (lower first)", field="position")
    pauses = data.get("pauses_sla")
    pauses = bool(before.get("pauses_sla", kind == "pending")) if pauses is None else bool(pauses)
    if pauses and kind != "pending":
        raise Invalid("only pending-type statuses can choose to pause the SLA (resolved and closed always do)",
                      field="pauses_sla")
    return {"name": name, "type": kind, "position": position, "pauses_sla": pauses}


def _keep_required_types(c: Any, tenant_id: int) -> None:
    kinds = {s["type"] for s in store.statuses(c, tenant_id)}
    if "new" not in kinds:
        raise Conflict("keep at least one status of type new: new tickets start there")
    if not kinds & {"resolved", "closed"}:
        raise Conflict("keep at least one status of type resolved or closed")


def _repause(c: Any, tenant_id: int, status: dict[str, Any], at: int) -> None:
    """Tickets sitting in a status whose pausing changed start or end their pause now."""
    for ticket_id in store.tickets_in_status(c, tenant_id, status["id"]):
        if service.pauses_sla(status):
            store.start_pause(c, tenant_id, ticket_id, at, status["name"])
        else:
            store.end_pause(c, ticket_id, at)


def create_status(rt: Runtime, p: Principal, actor: Actor, data: dict[str, Any]) -> dict[str, Any]:
    p.require_everywhere("tickets.write", "statuses and ticket numbers are tenant-wide")
    fields = _status_fields(data, None)

    def write(c: Any) -> int:
        store.ensure_statuses(c, p.tenant_id)
        if len(store.statuses(c, p.tenant_id)) >= MAX_STATUSES:
            raise Conflict(f"at most {MAX_STATUSES} statuses")
        if store.status_name_taken(c, p.tenant_id, fields["name"]):
            raise Conflict(f"a status named {fields['name']!r} exists")
        return store.insert_status(c, p.tenant_id, fields["name"], fields["type"], fields["position"],
                                   fields["pauses_sla"])

    status_id = rt.db.write(write)
    rt.bus.emit("ticket_status.created", p.tenant_id, actor.as_dict(), object_type="ticket_status",
                object_id=status_id, summary=fields)
    return get_status(rt, p, status_id)


def get_status(rt: Runtime, p: Principal, status_id: int) -> dict[str, Any]:
    with rt.db.read() as c:
        row = store.status(c, p.tenant_id, status_id)
    if row is None:
        raise NotFound("status not found")
    return row


def update_status(rt: Runtime, p: Principal, actor: Actor, status_id: int, data: dict[str, Any],
                  now: float | None = None) -> dict[str, Any]:
    at = int(time.time() if now is None else now)
    get_status(rt, p, status_id)
    p.require_everywhere("tickets.write", "statuses and ticket numbers are tenant-wide")

    def write(c: Any) -> dict[str, Any]:
        before = store.status(c, p.tenant_id, status_id)
        if before is None:
            raise NotFound("status not found")
        fields = _status_fields(data, before)
        if fields["type"] != before["type"] and store.tickets_in_status(c, p.tenant_id, status_id):
            raise Conflict("tickets are in this status: move them before changing its type")
        if store.status_name_taken(c, p.tenant_id, fields["name"], status_id):
            raise Conflict(f"a status named {fields['name']!r} exists")
        store.update_status(c, p.tenant_id, status_id, fields["name"], fields["type"], fields["position"],
                            fields["pauses_sla"])
        _keep_required_types(c, p.tenant_id)
        after = {**before, **fields}
        if service.pauses_sla(after) != service.pauses_sla(before):
            _repause(c, p.tenant_id, after, at)
        return {k: v for k, v in fields.items() if before[k] != v and not (k == "pauses_sla" and bool(before[k]) == v)}

    changed = rt.db.write(write)
    rt.bus.emit("ticket_status.updated", p.tenant_id, actor.as_dict(), object_type="ticket_status",
                object_id=status_id, summary={"changed": changed})
    return get_status(rt, p, status_id)


def delete_status(rt: Runtime, p: Principal, actor: Actor, status_id: int) -> None:
    status = get_status(rt, p, status_id)
    p.require_everywhere("tickets.write", "statuses and ticket numbers are tenant-wide")

    def write(c: Any) -> None:
        used = len(store.tickets_in_status(c, p.tenant_id, status_id))
        if used:
            raise Conflict(f"{used} ticket{'s are' if used > 1 else ' is'} in this status: move them first")
        store.delete_status(c, p.tenant_id, status_id)
        _keep_required_types(c, p.tenant_id)

    rt.db.write(write)
    rt.bus.emit("ticket_status.deleted", p.tenant_id, actor.as_dict(), object_type="ticket_status",
                object_id=status_id, summary={"name": status["name"], "type": status["type"]})


def get_numbering(rt: Runtime, p: Principal) -> dict[str, Any]:
    return rt.db.write(lambda c: store.numbering(c, p.tenant_id))


def save_numbering(rt: Runtime, p: Principal, actor: Actor, data: dict[str, Any]) -> dict[str, Any]:
    """A new prefix applies to new tickets; old ones keep their numbers. The next number must lie above every
    number already given under that prefix, so no number is ever given twice."""
    p.require_everywhere("tickets.write", "statuses and ticket numbers are tenant-wide")
    prefix = str(data.get("prefix") if data.get("prefix") is not None else "").strip()
    if not PREFIX.match(prefix):
        raise Invalid("prefix is up to 10 letters, digits or # _ / . -", field="prefix")

    def write(c: Any) -> dict[str, Any]:
        before = store.numbering(c, p.tenant_id)
        wanted = data.get("next_number")
        wanted = before["next_number"] if wanted is None else wanted
        if not isinstance(wanted, int) or not 1 <= wanted <= 10**12:
            raise Invalid("next_number is a whole number from 1", field="next_number")
        used = store.highest_number(c, p.tenant_id, prefix)
        if wanted <= used:
            raise Invalid(f"tickets up to {prefix}{used} exist: next_number must be above {used}",
                          field="next_number")
        store.save_numbering(c, p.tenant_id, prefix, wanted)
        return {"prefix": prefix, "next_number": wanted}

    row = rt.db.write(write)
    rt.bus.emit("ticket_numbering.updated", p.tenant_id, actor.as_dict(), object_type="ticket_numbering",
                object_id=p.tenant_id, summary=row)
    return row
