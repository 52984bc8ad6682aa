"""Pages: the ticket list (filters, SLA time left per row), a new ticket, and a ticket with its timeline,
reply form and status/assignee/priority changes."""

from __future__ import annotations

import datetime as dt
import time
from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Request, Response, get, post
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template

from ninjait.core.errors import ServiceError
from ninjait.devices import fields
from ninjait.identity import service as identity
from ninjait.identity.http import actor_of, principal_of
from ninjait.identity.views import FormData, _back, field, form_int
from ninjait.tickets import contacts, desk_views, kb, mentions, search, service, time_entries
from ninjait.ui import nav
from ninjait.ui.pages import page

Req = Request[Any, Any, Any]
READ, WRITE = {"permission": "tickets.read"}, {"permission": "tickets.write"}
PER_PAGE = 50
FILTERS = ("view", "status_id", "priority", "organization_id", "queue_id", "team_id")
nav.provide("tickets", "/tickets")


def rt(request: Req) -> Any:
    return request.app.state.runtime



def due_from_form(text: str) -> int:
    """A date input (YYYY-MM-DD) as the end of that day, UTC; '' -> 0 (none). Bad text -> -1, which the
    service refuses naming the field."""
    if not text:
        return 0
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        return -1
    return int(dt.datetime.combine(day, dt.time(23, 59, 59), dt.UTC).timestamp())


def _duration(seconds: float) -> str:
    minutes = int(abs(seconds)) // 60
    days, hours, mins = minutes // 1440, minutes // 60 % 24, minutes % 60
    return f"{days}d {hours}h" if days else f"{hours}h {mins}m" if hours else f"{mins}m"


def sla_badge(clocks: list[dict[str, Any]], now: float) -> tuple[str, str]:
    """The most urgent clock of a ticket as (text, colour): overdue, paused, or business time left."""
    live = [c for c in clocks if c["state"] != "met"]
    if not live:
        return ("met", "green") if clocks else ("", "")
    if any(c["state"] == "breached" for c in live):
        return "overdue", "red"
    running = [c for c in live if c["due_at"] is not None]
    if not running:
        return "paused", "secondary"
    soonest = min(running, key=lambda c: c["target"] - c["elapsed"])
    left = f"{_duration(soonest['target'] - soonest['elapsed'])} left"
    return left, "yellow" if soonest["state"] == "warning" else "blue"


def _choices(request: Req, p: Any) -> dict[str, Any]:
    runtime = rt(request)
    users = identity.list_users(runtime, p) if p.can("users.read") else []
    return {"orgs": {o["id"]: o["name"] for o in identity.list_organizations(runtime, p)},
            "users": {u["id"]: u["name"] or u["email"] for u in users if not u.get("disabled")},
            "statuses": service.list_statuses(runtime, p), "priorities": service.PRIORITIES}


