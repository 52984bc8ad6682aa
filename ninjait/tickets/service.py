"""Tickets: open, change, comment, and publish what happened.

A ticket belongs to one organization; who may see or change it follows the principal's organizations for
``tickets.read`` / ``tickets.write`` (an organization outside them answers 404, as if the ticket did not exist).
Changing the assignee needs ``tickets.assign`` too. Every change of status, assignee or priority is a transition;
the first public reply stamps ``first_response_at``; entering a resolved or closed status stamps ``resolved_at``
/ ``closed_at`` (leaving it clears them).

Events, after commit: ``ticket.created``, ``ticket.updated`` (also for comments), ``ticket.closed`` (the status
became of type resolved or closed). Their summary carries the ticket's id, number, organization, priority and
status.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any

from ninjait.core.errors import Forbidden, Invalid, NotFound
from ninjait.core.runtime import Runtime
from ninjait.devices import fields
from ninjait.identity.principal import Actor, Principal
from ninjait.tickets import collab_store, routing, search, sla_policies, store

PRIORITIES = ("P1", "P2", "P3", "P4")
SOURCES = ("web", "alert", "api", "email", "portal", "recurring")
PEOPLE_SOURCES = ("web", "api")
COMMENT_KINDS = ("reply", "note", "customer")
STATUS_TYPES = ("new", "open", "pending", "resolved", "closed")
DONE_TYPES = ("resolved", "closed")
# Pending waits on someone else; a resolved or closed ticket that is reopened must not be charged for the time
# it was done. Both are recorded as pause intervals of the resolution and next-response clocks.


SYSTEM_PERMISSIONS = frozenset({"tickets.read", "tickets.write", "tickets.assign"})


def system_principal(tenant_id: int) -> Principal:
    """Who the appliance acts as when alerts, e-mail or schedules open and change a tenant's tickets."""
    return Principal(user_id=0, tenant_id=tenant_id, email="system", name="system", is_super_admin=False,
                     everywhere=SYSTEM_PERMISSIONS)


def pauses_sla(status: dict[str, Any]) -> bool:
    """Done statuses always stop the clocks; a pending one unless the tenant turned that off for it."""
    return status["type"] in DONE_TYPES or (status["type"] == "pending" and bool(status["pauses_sla"]))


MAX_SUBJECT, MAX_TEXT, MAX_TAGS, MAX_DEVICES = 200, 20000, 20, 50


def _out(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "tags": json.loads(row["tags"] or "[]")}


def summary(t: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"ticket_id": t["id"], "number": t["number"], "organization_id": t["organization_id"],
            "priority": t["priority"], "status": t["status"], "status_type": t["status_type"],
            "subject": t["subject"], "alert_id": t["alert_id"], **extra}


def _text(value: Any, field: str, limit: int, required: bool = False) -> str:
    text = str(value or "").strip()
    if required and not text:
        raise Invalid(f"{field} is required", field=field)
    if len(text) > limit:
        raise Invalid(f"{field} is longer than {limit} characters", field=field)
    return text


def _tags(value: Any) -> str:
    tags = [str(t).strip().lower() for t in (value or []) if str(t).strip()]
    if len(tags) > MAX_TAGS or any(len(t) > 40 for t in tags):
        raise Invalid(f"at most {MAX_TAGS} tags of up to 40 characters", field="tags")
    return json.dumps(sorted(set(tags)))


def _due(value: Any) -> int | None:
    """A due time in epoch seconds (None or 0: none)."""
    if value in (None, 0):
        return None
    if not isinstance(value, int) or not 946684800 <= value <= 4102444800:  # 2000 .. 2100
        raise Invalid("due_at is a time in epoch seconds between 2000 and 2100 (0 clears it)", field="due_at")
    return value


def _stamp(epoch: int | None) -> str:
    return "" if epoch is None else dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _in_scope(p: Principal, permission: str, organization_id: int) -> bool:
    orgs = p.organizations_for(permission)
    return orgs is None or organization_id in orgs


def _visible(c: Any, p: Principal, ticket_id: int, permission: str = "tickets.read") -> dict[str, Any]:
    ticket = store.get(c, p.tenant_id, ticket_id)
    if ticket is None or not _in_scope(p, "tickets.read", ticket["organization_id"]) or \
            not _in_scope(p, permission, ticket["organization_id"]):
        raise NotFound("ticket not found")
    return ticket


