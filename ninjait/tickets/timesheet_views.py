"""A technician's timesheet page: a day or a week of time entries with totals; a manager picks the person."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Request, get
from litestar.response import Template

from ninjait.core.errors import ServiceError
from ninjait.identity import service as identity
from ninjait.identity.http import principal_of
from ninjait.identity.views import form_int
from ninjait.tickets import time_entries
from ninjait.ui.pages import page

Req = Request[Any, Any, Any]
READ = {"permission": "tickets.read"}


@get("/timesheet", opt=READ, include_in_schema=False, sync_to_thread=True)
def timesheet_page(request: Req) -> Template:
    """``from`` YYYY-MM-DD (default: this week's Monday, or today for a day), ``span`` week or day, ``user_id``."""
    p = principal_of(request)
    runtime = request.app.state.runtime
    query = request.query_params
    span = "day" if query.get("span") == "day" else "week"
    day_from = query.get("from", "")[:10]
    if not day_from and span == "day":
        day_from = dt.datetime.now(dt.UTC).date().isoformat()
    user_text = query.get("user_id", "")[:20]
    user_id = form_int(user_text)
    error, sheet = "", None
    try:
        sheet = time_entries.sheet_for(runtime, p, day_from, 1 if span == "day" else 7, user_id)
    except ServiceError as exc:
        error = exc.message
    people = identity.list_users(runtime, p) if p.can_somewhere("users.read") else []
    start = dt.date.fromisoformat(sheet["from"]) if sheet else dt.datetime.now(dt.UTC).date()
    step = dt.timedelta(days=1 if span == "day" else 7)
    return page(request, "tickets/timesheet.html", active="tickets", sheet=sheet, error=error, span=span,
                user_id=user_id, people={u["id"]: u["name"] or u["email"] for u in people if not u.get("disabled")},
                previous=(start - step).isoformat(), next=(start + step).isoformat())


route_handlers = [timesheet_page]
