"""REST API of time entries: per ticket, the stopwatch, a timesheet, deleting one's own entry."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, delete, get, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.status_codes import HTTP_204_NO_CONTENT

from ninjait.identity.http import actor_of, principal_of
from ninjait.identity.models import convert
from ninjait.tickets import time_entries
from ninjait.tickets.models import StopwatchStart, StopwatchStop, TicketTime, TimeEntry, TimeEntryIn, Timesheet

Req = Request[Any, Any, Any]
READ, WRITE = {"permission": "tickets.read"}, {"permission": "tickets.write"}


def rt(request: Req) -> Any:
    return request.app.state.runtime


@get("/api/v1/tickets/{ticket_id:int}/time-entries", opt=READ, tags=["tickets"], sync_to_thread=True)
def ticket_time(request: Req, ticket_id: FromPath[int]) -> TicketTime:
    """Newest first, with totals; a running stopwatch counts the minutes so far."""
    return convert(time_entries.for_ticket(rt(request), principal_of(request), ticket_id), TicketTime)  # type: ignore[return-value]


@post("/api/v1/tickets/{ticket_id:int}/time-entries", opt=WRITE, tags=["tickets"], sync_to_thread=True)
def log_time(request: Req, ticket_id: FromPath[int], data: JSONBody[TimeEntryIn]) -> TimeEntry:
    row = time_entries.add_entry(rt(request), principal_of(request), actor_of(request), ticket_id,
                                 msgspec.to_builtins(data))
    return convert(row, TimeEntry)  # type: ignore[return-value]


@post("/api/v1/tickets/{ticket_id:int}/stopwatch", opt=WRITE, tags=["tickets"], sync_to_thread=True)
def stopwatch_start(request: Req, ticket_id: FromPath[int], data: JSONBody[StopwatchStart]) -> TimeEntry:
    """Start your stopwatch on this ticket (409 while it runs elsewhere); it keeps running on the server."""
    row = time_entries.start_timer(rt(request), principal_of(request), actor_of(request), ticket_id, data.work_type)
    return convert(row, TimeEntry)  # type: ignore[return-value]


@post("/api/v1/stopwatch/stop", opt=WRITE, tags=["tickets"], sync_to_thread=True, status_code=200)
def stopwatch_stop(request: Req, data: JSONBody[StopwatchStop]) -> TimeEntry:
    """Stop your running stopwatch: the entry keeps whole minutes (at least one)."""
    row = time_entries.stop_timer(rt(request), principal_of(request), actor_of(request), data.note, data.billable)
    return convert(row, TimeEntry)  # type: ignore[return-value]


@get("/api/v1/timesheet", opt=READ, tags=["tickets"], sync_to_thread=True)
def timesheet(request: Req, from_: Annotated[str, QueryParameter(name="from")] = "", days: FromQuery[int] = 7,
              user_id: FromQuery[int | None] = None) -> Timesheet:
    """Your time (or `user_id`'s, with users.read) over `days` days from `from` (YYYY-MM-DD, UTC; default: this
    week's Monday), a total per day."""
    sheet = time_entries.sheet_for(rt(request), principal_of(request), from_[:10], days, user_id)
    return convert(sheet, Timesheet)  # type: ignore[return-value]


@delete("/api/v1/time-entries/{entry_id:int}", opt=WRITE, tags=["tickets"], sync_to_thread=True,
        status_code=HTTP_204_NO_CONTENT)
def delete_time(request: Req, entry_id: FromPath[int]) -> None:
    time_entries.delete_entry(rt(request), principal_of(request), actor_of(request), entry_id)


route_handlers = [ticket_time, log_time, stopwatch_start, stopwatch_stop, timesheet, delete_time]