def _check_devices(c: Any, tenant_id: int, organization_id: int, device_ids: list[int]) -> list[int]:
    ids = list(dict.fromkeys(int(d) for d in device_ids))
    if len(ids) > MAX_DEVICES:
        raise Invalid(f"at most {MAX_DEVICES} devices", field="device_ids")
    found = store.device_orgs(c, tenant_id, ids)
    for device_id in ids:
        if found.get(device_id) != organization_id:
            raise Invalid(f"device {device_id} is not a device of the ticket's organization", field="device_ids")
    return ids


def _check_assignee(c: Any, p: Principal, assignee_id: int | None, organization_id: int) -> None:
    if assignee_id is None:
        return
    if not p.can("tickets.assign", organization_id):
        raise Forbidden("assigning tickets needs tickets.assign")
    if store.user_in_tenant(c, p.tenant_id, assignee_id) is None:
        raise Invalid(f"no active user {assignee_id} in this tenant", field="assignee_id")


def _check_contact(c: Any, tenant_id: int, contact_id: int | None, organization_id: int) -> None:
    if contact_id is None:
        return
    if not store.contact_in_organization(c, tenant_id, contact_id, organization_id):
        raise Invalid(f"contact {contact_id} is not a contact of the ticket's organization", field="contact_id")


def _status_stamps(kind: str, before: dict[str, Any] | None, at: int) -> dict[str, Any]:
    """resolved_at / closed_at follow the status type: set on entering (kept if already set), cleared on reopening."""
    before = before or {}
    if kind == "closed":
        return {"resolved_at": before.get("resolved_at") or at, "closed_at": before.get("closed_at") or at}
    if kind == "resolved":
        return {"resolved_at": before.get("resolved_at") or at, "closed_at": None}
    return {"resolved_at": None, "closed_at": None}


def create_ticket(rt: Runtime, p: Principal, actor: Actor, data: dict[str, Any], *,
                  source: str = "web", alert_id: int | None = None, now: float | None = None) -> dict[str, Any]:
    at = int(time.time() if now is None else now)
    subject = _text(data.get("subject"), "subject", MAX_SUBJECT, required=True)
    description = _text(data.get("description"), "description", MAX_TEXT)
    category = _text(data.get("category"), "category", 100)
    priority = data.get("priority") or "P3"
    if priority not in PRIORITIES:
        raise Invalid(f"priority must be one of {', '.join(PRIORITIES)}", field="priority")
    if source not in SOURCES:
        raise Invalid(f"source must be one of {', '.join(SOURCES)}", field="source")
    organization_id = data.get("organization_id")
    if not isinstance(organization_id, int):
        raise Invalid("organization_id is required", field="organization_id")
    if not _in_scope(p, "tickets.write", organization_id):
        raise Invalid(f"no organization {organization_id} you may open tickets for", field="organization_id")
    tags = _tags(data.get("tags"))
    due_at = _due(data.get("due_at"))

    def write(c: Any) -> int:
        if not store.organization_exists(c, p.tenant_id, organization_id):
            raise Invalid(f"no organization {organization_id} in this tenant", field="organization_id")
        _check_assignee(c, p, data.get("assignee_id"), organization_id)
        _check_contact(c, p.tenant_id, data.get("contact_id"), organization_id)
        devices = _check_devices(c, p.tenant_id, organization_id, list(data.get("device_ids") or []))
        store.ensure_statuses(c, p.tenant_id)
        if data.get("status_id") is not None:
            status = store.status(c, p.tenant_id, data["status_id"])
            if status is None:
                raise Invalid(f"no status {data['status_id']} in this tenant", field="status_id")
        else:
            status = store.first_status_of_type(c, p.tenant_id, "new") or store.statuses(c, p.tenant_id)[0]
        ticket_id = store.insert(c, {
            "tenant_id": p.tenant_id, "number": store.next_number(c, p.tenant_id), "organization_id": organization_id,
            "contact_id": data.get("contact_id"), "subject": subject, "description": description,
            "status_id": status["id"], "priority": priority, "category": category,
            "assignee_id": data.get("assignee_id"), "source": source, "tags": tags, "alert_id": alert_id,
            "created_by": actor.user_id, "created_at": at, "due_at": due_at})
        store.update(c, p.tenant_id, ticket_id, {
            **_status_stamps(status["type"], None, at),
            "sla_policy_id": store.matching_policy(c, p.tenant_id, organization_id, priority)})
        if pauses_sla(status):
            store.start_pause(c, p.tenant_id, ticket_id, at, status["name"])
        store.set_devices(c, p.tenant_id, ticket_id, devices)
        # People must fill the required fields; alerts and schedules open tickets without them.
        store.set_custom_values(c, p.tenant_id, ticket_id, fields.clean_values(
            c, p.tenant_id, dict(data.get("custom_fields") or {}), complete=source in PEOPLE_SOURCES,
            applies_to="ticket"))
        store.transition(c, p.tenant_id, ticket_id, at, "status", "", status["name"], actor.user_id, actor.email)
        routing.after_create(c, p, actor, ticket_id, data, at)  # queue, team, routing rules
        return ticket_id

    ticket_id = rt.db.write(write)
    ticket = get_ticket(rt, p, ticket_id)
    rt.bus.emit("ticket.created", p.tenant_id, actor.as_dict(), object_type="ticket", object_id=ticket_id,
                summary=summary(ticket, source=source))
    return ticket