@get("/tickets", opt=READ, include_in_schema=False, sync_to_thread=True)
def tickets_page(request: Req, page_number: Annotated[int, QueryParameter(name="page", ge=1)] = 1) -> Template:
    p = principal_of(request)
    params = {k: request.query_params.get(k, "")[:40] for k in FILTERS}
    params["q"] = request.query_params.get("q", "")[:search.MAX_QUERY]
    params["view"] = params["view"] or ("all" if params["q"].strip() else "open")
    error, rows, total = "", [], 0
    try:
        rows, total = service.list_tickets(rt(request), p, view=params["view"], status_id=form_int(params["status_id"]),
                                           priority=params["priority"], organization_id=form_int(params["organization_id"]),
                                           queue_id=form_int(params["queue_id"]), team_id=form_int(params["team_id"]),
                                           page=page_number, per_page=PER_PAGE, q=params["q"])
    except ServiceError as exc:
        error = exc.message
    now = time.time()
    query = {k: v for k, v in params.items() if v}
    return page(request, "tickets/tickets.html", active="tickets", tickets=rows, total=total, params=params,
                error=error, now=now, badges={t["id"]: sla_badge(t["sla"], now) for t in rows}, page_number=page_number,
                pages=max(1, -(-total // PER_PAGE)), link=lambda **changes: "/tickets?" + urlencode({**query, **changes}),
                can_write=p.can_somewhere("tickets.write"), **_choices(request, p),
                snippets={t["id"]: search.segments(t.get("snippet_marked", "")) for t in rows},
                mentions_unread=mentions.unread_count(rt(request), p),
                **desk_views.ticket_context(request, p))


def _new_page(request: Req, *, error: str = "", form: dict[str, Any] | None = None, status_code: int = 200) -> Template:
    p = principal_of(request)
    return page(request, "tickets/new.html", status_code=status_code, active="tickets", error=error, form=form or {},
                can_assign=p.can_somewhere("tickets.assign"), contacts=contacts.list_contacts(rt(request), p),
                ticket_fields=fields.list_fields(rt(request), p, "ticket"),
                values={k[3:]: v for k, v in (form or {}).items() if k.startswith("cf_")}, **_choices(request, p),
                desk_queues=desk_views.ticket_context(request, p)["desk_queues"])


@get("/tickets/new", opt=WRITE, include_in_schema=False, sync_to_thread=True)
def new_ticket_page(request: Req) -> Template:
    """Query parameters prefill the form (from a contact's page: ``contact_id`` and ``organization_id``)."""
    return _new_page(request, form={k: request.query_params.get(k, "")[:20] for k in ("contact_id", "organization_id")})


@post("/tickets", opt=WRITE, include_in_schema=False, sync_to_thread=True)
def ticket_create(request: Req, data: FormData) -> Response[Any]:
    form = {k: field(data, k, 20001) for k in ("subject", "description", "organization_id", "priority", "assignee_id",
                                                "category", "contact_id", "due_date", "queue_id")}
    custom = _custom_from_form(request, data)
    form.update({f"cf_{k}": v for k, v in custom.items()})
    try:
        ticket = service.create_ticket(rt(request), principal_of(request), actor_of(request), {"custom_fields": custom,
            **form, "organization_id": form_int(form["organization_id"]), "assignee_id": form_int(form["assignee_id"]),
            "contact_id": form_int(form["contact_id"]), "due_at": due_from_form(form["due_date"]),
            "queue_id": form_int(form["queue_id"])})
    except ServiceError as exc:
        return _new_page(request, error=exc.message, form=form, status_code=exc.status)
    return Redirect(f"/tickets/{ticket['id']}?{urlencode({'msg': 'ticket-created'})}", status_code=303)


def _custom_from_form(request: Req, data: dict[str, Any]) -> dict[str, Any]:
    """The ticket's custom fields from a form's cf_<key> inputs (only those on the form)."""
    return {d["key"]: field(data, f"cf_{d['key']}", fields.MAX_TEXT + 1)
            for d in fields.list_fields(rt(request), principal_of(request), "ticket") if f"cf_{d['key']}" in data}


def _ticket_page(request: Req, ticket_id: int, *, error: str = "", status_code: int = 200) -> Template:
    p = principal_of(request)
    ticket = service.get_ticket(rt(request), p, ticket_id)
    time_spent = time_entries.for_ticket(rt(request), p, ticket_id)
    timeline = sorted([{"at": c["created_at"], "comment": c} for c in ticket["comments"]] +
                      [{"at": t["at"], "transition": t} for t in ticket["transitions"]] +
                      [{"at": e["started_at"], "time": e} for e in time_spent["entries"]], key=lambda x: x["at"])
    mine = time_entries.running_for(rt(request), p)
    return page(request, "tickets/ticket.html", status_code=status_code, active="tickets", ticket=ticket,
                time=time_spent, running=mine,
                work_types=time_entries.WORK_TYPES,
                timeline=timeline, error=error, badge=sla_badge(ticket["sla"], time.time()), now=time.time(),
                due_date=dt.datetime.fromtimestamp(ticket["due_at"], dt.UTC).date().isoformat() if ticket["due_at"] else "",
                contacts=contacts.list_contacts(rt(request), p, ticket["organization_id"]),
                can_write=p.can("tickets.write", ticket["organization_id"]),
                can_assign=p.can("tickets.assign", ticket["organization_id"]),
                ticket_fields=fields.list_fields(rt(request), p, "ticket"),
                articles=kb.ticket_articles(rt(request), p, ticket_id), **_choices(request, p),
                **desk_views.ticket_context(request, p))  # queue/team, macros, canned responses


@get("/tickets/{ticket_id:int}", opt=READ, include_in_schema=False, sync_to_thread=True)
def ticket_page(request: Req, ticket_id: FromPath[int]) -> Response[Any]:
    merged = service.get_ticket(rt(request), principal_of(request), ticket_id)["merged_into"]
    if merged:  # a merged ticket lives on in its survivor
        return Redirect(f"/tickets/{merged['id']}?{urlencode({'msg': 'ticket-merged'})}", status_code=303)
    return _ticket_page(request, ticket_id)


@post("/tickets/{ticket_id:int}/comments", opt=WRITE, include_in_schema=False, sync_to_thread=True)
def ticket_comment(request: Req, ticket_id: FromPath[int], data: FormData) -> Response[Any]:
    try:
        service.add_comment(rt(request), principal_of(request), actor_of(request), ticket_id,
                            field(data, "kind", 20) or "reply", field(data, "body", service.MAX_TEXT + 1))
    except ServiceError as exc:
        return _ticket_page(request, ticket_id, error=exc.message, status_code=exc.status)
    return _back(f"/tickets/{ticket_id}", "ticket-replied")


@post("/tickets/{ticket_id:int}/time", opt=WRITE, include_in_schema=False, sync_to_thread=True)
def ticket_log_time(request: Req, ticket_id: FromPath[int], data: FormData) -> Response[Any]:
    minutes = field(data, "minutes", 6)
    try:
        time_entries.add_entry(rt(request), principal_of(request), actor_of(request), ticket_id, {
            "minutes": form_int(minutes, 0), "work_type": field(data, "work_type", 20),
            "billable": field(data, "billable", 5) == "on", "note": field(data, "note", 2001)})
    except ServiceError as exc:
        return _ticket_page(request, ticket_id, error=exc.message, status_code=exc.status)
    return _back(f"/tickets/{ticket_id}", "time-logged")


@post("/tickets/{ticket_id:int}/stopwatch", opt=WRITE, include_in_schema=False, sync_to_thread=True)
def ticket_stopwatch(request: Req, ticket_id: FromPath[int]) -> Response[Any]:
    try:
        time_entries.start_timer(rt(request), principal_of(request), actor_of(request), ticket_id)
    except ServiceError as exc:
        return _ticket_page(request, ticket_id, error=exc.message, status_code=exc.status)
    return _back(f"/tickets/{ticket_id}", "stopwatch-started")


@post("/tickets/stopwatch/stop", opt=WRITE, include_in_schema=False, sync_to_thread=True)
def stopwatch_stop(request: Req, data: FormData) -> Response[Any]:
    entry = time_entries.stop_timer(rt(request), principal_of(request), actor_of(request), field(data, "note", 2001))
    return _back(f"/tickets/{entry['ticket_id']}", "time-logged")


@post("/tickets/{ticket_id:int}/fields", opt=WRITE, include_in_schema=False, sync_to_thread=True)
def ticket_fields(request: Req, ticket_id: FromPath[int], data: FormData) -> Response[Any]:
    """The ticket's custom fields (empty clears a value)."""
    try:
        service.get_ticket(rt(request), principal_of(request), ticket_id)  # 404 first
        service.update_ticket(rt(request), principal_of(request), actor_of(request), ticket_id,
                              {"custom_fields": {k: v or None for k, v in _custom_from_form(request, data).items()}})
    except ServiceError as exc:
        return _ticket_page(request, ticket_id, error=exc.message, status_code=exc.status)
    return _back(f"/tickets/{ticket_id}", "ticket-updated")


@post("/tickets/{ticket_id:int}", opt=WRITE, include_in_schema=False, sync_to_thread=True)
def ticket_change(request: Req, ticket_id: FromPath[int], data: FormData) -> Response[Any]:
    """Status, priority and assignee from the detail page ('' assignee: unassigned)."""
    changes: dict[str, Any] = {"status_id": form_int(field(data, "status_id", 20)),
                               "priority": field(data, "priority", 5) or None}
    if "assignee_id" in data:
        assignee = form_int(field(data, "assignee_id", 20))
        changes.update(assignee_id=assignee, unassign=assignee is None)
    if "due_date" in data:
        changes["due_at"] = due_from_form(field(data, "due_date", 10))
    try:
        service.update_ticket(rt(request), principal_of(request), actor_of(request), ticket_id, changes)
    except ServiceError as exc:
        return _ticket_page(request, ticket_id, error=exc.message, status_code=exc.status)
    return _back("/tickets/board" if field(data, "back", 10) == "board" else f"/tickets/{ticket_id}", "ticket-updated")


route_handlers = [tickets_page, new_ticket_page, ticket_create, ticket_page, ticket_comment, ticket_log_time, ticket_stopwatch,
                  stopwatch_stop, ticket_fields, ticket_change]
