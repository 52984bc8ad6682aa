"""Pages: the service desk set-up (teams, queues, routing rules, canned responses, macros, recurring tickets)
and, on a ticket, the queue/team form, "apply macro" and "insert canned response"."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from ninjait.core.errors import ServiceError
from ninjait.identity import service as identity
from ninjait.identity.http import actor_of, principal_of
from ninjait.identity.views import FormData, _back, field, form_int
from ninjait.tickets import macros, recurring, routing, service, teams
from ninjait.ui.pages import page

Req = Request[Any, Any, Any]
READ, WRITE = {"permission": "tickets.read"}, {"permission": "tickets.write"}
DESK = "/tickets/desk"


def rt(request: Req) -> Any:
    return request.app.state.runtime


def _id(data: dict[str, Any], name: str, limit: int = 20) -> int | None:
    return form_int(field(data, name, limit).strip())


def _ints(data: dict[str, Any], name: str) -> list[int]:
    """A multi-select's values (one value arrives as a string, several as a list)."""
    value = data.get(name, [])
    values = value if isinstance(value, list) else [value]
    return [int(v) for v in values if isinstance(v, str) and v.isdigit()]


def _words(data: dict[str, Any], name: str) -> list[str]:
    return [w.strip() for w in field(data, name, 2000).split(",") if w.strip()]


def describe_rule(rule: dict[str, Any], names: dict[str, dict[int, str]]) -> str:
    """"if organization Customer A, keywords printer → queue Hardware, tags hardware" for the set-up page."""
    def named(kind: str, ids: list[int]) -> str:
        return ", ".join(names[kind].get(i, f"#{i}") for i in ids)

    cond, act = rule["conditions"], rule["actions"]
    ifs = [f"organization {named('orgs', cond['organization_ids'])}"] if cond.get("organization_ids") else []
    ifs += [f"{label} {', '.join(cond[k])}" for k, label in (("categories", "category"), ("priorities", "priority"),
                                                           ("sources", "source"), ("keywords", "keyword"))
            if cond.get(k)]
    thens = [f"{k} {named(kind, [act[k + '_id']])}" for k, kind in (("queue", "queues"), ("team", "teams"),
                                                                      ("assignee", "users")) if act.get(k + "_id")]
    thens += [f"priority {act['priority']}"] if act.get("priority") else []
    thens += [f"tags {', '.join(act['tags'])}"] if act.get("tags") else []
    return f"if {' and '.join(ifs) or 'any ticket'} → {', '.join(thens)}"


def _desk_page(request: Req, *, error: str = "", status_code: int = 200) -> Template:
    runtime, p = rt(request), principal_of(request)
    users = identity.list_users(runtime, p) if p.can("users.read") else []
    team_rows, queue_rows, canned = teams.list_teams(runtime, p), teams.list_queues(runtime, p), macros.list_canned(runtime, p)
    statuses = service.list_statuses(runtime, p)
    people = {u["id"]: u["name"] or u["email"] for u in users if not u.get("disabled")}
    orgs = {o["id"]: o["name"] for o in identity.list_organizations(runtime, p)}
    names = {"orgs": orgs, "users": people, "teams": {t["id"]: t["name"] for t in team_rows},
             "queues": {q["id"]: q["name"] for q in queue_rows}}
    rules = routing.list_rules(runtime, p)
    return page(request, "tickets/desk.html", status_code=status_code, active="tickets", error=error,
                teams=team_rows, queues=queue_rows, rules=rules, canned=canned,
                rule_texts={r["id"]: describe_rule(r, names) for r in rules},
                # (id, name) pairs for the selects
                team_items=[(t["id"], t["name"]) for t in team_rows], queue_items=[(q["id"], q["name"]) for q in queue_rows],
                status_items=[(s["id"], s["name"]) for s in statuses], canned_items=[(r["id"], r["title"]) for r in canned],
                macros=macros.list_macros(runtime, p), recurring=recurring.list_recurring(runtime, p),
                users=people, orgs=orgs,
                priorities=service.PRIORITIES,
                strategies=teams.STRATEGIES, sources=routing.CONDITION_SOURCES, frequencies=recurring.FREQUENCIES,
                can_change=p.can("tickets.write"),
                can_write=p.can_somewhere("tickets.write"))


