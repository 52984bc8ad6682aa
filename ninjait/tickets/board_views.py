"""The ticket board (a column per open status, cards moved with a keyboard-friendly "move to" control) and the
live stream that refreshes the ticket list and the board when a ticket the user may see changes."""

from __future__ import annotations

import time
from typing import Any

from litestar import Request, get
from litestar.response import ServerSentEvent, Template
from litestar.response.sse import ServerSentEventMessage

from ninjait.core import live
from ninjait.core.errors import ServiceError
from ninjait.core.events import Event
from ninjait.identity.http import principal_of
from ninjait.identity.views import form_int
from ninjait.tickets import service
from ninjait.tickets.views import _choices, sla_badge
from ninjait.ui.pages import page

Req = Request[Any, Any, Any]
READ = {"permission": "tickets.read"}
BOARD_LIMIT = 500
LIVE_EVENTS = ("ticket.created", "ticket.updated", "ticket.closed")


def rt(request: Req) -> Any:
    return request.app.state.runtime


@get("/tickets/board", opt=READ, include_in_schema=False, sync_to_thread=True)
def board_page(request: Req) -> Template:
    """Open tickets (not resolved or closed) by status; ``view`` mine/unassigned/breaching and the organization and
    priority filters as on the list."""
    p = principal_of(request)
    params = {k: request.query_params.get(k, "")[:40] for k in ("view", "organization_id", "priority")}
    params["view"] = params["view"] if params["view"] in ("open", "mine", "unassigned", "breaching") else "open"
    error, rows, total = "", [], 0
    try:
        rows, total = service.list_tickets(rt(request), p, view=params["view"], priority=params["priority"],
                                           organization_id=form_int(params["organization_id"]), per_page=BOARD_LIMIT)
    except ServiceError as exc:
        error = exc.message
    choices = _choices(request, p)
    columns = [(s, [t for t in rows if t["status_id"] == s["id"]]) for s in choices["statuses"]
               if s["type"] not in service.DONE_TYPES]
    now = time.time()
    return page(request, "tickets/board.html", active="tickets", columns=columns, total=total, params=params,
                shown=len(rows), error=error, badges={t["id"]: sla_badge(t["sla"], now) for t in rows},
                can_write=p.can_somewhere("tickets.write"), **choices)


@get("/tickets/stream", opt=READ, include_in_schema=False)
async def tickets_stream(request: Req) -> ServerSentEvent:
    """Server-Sent Events: `ticket` (data: the ticket's number) whenever a ticket of an organization this user may
    see is opened, changed or closed; the list and the board reload their rows on it."""
    p = principal_of(request)
    orgs = p.organizations_for("tickets.read")

    def wants(event: Event) -> bool:
        org = (event.data.get("summary") or {}).get("organization_id")
        return event.name in LIVE_EVENTS and (orgs is None or org in orgs)

    async def messages() -> Any:
        async for event in live.hub_of(rt(request)).stream(p.tenant_id, wants):
            if event is None:
                yield ServerSentEventMessage(comment="keep-alive")
            else:
                yield ServerSentEventMessage(event="ticket", data=str(event.data["summary"].get("number", "")))

    return ServerSentEvent(messages())


route_handlers = [board_page, tickets_stream]
