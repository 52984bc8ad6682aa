"""Parent/child and related links between tickets, and merging one ticket into another.

Both tickets must be of the caller's tenant and visible with ``tickets.write`` (else 404, as everywhere).
A ticket has at most one parent and no ticket is its own ancestor. One link per pair of tickets.

Merging X into Y (the survivor), in one transaction: X's comments, time entries, attachments, devices and CCs
move to Y, X's children become Y's, an internal note on each says what happened, X is closed (the tenant's
first closed-type status) and keeps a pointer to Y. Tickets of different organizations are never merged: their
customers would see each other's conversation.
"""

from __future__ import annotations

import time
from typing import Any

from ninjait.core.errors import Conflict, Invalid, NotFound
from ninjait.core.runtime import Runtime
from ninjait.identity.principal import Actor, Principal
from ninjait.tickets import collab_store, service, store

KINDS = ("parent", "child", "related")
MAX_DEPTH = 100


def find(rt: Runtime, p: Principal, text: str, field: str) -> int:
    """The id of a ticket typed by a person: its number (T-1042, any case), the digits alone, or #id."""
    text = text.strip()
    with rt.db.read() as c:
        found = collab_store.id_by_number(c, p.tenant_id, text[:40]) if text else None
    if found is None and text.startswith("#") and text[1:].isdigit():
        found = int(text[1:])
    if found is None:
        raise Invalid(f"no ticket {text[:40]!r}: give its number, e.g. T-1042", field=field)
    return int(found)


def _ancestors(c: Any, tenant_id: int, ticket_id: int) -> set[int]:
    seen: set[int] = set()
    current = collab_store.parent_of(c, tenant_id, ticket_id)
    while current is not None and current not in seen and len(seen) < MAX_DEPTH:
        seen.add(current)
        current = collab_store.parent_of(c, tenant_id, current)
    return seen


def link(rt: Runtime, p: Principal, actor: Actor, ticket_id: int, other_id: int, kind: str,
         now: float | None = None) -> list[dict[str, Any]]:
    """``kind`` says what ``other_id`` is to ``ticket_id``: its parent, its child, or related."""
    at = int(time.time() if now is None else now)
    if kind not in KINDS:
        raise Invalid(f"kind must be one of {', '.join(KINDS)}", field="kind")

    def write(c: Any) -> list[dict[str, Any]]:
        ticket = service._visible(c, p, ticket_id, "tickets.write")
        if other_id == ticket_id:
            raise Invalid("a ticket cannot be linked to itself", field="other_id")
        try:
            other = service._visible(c, p, other_id, "tickets.write")
        except NotFound:
            raise Invalid(f"no ticket {other_id} you may change", field="other_id") from None
        if collab_store.link_between(c, p.tenant_id, ticket_id, other_id) is not None:
            raise Conflict(f"{ticket['number']} and {other['number']} are linked already: unlink them first",
                           field="other_id")
        if kind == "related":
            low, high = sorted((ticket_id, other_id))
            collab_store.add_link(c, p.tenant_id, low, high, "related", actor.user_id, at)
        else:
            child, parent = (ticket_id, other_id) if kind == "parent" else (other_id, ticket_id)
            if collab_store.parent_of(c, p.tenant_id, child) is not None:
                raise Conflict("that ticket has a parent already", field="other_id")
            if child in _ancestors(c, p.tenant_id, parent) | {parent}:
                raise Invalid("that link would make a ticket its own ancestor", field="other_id")
            collab_store.add_link(c, p.tenant_id, child, parent, "parent", actor.user_id, at)
        return collab_store.links_of(c, p.tenant_id, ticket_id, p.organizations_for("tickets.read"))

    links = rt.db.write(write)
    rt.bus.emit("ticket.linked", p.tenant_id, actor.as_dict(), object_type="ticket", object_id=ticket_id,
                summary={"ticket_id": ticket_id, "other_id": other_id, "kind": kind})
    return links