def _do(request: Req, change: Callable[[Any, Any, Any], Any], msg: str) -> Response[Any]:
    """Run a change as the signed-in person; errors show on the set-up page with their status."""
    try:
        change(rt(request), principal_of(request), actor_of(request))
    except ServiceError as exc:
        return _desk_page(request, error=exc.message, status_code=exc.status)
    return _back(DESK, msg)


@get(DESK, opt=READ, include_in_schema=False, sync_to_thread=True)
def desk_page(request: Req) -> Template:
    return _desk_page(request)


# --- teams and queues -------------------------------------------------------------------------------------

def _team_form(data: dict[str, Any]) -> dict[str, Any]:
    return {"name": field(data, "name", 101), "strategy": field(data, "strategy", 20),
            "member_ids": _ints(data, "member_ids")}


@post(f"{DESK}/teams", opt=WRITE, include_in_schema=False, sync_to_thread=True)
def team_create(request: Req, data: FormData) -> Response[Any]:
    return _do(request, lambda r, p, a: teams.save_team(r, p, a, _team_form(data)), "desk-saved")


@post(f"{DESK}/teams/{{team_id:int}}", opt=WRITE, include_in_schema=False, sync_to_thread=True)
def team_change(request: Req, team_id: FromPath[int], data: FormData) -> Response[Any]:
    return _do(request, lambda r, p, a: teams.save_team(r, p, a, _team_form(data), team_id), "desk-saved")


@post(f"{DESK}/teams/{{team_id:int}}/delete", opt=WRITE, include_in_schema=False, sync_to_thread=True)
def team_delete(request: Req, team_id: FromPath[int]) -> Response[Any]:
    return _do(request, lambda r, p, a: teams.delete_team(r, p, a, team_id), "desk-deleted")


def _queue_form(data: dict[str, Any]) -> dict[str, Any]:
    return {"name": field(data, "name", 101), "team_id": _id(data, "team_id")}


@post(f"{DESK}/queues", opt=WRITE, include_in_schema=False, sync_to_thread=True)
def queue_create(request: Req, data: FormData) -> Response[Any]:
    return _do(request, lambda r, p, a: teams.save_queue(r, p, a, _queue_form(data)), "desk-saved")


@post(f"{DESK}/queues/{{queue_id:int}}", opt=WRITE, include_in_schema=False, sync_to_thread=True)
def queue_change(request: Req, queue_id: FromPath[int], data: FormData) -> Response[Any]:
    return _do(request, lambda r, p, a: teams.save_queue(r, p, a, _queue_form(data), queue_id), "desk-saved")


@post(f"{DESK}/queues/{{queue_id:int}}/delete", opt=WRITE, include_in_schema=False, sync_to_thread=True)
def queue_delete(request: Req, queue_id: FromPath[int]) -> Response[Any]:
    return _do(request, lambda r, p, a: teams.delete_queue(r, p, a, queue_id), "desk-deleted")


# --- routing rules ----------------------------------------------------------------------------------------

@post(f"{DESK}/rules", opt=WRITE, include_in_schema=False, sync_to_thread=True)
def rule_create(request: Req, data: FormData) -> Response[Any]:
    values = {"name": field(data, "name", 101), "on_update": field(data, "on_update", 5) == "on",
              "continue_after": field(data, "continue_after", 5) == "on",
              "conditions": {"organization_ids": _ints(data, "organization_ids"),
                             "categories": _words(data, "categories"), "keywords": _words(data, "keywords"),
                             "priorities": [v for v in [field(data, "if_priority", 5)] if v],
                             "sources": [v for v in [field(data, "if_source", 20)] if v]},
              "actions": {"queue_id": _id(data, "queue_id"), "team_id": _id(data, "team_id"),
                          "assignee_id": _id(data, "assignee_id"),
                          "priority": field(data, "priority", 5) or None, "tags": _words(data, "tags")}}
    return _do(request, lambda r, p, a: routing.save_rule(r, p, a, values), "desk-saved")


@post(f"{DESK}/rules/{{routing_rule_id:int}}/delete", opt=WRITE, include_in_schema=False, sync_to_thread=True)
def rule_delete(request: Req, routing_rule_id: FromPath[int]) -> Response[Any]:
    return _do(request, lambda r, p, a: routing.delete_rule(r, p, a, routing_rule_id), "desk-deleted")


