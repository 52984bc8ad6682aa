"""REST API of a tenant's service-desk settings: statuses and ticket numbering."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, delete, get, patch, post, put
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_204_NO_CONTENT

from ninjait.identity.http import actor_of, principal_of
from ninjait.identity.models import convert
from ninjait.tickets import desk_settings, service
from ninjait.tickets.models import TicketNumbering, TicketStatus, TicketStatusIn, TicketStatusPatch

Req = Request[Any, Any, Any]
READ, WRITE = {"permission": "tickets.read"}, {"permission": "tickets.write"}


def rt(request: Req) -> Any:
    return request.app.state.runtime


class TicketStatusController(Controller):
    path = "/api/v1/ticket-statuses"
    tags = ["tickets"]

    @get("/", opt=READ, sync_to_thread=True)
    def index(self, request: Req) -> list[TicketStatus]:
        """The tenant's statuses in order, each of a type: new, open, pending (pauses the resolution and
        next-response clocks when `pauses_sla`), resolved, closed."""
        return convert(service.list_statuses(rt(request), principal_of(request)), list[TicketStatus])  # type: ignore[return-value]

    @post("/", opt=WRITE, sync_to_thread=True)
    def create(self, request: Req, data: JSONBody[TicketStatusIn]) -> TicketStatus:
        """Tenant-wide: needs tickets.write for every organization. `pauses_sla` defaults to true for pending
        statuses and is refused for other types. 409 on a duplicate name."""
        row = desk_settings.create_status(rt(request), principal_of(request), actor_of(request),
                                          msgspec.to_builtins(data))
        return convert(row, TicketStatus)  # type: ignore[return-value]

    @get("/{status_id:int}", opt=READ, sync_to_thread=True)
    def show(self, request: Req, status_id: FromPath[int]) -> TicketStatus:
        return convert(desk_settings.get_status(rt(request), principal_of(request), status_id), TicketStatus)  # type: ignore[return-value]

    @patch("/{status_id:int}", opt=WRITE, sync_to_thread=True)
    def change(self, request: Req, status_id: FromPath[int], data: JSONBody[TicketStatusPatch]) -> TicketStatus:
        """Rename, reorder, switch pausing (tickets in the status start or end their pause at once). The type
        changes only while no ticket is in the status (409)."""
        row = desk_settings.update_status(rt(request), principal_of(request), actor_of(request), status_id,
                                          msgspec.to_builtins(data))
        return convert(row, TicketStatus)  # type: ignore[return-value]

    @delete("/{status_id:int}", opt=WRITE, sync_to_thread=True, status_code=HTTP_204_NO_CONTENT)
    def remove(self, request: Req, status_id: FromPath[int]) -> None:
        """409 while tickets are in it, or if it is the last of type new, or the last resolved/closed one."""
        desk_settings.delete_status(rt(request), principal_of(request), actor_of(request), status_id)


@get("/api/v1/ticket-numbering", opt=READ, tags=["tickets"], sync_to_thread=True)
def numbering_show(request: Req) -> TicketNumbering:
    """The prefix and the number the next ticket gets."""
    return convert(desk_settings.get_numbering(rt(request), principal_of(request)), TicketNumbering)  # type: ignore[return-value]


@put("/api/v1/ticket-numbering", opt=WRITE, tags=["tickets"], sync_to_thread=True)
def numbering_save(request: Req, data: JSONBody[TicketNumbering]) -> TicketNumbering:
    """Tenant-wide. `next_number` must lie above every number already given under the prefix (400 otherwise)."""
    row = desk_settings.save_numbering(rt(request), principal_of(request), actor_of(request),
                                       msgspec.to_builtins(data))
    return convert(row, TicketNumbering)  # type: ignore[return-value]


route_handlers = [TicketStatusController, numbering_show, numbering_save]