def unlink(rt: Runtime, p: Principal, actor: Actor, ticket_id: int, other_id: int) -> None:
    def write(c: Any) -> None:
        service._visible(c, p, ticket_id, "tickets.write")
        service._visible(c, p, other_id, "tickets.write")
        if collab_store.link_between(c, p.tenant_id, ticket_id, other_id) is None:
            raise NotFound("these tickets are not linked")
        collab_store.remove_link(c, p.tenant_id, ticket_id, other_id)

    rt.db.write(write)
    rt.bus.emit("ticket.unlinked", p.tenant_id, actor.as_dict(), object_type="ticket", object_id=ticket_id,
                summary={"ticket_id": ticket_id, "other_id": other_id})


def merge(rt: Runtime, p: Principal, actor: Actor, ticket_id: int, into_id: int,
          now: float | None = None) -> dict[str, Any]:
    """Merge ``ticket_id`` into ``into_id``; returns the survivor."""
    at = int(time.time() if now is None else now)

    def write(c: Any) -> tuple[dict[str, Any], dict[str, Any], dict[str, int], bool]:
        source = service._visible(c, p, ticket_id, "tickets.write")
        if into_id == ticket_id:
            raise Invalid("a ticket cannot be merged into itself", field="into_id")
        try:
            survivor = service._visible(c, p, into_id, "tickets.write")
        except NotFound:
            raise Invalid(f"no ticket {into_id} you may change", field="into_id") from None
        if collab_store.merged_into(c, p.tenant_id, ticket_id) is not None:
            raise Conflict(f"{source['number']} was merged already")
        if collab_store.merged_into(c, p.tenant_id, into_id) is not None:
            raise Invalid(f"{survivor['number']} was itself merged into another ticket", field="into_id")
        if survivor["organization_id"] != source["organization_id"]:
            raise Invalid("tickets of different organizations cannot be merged", field="into_id")
        moved = collab_store.move_ticket_rows(c, p.tenant_id, ticket_id, into_id)
        what = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in moved.items() if n) or "nothing to move"
        store.add_comment(c, p.tenant_id, into_id, "note", f"Merged {source['number']} ({source['subject']}) into "
                          f"this ticket: {what}.", actor.user_id, actor.email, at)
        store.add_comment(c, p.tenant_id, ticket_id, "note", f"Merged into {survivor['number']}.", actor.user_id,
                          actor.email, at)
        closed = store.first_status_of_type(c, p.tenant_id, "closed") or \
            store.first_status_of_type(c, p.tenant_id, "resolved")  # statuses are editable: a tenant may lack one
        changes: dict[str, Any] = {"updated_at": at}
        if closed is not None and closed["id"] != source["status_id"]:
            changes.update(status_id=closed["id"], resolved_at=source["resolved_at"] or at,
                           closed_at=(source["closed_at"] or at) if closed["type"] == "closed" else None)
            store.start_pause(c, p.tenant_id, ticket_id, at, closed["name"])
            store.transition(c, p.tenant_id, ticket_id, at, "status", source["status"], closed["name"],
                             actor.user_id, actor.email)
        store.update(c, p.tenant_id, ticket_id, changes)
        store.update(c, p.tenant_id, into_id, {"updated_at": at})
        collab_store.record_merge(c, p.tenant_id, ticket_id, into_id, actor.user_id, at)
        closes = source["status_type"] not in service.DONE_TYPES
        return store.get(c, p.tenant_id, ticket_id) or source, survivor, moved, closes

    source, survivor, moved, closes = rt.db.write(write)
    info = {"merged_id": ticket_id, "merged_number": source["number"], "into_id": into_id,
            "into_number": survivor["number"], "moved": moved}
    rt.bus.emit("ticket.merged", p.tenant_id, actor.as_dict(), object_type="ticket", object_id=ticket_id,
                summary=service.summary(source, **info))
    if closes:
        rt.bus.emit("ticket.closed", p.tenant_id, actor.as_dict(), object_type="ticket", object_id=ticket_id,
                    summary=service.summary(source))
    rt.bus.emit("ticket.updated", p.tenant_id, actor.as_dict(), object_type="ticket", object_id=into_id,
                summary=service.summary(survivor, changed=["merged"], **info))
    return service.get_ticket(rt, p, into_id)