def update_ticket(rt: Runtime, p: Principal, actor: Actor, ticket_id: int, data: dict[str, Any],
                  now: float | None = None) -> dict[str, Any]:
    """Change the given fields (absent or None: unchanged; ``unassign`` true clears the assignee)."""
    at = int(time.time() if now is None else now)
    changes: dict[str, Any] = {}
    if data.get("subject") is not None:
        changes["subject"] = _text(data["subject"], "subject", MAX_SUBJECT, required=True)
    if data.get("description") is not None:
        changes["description"] = _text(data["description"], "description", MAX_TEXT)
    if data.get("category") is not None:
        changes["category"] = _text(data["category"], "category", 100)
    if data.get("priority") is not None and data["priority"] not in PRIORITIES:
        raise Invalid(f"priority must be one of {', '.join(PRIORITIES)}", field="priority")
    if data.get("tags") is not None:
        changes["tags"] = _tags(data["tags"])
    if data.get("due_at") is not None:
        changes["due_at"] = _due(data["due_at"])

    def write(c: Any) -> tuple[dict[str, Any], bool]:
        before = _visible(c, p, ticket_id, "tickets.write")
        org = before["organization_id"]
        moves: list[tuple[str, str, str]] = []
        if data.get("priority") is not None and data["priority"] != before["priority"]:
            changes["priority"] = data["priority"]
            changes["sla_policy_id"] = store.matching_policy(c, p.tenant_id, org, data["priority"])
            moves.append(("priority", before["priority"], data["priority"]))
        if data.get("unassign"):
            new_assignee = None
        else:
            new_assignee = data["assignee_id"] if data.get("assignee_id") is not None else before["assignee_id"]
        if new_assignee != before["assignee_id"]:
            if not p.can("tickets.assign", org):
                raise Forbidden("assigning tickets needs tickets.assign")
            _check_assignee(c, p, new_assignee, org)
            changes["assignee_id"] = new_assignee
            names = [store.user_in_tenant(c, p.tenant_id, u) if u else None for u in (before["assignee_id"],
                                                                                     new_assignee)]
            moves.append(("assignee", *(n["email"] if n else "" for n in names)))  # type: ignore[arg-type]
        if data.get("contact_id") is not None:
            _check_contact(c, p.tenant_id, data["contact_id"], org)
            changes["contact_id"] = data["contact_id"]
        closed = False
        if data.get("status_id") is not None and data["status_id"] != before["status_id"]:
            status = store.status(c, p.tenant_id, data["status_id"])
            if status is None:
                raise Invalid(f"no status {data['status_id']} in this tenant", field="status_id")
            changes["status_id"] = status["id"]
            changes.update(_status_stamps(status["type"], before, at))
            moves.append(("status", before["status"], status["name"]))
            closed = status["type"] in DONE_TYPES and status["type"] != before["status_type"]
            if pauses_sla(status):
                store.start_pause(c, p.tenant_id, ticket_id, at, status["name"])
            else:
                store.end_pause(c, ticket_id, at)
        if "due_at" in changes and changes["due_at"] != before["due_at"]:
            moves.append(("due", *(_stamp(x) for x in (before["due_at"], changes["due_at"]))))
        if data.get("device_ids") is not None:
            store.set_devices(c, p.tenant_id, ticket_id, _check_devices(c, p.tenant_id, org, data["device_ids"]))
        if data.get("custom_fields"):
            store.set_custom_values(c, p.tenant_id, ticket_id, fields.clean_values(
                c, p.tenant_id, dict(data["custom_fields"]), complete=False, applies_to="ticket"))
            changes["custom_fields"] = sorted(data["custom_fields"])
        changes["updated_at"] = at
        store.update(c, p.tenant_id, ticket_id, changes)
        for field, old, new in moves:
            store.transition(c, p.tenant_id, ticket_id, at, field, old, new, actor.user_id, actor.email)
        changes.update(routing.after_update(c, p, actor, ticket_id, data, at))  # queue, team, on-update rules
        return store.get(c, p.tenant_id, ticket_id) or before, closed

    ticket, closed = rt.db.write(write)
    changed = sorted(k for k in changes if k != "updated_at")
    rt.bus.emit("ticket.updated", p.tenant_id, actor.as_dict(), object_type="ticket", object_id=ticket_id,
                summary=summary(ticket, changed=changed))
    if closed:
        rt.bus.emit("ticket.closed", p.tenant_id, actor.as_dict(), object_type="ticket", object_id=ticket_id,
                    summary=summary(ticket))
    return get_ticket(rt, p, ticket_id)


