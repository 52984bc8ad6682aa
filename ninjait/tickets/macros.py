"""Canned responses (reply texts with placeholders) and macros (several changes and a reply in one click).

A canned response's body is a Jinja template rendered in a sandbox (no attribute starting with ``_``, no
access to Python internals) over plain values: ``ticket`` (number, subject, status, priority, category,
organization, queue, team, assignee), ``contact`` (name, email, phone), ``organization`` (name) and ``user`` (the
person applying it: name, email). An unknown name renders as nothing. A body is test-rendered when saved, so a
broken template is refused then (400 naming ``body``).

A macro sets any of status, priority, assignee (or unassigns), team, queue, adds tags, and may add a reply or an
internal note (its own text or a canned response, rendered against the ticket as the macro left it). Applying
it is one transaction: if any part fails (say the assignee was disabled since, or the canned response deleted)
nothing of it is kept. The changes are recorded and published like changes by hand (transitions,
``ticket.updated``), only after the commit.
"""

from __future__ import annotations

import json
from typing import Any

from jinja2 import TemplateError
from jinja2.sandbox import SandboxedEnvironment

from ninjait.core.errors import Invalid, NotFound
from ninjait.core.runtime import Runtime
from ninjait.identity.principal import Actor, Principal
from ninjait.tickets import setting_rows as settings, routing_store as rs, service, store, teams
from ninjait.tickets.one_transaction import InTransaction

MAX_TEXT = service.MAX_TEXT
SANDBOX = SandboxedEnvironment(autoescape=False)  # plain text: the pages escape comments when they show them
SAMPLE = {"ticket": {"number": "T-1001", "subject": "Printer", "status": "Open", "priority": "P3", "category": "",
                     "organization": "Customer", "queue": "", "team": "", "assignee": ""},
          "contact": {"name": "Ann", "email": "ann@example.com", "phone": ""}, "organization": {"name": "Customer"},
          "user": {"name": "Tech", "email": "tech@example.com"}}


def render(body: str, context: dict[str, Any]) -> str:
    try:
        text = SANDBOX.from_string(body).render(context)
    except TemplateError as exc:
        raise Invalid(f"body cannot be rendered: {exc.message or type(exc).__name__}", field="body") from None
    if len(text) > MAX_TEXT:
        raise Invalid(f"body renders longer than {MAX_TEXT} characters", field="body")
    return text


def _checked_body(value: Any) -> str:
    body = str(value or "")
    if not body.strip() or len(body) > MAX_TEXT:
        raise Invalid(f"body must be 1 to {MAX_TEXT} characters", field="body")
    render(body, SAMPLE)
    return body


def context_of(ticket: dict[str, Any], contact: dict[str, Any] | None, p: Principal) -> dict[str, Any]:
    return {"ticket": {"number": ticket["number"], "subject": ticket["subject"], "status": ticket["status"],
                       "priority": ticket["priority"], "category": ticket["category"],
                       "organization": ticket["organization_name"] or "", "queue": ticket.get("queue_name") or "",
                       "team": ticket.get("team_name") or "", "assignee": ticket["assignee_name"] or ""},
            "contact": {k: (contact or {}).get(k, "") for k in ("name", "email", "phone")},
            "organization": {"name": ticket["organization_name"] or ""}, "user": {"name": p.name, "email": p.email}}


def _render_for(c: Any, p: Principal, ticket: dict[str, Any], body: str) -> str:
    contact = store.contact(c, p.tenant_id, ticket["contact_id"]) if ticket["contact_id"] else None
    return render(body, context_of(ticket, contact, p))


# --- canned responses -------------------------------------------------------------------------------------

def list_canned(rt: Runtime, p: Principal) -> list[dict[str, Any]]:
    return settings.rows(rt, p, "canned")


def get_canned(rt: Runtime, p: Principal, canned_id: int) -> dict[str, Any]:
    return settings.get(rt, p, "canned", canned_id)


def save_canned(rt: Runtime, p: Principal, actor: Actor, data: dict[str, Any], canned_id: int | None = None) -> dict[str, Any]:
    values = {"title": teams.name_of(data, "title", 200), "body": _checked_body(data.get("body"))}
    return get_canned(rt, p, settings.save(rt, p, actor, "canned", lambda c: values, canned_id))


def delete_canned(rt: Runtime, p: Principal, actor: Actor, canned_id: int) -> None:
    settings.delete(rt, p, actor, "canned", canned_id)


def render_canned(rt: Runtime, p: Principal, ticket_id: int, canned_id: int) -> str:
    """The canned response's text for this ticket, e.g. to insert into the reply box."""
    with rt.db.read() as c:
        ticket = service._visible(c, p, ticket_id)
        found = rs.row(c, "canned", p.tenant_id, canned_id)
        if found is None:
            raise NotFound("canned response not found")
        return _render_for(c, p, ticket, found["body"])


# --- macros -----------------------------------------------------------------------------------------------