@post(f"{DESK}/rules/{{routing_rule_id:int}}/toggle", opt=WRITE, include_in_schema=False, sync_to_thread=True)
def rule_toggle(request: Req, routing_rule_id: FromPath[int]) -> Response[Any]:
    """Switch a rule off or on again."""
    def flip(r: Any, p: Any, a: Any) -> Any:
        rule = routing.get_rule(r, p, routing_rule_id)
        return routing.save_rule(r, p, a, {**rule, "enabled": not rule["enabled"]}, routing_rule_id)

    return _do(request, flip, "desk-saved")


@post(f"{DESK}/rules/{{routing_rule_id:int}}/up", opt=WRITE, include_in_schema=False, sync_to_thread=True)
def rule_up(request: Req, routing_rule_id: FromPath[int]) -> Response[Any]:
    """Swap the rule with the one before it."""
    def move(r: Any, p: Any, a: Any) -> Any:
        order = [x["id"] for x in routing.list_rules(r, p)]
        routing.get_rule(r, p, routing_rule_id)  # 404 for anyone else's
        i = order.index(routing_rule_id)
        if i > 0:
            order[i - 1], order[i] = order[i], order[i - 1]
        return routing.reorder_rules(r, p, a, order)

    return _do(request, move, "desk-saved")


# --- canned responses and macros --------------------------------------------------------------------------

@post(f"{DESK}/canned", opt=WRITE, include_in_schema=False, sync_to_thread=True)
def canned_create(request: Req, data: FormData) -> Response[Any]:
    values = {"title": field(data, "title", 201), "body": field(data, "body", macros.MAX_TEXT + 1)}
    return _do(request, lambda r, p, a: macros.save_canned(r, p, a, values), "desk-saved")


@post(f"{DESK}/canned/{{canned_response_id:int}}/delete", opt=WRITE, include_in_schema=False, sync_to_thread=True)
def canned_delete(request: Req, canned_response_id: FromPath[int]) -> Response[Any]:
    return _do(request, lambda r, p, a: macros.delete_canned(r, p, a, canned_response_id), "desk-deleted")


@post(f"{DESK}/macros", opt=WRITE, include_in_schema=False, sync_to_thread=True)
def macro_create(request: Req, data: FormData) -> Response[Any]:
    canned_id, body = _id(data, "canned_response_id"), field(data, "body", macros.MAX_TEXT + 1)
    comment = {"kind": field(data, "kind", 10) or "reply",
               **({"canned_response_id": canned_id} if canned_id else {"body": body})} if canned_id or body else None
    values = {"name": field(data, "name", 101), "actions": {
        "status_id": _id(data, "status_id"), "priority": field(data, "priority", 5) or None,
        "assignee_id": _id(data, "assignee_id"), "team_id": _id(data, "team_id"),
        "queue_id": _id(data, "queue_id"), "tags": _words(data, "tags"), "comment": comment}}
    return _do(request, lambda r, p, a: macros.save_macro(r, p, a, values), "desk-saved")


@post(f"{DESK}/macros/{{macro_id:int}}/delete", opt=WRITE, include_in_schema=False, sync_to_thread=True)
def macro_delete(request: Req, macro_id: FromPath[int]) -> Response[Any]:
    return _do(request, lambda r, p, a: macros.delete_macro(r, p, a, macro_id), "desk-deleted")


# --- recurring tickets ------------------------------------------------------------------------------------

@post(f"{DESK}/recurring", opt=WRITE, include_in_schema=False, sync_to_thread=True)
def recurring_create(request: Req, data: FormData) -> Response[Any]:
    clock = field(data, "time_of_day", 5)
    hours, _, minutes = clock.partition(":")
    values = {"name": field(data, "name", 201), "organization_id": _id(data, "organization_id"),
              "frequency": field(data, "frequency", 10), "weekdays": _ints(data, "weekdays"),
              "day_of_month": _id(data, "day_of_month", 3) or 1,
              "time_of_day": int(hours) * 60 + int(minutes) if hours.isdigit() and minutes.isdigit() else -1,
              "timezone": field(data, "timezone", 60) or "UTC",
              "template": {"subject": field(data, "subject", 201), "description": field(data, "description", 20001),
                           "priority": field(data, "priority", 5) or "P3", "category": field(data, "category", 101),
                           "queue_id": _id(data, "queue_id"), "team_id": _id(data, "team_id"),
                           "assignee_id": _id(data, "assignee_id")}}
    return _do(request, lambda r, p, a: recurring.save_recurring(r, p, a, values), "desk-saved")