def add_comment(rt: Runtime, p: Principal, actor: Actor, ticket_id: int, kind: str, body: str,
                now: float | None = None) -> dict[str, Any]:
    at = int(time.time() if now is None else now)

    def write(c: Any) -> dict[str, Any]:
        ticket = _visible(c, p, ticket_id, "tickets.write")  # first: others' tickets answer 404 whatever the body
        if kind not in COMMENT_KINDS:
            raise Invalid(f"kind must be one of {', '.join(COMMENT_KINDS)}", field="kind")
        text = _text(body, "body", MAX_TEXT, required=True)
        comment_id = store.add_comment(c, p.tenant_id, ticket_id, kind, text, actor.user_id, actor.email, at)
        stamps: dict[str, Any] = {"updated_at": at}
        if kind == "reply" and actor.user_id is not None:
            stamps["awaiting_reply_since"] = None
            if ticket["first_response_at"] is None:
                stamps["first_response_at"] = at
        if kind == "customer" and ticket["awaiting_reply_since"] is None:
            # A new round of the next-response clock: its warnings may be published again.
            stamps["awaiting_reply_since"] = at
            stamps["sla_notified"] = ",".join(k for k in ticket["sla_notified"].split(",")
                                              if k and not k.startswith("next_response:"))
        store.update(c, p.tenant_id, ticket_id, stamps)
        return {"id": comment_id, "kind": kind, "body": text, "author_id": actor.user_id, "author": actor.email,
                "created_at": at, "ticket": ticket}

    comment = rt.db.write(write)
    ticket = comment.pop("ticket")
    rt.bus.emit("ticket.updated", p.tenant_id, actor.as_dict(), object_type="ticket", object_id=ticket_id,
                summary=summary(ticket, comment_id=comment["id"], comment_kind=kind))
    return comment


def get_ticket(rt: Runtime, p: Principal, ticket_id: int) -> dict[str, Any]:
    with rt.db.read() as c:
        ticket = _visible(c, p, ticket_id)
        clocks = sla_policies.clocks_by_ticket(c, p.tenant_id, [ticket], time.time())
        return {**_out(ticket), "sla": clocks.get(ticket_id, []), "devices": store.devices(c, p.tenant_id, ticket_id),
                "custom_fields": store.custom_values(c, p.tenant_id, ticket_id),
                "emails": store.outbound_mail(c, p.tenant_id, ticket_id),
                "comments": store.comments(c, p.tenant_id, ticket_id),
                "transitions": store.transitions(c, p.tenant_id, ticket_id),
                **collab_store.detail_extras(c, p.tenant_id, ticket_id, p.organizations_for("tickets.read"))}