def _check_macro(c: Any, tenant_id: int, data: dict[str, Any]) -> dict[str, Any]:
    act = data.get("actions") or {}
    if act.get("status_id") is not None and store.status(c, tenant_id, act["status_id"]) is None:
        raise Invalid(f"no status {act['status_id']} in this tenant", field="actions.status_id")
    if act.get("priority") and act["priority"] not in service.PRIORITIES:
        raise Invalid(f"actions.priority must be one of {', '.join(service.PRIORITIES)}", field="actions.priority")
    if act.get("assignee_id") is not None and store.user_in_tenant(c, tenant_id, act["assignee_id"]) is None:
        raise Invalid(f"no active user {act['assignee_id']} in this tenant", field="actions.assignee_id")
    queue = teams.check_queue(c, tenant_id, act.get("queue_id"), "actions.queue_id")
    tags = [str(t).strip().lower() for t in act.get("tags") or [] if str(t).strip()]
    if len(tags) > 20 or any(len(t) > 40 for t in tags):
        raise Invalid("actions.tags: at most 20 tags of up to 40 characters", field="actions.tags")
    comment = act.get("comment") or None
    if comment is not None:
        if comment.get("kind", "reply") not in ("reply", "note"):
            raise Invalid("actions.comment.kind must be reply or note", field="actions.comment.kind")
        if comment.get("canned_response_id") is not None:
            if rs.row(c, "canned", tenant_id, comment["canned_response_id"]) is None:
                raise Invalid(f"no canned response {comment['canned_response_id']}",
                              field="actions.comment.canned_response_id")
            comment = {"kind": comment.get("kind", "reply"), "canned_response_id": comment["canned_response_id"]}
        else:
            comment = {"kind": comment.get("kind", "reply"), "body": _checked_body(comment.get("body"))}
    actions = {"status_id": act.get("status_id"), "priority": act.get("priority") or None,
               "assignee_id": act.get("assignee_id"), "unassign": bool(act.get("unassign")),
               "team_id": teams.check_team(c, tenant_id, act.get("team_id"), "actions.team_id"),
               "queue_id": queue["id"] if queue else None, "tags": sorted(set(tags)), "comment": comment}
    if not any(actions.values()):
        raise Invalid("a macro needs at least one action", field="actions")
    return {"name": teams.name_of(data), "actions": json.dumps(actions)}


def macro_out(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "actions": json.loads(row["actions"])}


def list_macros(rt: Runtime, p: Principal) -> list[dict[str, Any]]:
    return [macro_out(r) for r in settings.rows(rt, p, "macro")]


def get_macro(rt: Runtime, p: Principal, macro_id: int) -> dict[str, Any]:
    return macro_out(settings.get(rt, p, "macro", macro_id))


def save_macro(rt: Runtime, p: Principal, actor: Actor, data: dict[str, Any], macro_id: int | None = None) -> dict[str, Any]:
    saved = settings.save(rt, p, actor, "macro", lambda c: _check_macro(c, p.tenant_id, data), macro_id)
    return get_macro(rt, p, saved)


def delete_macro(rt: Runtime, p: Principal, actor: Actor, macro_id: int) -> None:
    settings.delete(rt, p, actor, "macro", macro_id)


def apply_macro(rt: Runtime, p: Principal, actor: Actor, ticket_id: int, macro_id: int,
                now: float | None = None) -> dict[str, Any]:
    """Every action of the macro on the ticket, in one transaction; the ticket afterwards."""

    def write(c: Any) -> InTransaction:
        ticket = service._visible(c, p, ticket_id, "tickets.write")  # first: others' tickets answer 404
        found = rs.row(c, "macro", p.tenant_id, macro_id)
        if found is None:
            raise NotFound("macro not found")
        act = json.loads(found["actions"])
        inner = InTransaction(rt, c)
        changes = {k: act.get(k) for k in ("status_id", "priority", "assignee_id", "unassign", "team_id", "queue_id")}
        if act.get("tags"):
            changes["tags"] = [*json.loads(ticket["tags"] or "[]"), *act["tags"]]
        if any(v for v in changes.values()):
            service.update_ticket(inner, p, actor, ticket_id, changes, now)  # type: ignore[arg-type]
        comment = act.get("comment")
        if comment:
            body = comment.get("body")
            if comment.get("canned_response_id") is not None:
                canned = rs.row(c, "canned", p.tenant_id, comment["canned_response_id"])
                if canned is None:
                    raise Invalid("the macro's canned response was deleted: edit the macro",
                                  field="actions.comment.canned_response_id")
                body = canned["body"]
            text = _render_for(c, p, store.get(c, p.tenant_id, ticket_id) or ticket, body)
            service.add_comment(inner, p, actor, ticket_id, comment["kind"], text, now)  # type: ignore[arg-type]
        return inner

    rt.db.write(write).publish(rt.bus)
    rt.bus.emit("ticket_macro.applied", p.tenant_id, actor.as_dict(), object_type="ticket", object_id=ticket_id,
                summary={"macro_id": macro_id})
    return service.get_ticket(rt, p, ticket_id)