@post(f"{DESK}/recurring/{{recurring_id:int}}/delete", opt=WRITE, include_in_schema=False, sync_to_thread=True)
def recurring_delete(request: Req, recurring_id: FromPath[int]) -> Response[Any]:
    return _do(request, lambda r, p, a: recurring.delete_recurring(r, p, a, recurring_id), "desk-deleted")


@post(f"{DESK}/recurring/{{recurring_id:int}}/pause", opt=WRITE, include_in_schema=False, sync_to_thread=True)
def recurring_pause(request: Req, recurring_id: FromPath[int], data: FormData) -> Response[Any]:
    """Pause, or resume with ``resume=1``."""
    paused = field(data, "resume", 1) != "1"
    return _do(request, lambda r, p, a: recurring.set_paused(r, p, a, recurring_id, paused), "desk-saved")


@post(f"{DESK}/recurring/{{recurring_id:int}}/run", opt=WRITE, include_in_schema=False, sync_to_thread=True)
def recurring_run(request: Req, recurring_id: FromPath[int]) -> Response[Any]:
    try:
        ticket = recurring.run_now(rt(request), principal_of(request), actor_of(request), recurring_id)
    except ServiceError as exc:
        return _desk_page(request, error=exc.message, status_code=exc.status)
    return _back(f"/tickets/{ticket['id']}", "ticket-created")


# --- on a ticket ------------------------------------------------------------------------------------------

def ticket_context(request: Req, p: Any) -> dict[str, Any]:
    """What the ticket page's desk controls need (views._ticket_page adds it)."""
    runtime = rt(request)
    return {"desk_queues": teams.list_queues(runtime, p), "desk_teams": teams.list_teams(runtime, p),
            "desk_macros": macros.list_macros(runtime, p), "desk_canned": macros.list_canned(runtime, p)}


@post("/tickets/{ticket_id:int}/macro", opt=WRITE, include_in_schema=False, sync_to_thread=True)
def ticket_apply_macro(request: Req, ticket_id: FromPath[int], data: FormData) -> Response[Any]:
    """A refused macro shows the error page with the reason (400 naming the field); nothing was changed."""
    macros.apply_macro(rt(request), principal_of(request), actor_of(request), ticket_id,
                       _id(data, "macro_id") or 0)
    return _back(f"/tickets/{ticket_id}", "macro-applied")


@post("/tickets/{ticket_id:int}/placement", opt=WRITE, include_in_schema=False, sync_to_thread=True)
def ticket_placement(request: Req, ticket_id: FromPath[int], data: FormData) -> Response[Any]:
    """Queue and team ('' = none)."""
    queue_id, team_id = _id(data, "queue_id"), _id(data, "team_id")
    changes = {"queue_id": queue_id, "clear_queue": queue_id is None, "team_id": team_id,
               "clear_team": team_id is None}
    service.update_ticket(rt(request), principal_of(request), actor_of(request), ticket_id, changes)
    return _back(f"/tickets/{ticket_id}", "ticket-updated")


@get("/tickets/{ticket_id:int}/reply-text", opt=READ, include_in_schema=False, sync_to_thread=True)
def ticket_reply_text(request: Req, ticket_id: FromPath[int],
                      canned_response_id: FromQuery[int | None] = None) -> Template:
    """The reply box, filled with a canned response rendered for this ticket (htmx swaps it in)."""
    p = principal_of(request)
    service.get_ticket(rt(request), p, ticket_id)  # 404 before anything else
    body = macros.render_canned(rt(request), p, ticket_id, canned_response_id) if canned_response_id else ""
    return page(request, "tickets/_reply_box.html", body=body)


route_handlers = [desk_page, team_create, team_change, team_delete, queue_create, queue_change, queue_delete,
                  rule_create, rule_toggle, rule_delete, rule_up,
                  canned_create, canned_delete, macro_create, macro_delete, recurring_create, recurring_delete,
                  recurring_pause, recurring_run, ticket_apply_macro, ticket_placement, ticket_reply_text]