VIEWS = ("open", "mine", "unassigned", "breaching", "all")
BREACHING_WITHIN = 4 * 3600  # "breaching soon": a clock due within four hours, warning or breached
BREACHING_SCAN = 5000


def list_tickets(rt: Runtime, p: Principal, *, view: str = "", status_id: int | None = None,
                 status_type: str = "", priority: str = "", organization_id: int | None = None,
                 assignee_id: int | None = None, contact_id: int | None = None, queue_id: int | None = None,
                 team_id: int | None = None, page: int = 1, per_page: int = 50,
                 q: str = "") -> tuple[list[dict[str, Any]], int]:
    """``view``: open (not resolved or closed), mine (open, assigned to me), unassigned (open), breaching (open,
    an SLA clock warning, breached or due within four hours; most urgent first), all; without a view: open, or
    all when searching. ``q``: full-text search (search.py): best match first, each with a snippet."""
    view = view or ("all" if q.strip() else "open")
    if view not in VIEWS:
        raise Invalid(f"view must be one of {', '.join(VIEWS)}", field="view")
    if status_type and status_type not in STATUS_TYPES:
        raise Invalid(f"status_type must be one of {', '.join(STATUS_TYPES)}", field="status_type")
    if priority and priority not in PRIORITIES:
        raise Invalid(f"priority must be one of {', '.join(PRIORITIES)}", field="priority")
    if not 1 <= per_page <= 500 or page < 1:
        raise Invalid("page starts at 1 and per_page is 1 to 500", field="per_page")
    filters = {"open_only": view != "all" and not status_id and not status_type, "unassigned": view == "unassigned",
               "assignee_id": p.user_id if view == "mine" else assignee_id, "status_id": status_id,
               "status_type": status_type or None, "priority": priority or None, "organization_id": organization_id,
               "contact_id": contact_id, "queue_id": queue_id, "team_id": team_id, "with_sla": view == "breaching"}
    now = time.time()
    orgs = p.organizations_for("tickets.read")
    with rt.db.read() as c:
        if view == "breaching":
            if q.strip():
                filters["ids"] = list(search.ranked(c, p.tenant_id, orgs, q))
            rows, _ = store.search(c, p.tenant_id, orgs, filters, BREACHING_SCAN, 0)
        elif q.strip():
            rows, total = search.page_of(c, p.tenant_id, orgs, q, filters, page, per_page)
        else:
            rows, total = store.search(c, p.tenant_id, orgs, filters, per_page, (page - 1) * per_page)
        clocks = sla_policies.clocks_by_ticket(c, p.tenant_id, rows, now)
    listed = [{**_out(r), "sla": clocks.get(r["id"], [])} for r in rows]
    if view == "breaching":
        urgent = sorted(((u, t) for t in listed if (u := _urgency(t["sla"], now)) is not None), key=lambda x: x[0])
        total = len(urgent)
        listed = [t for _, t in urgent[(page - 1) * per_page:page * per_page]]
    return listed, total


def _urgency(clocks: list[dict[str, Any]], now: float) -> tuple[int, float] | None:
    """Sort key of a ticket for the breaching view (breached first, then the soonest due), or None if calm."""
    live = [c for c in clocks if c["state"] != "met"]
    if any(c["state"] == "breached" for c in live):
        return 0, 0.0
    due = [c["due_at"] for c in live if c["due_at"] is not None and (c["state"] == "warning" or
                                                                    c["due_at"] - now <= BREACHING_WITHIN)]
    return (1, min(due)) if due else None


def list_statuses(rt: Runtime, p: Principal) -> list[dict[str, Any]]:
    with rt.db.read() as c:
        rows = store.statuses(c, p.tenant_id)
    if rows:
        return rows

    def seed(c: Any) -> list[dict[str, Any]]:
        store.ensure_statuses(c, p.tenant_id)
        return store.statuses(c, p.tenant_id)

    return rt.db.write(seed)
