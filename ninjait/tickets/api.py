"""REST API of tickets, their comments and statuses, and contacts."""

from __future__ import annotations

from typing import Any

import anyio
import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post, put
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_204_NO_CONTENT

from ninjait.core.errors import Invalid
from ninjait.identity.http import actor_of, principal_of
from ninjait.identity.models import convert
from ninjait.tickets import alert_tickets, contacts, ical, service, sla_policies
from ninjait.tickets.models import (
    Contact, ContactIn, ContactPatch, HolidayImport, SlaCalendar, SlaCalendarIn, SlaCalendarPatch, SlaPolicy,
    SlaPolicyIn, SlaPolicyPatch, Ticket, TicketAlertSettings,
    TicketComment, TicketCommentIn, TicketDetail, TicketIn, TicketPatch,
)

Req = Request[Any, Any, Any]
READ, WRITE = {"permission": "tickets.read"}, {"permission": "tickets.write"}


def rt(request: Req) -> Any:
    return request.app.state.runtime


class TicketController(Controller):
    path = "/api/v1/tickets"
    tags = ["tickets"]

    @get("/", opt=READ, sync_to_thread=True)
    def index(self, request: Req, view: FromQuery[str] = "", status_id: FromQuery[int | None] = None,
              status_type: FromQuery[str] = "", priority: FromQuery[str] = "",
              organization_id: FromQuery[int | None] = None, assignee_id: FromQuery[int | None] = None,
              contact_id: FromQuery[int | None] = None, queue_id: FromQuery[int | None] = None,
              team_id: FromQuery[int | None] = None, page: FromQuery[int] = 1,
              per_page: FromQuery[int] = 50, q: FromQuery[str] = "") -> Response[list[Ticket]]:
        """`view`: open (default: neither resolved nor closed), mine, unassigned, all. A status filter lists
        tickets of that status whatever the view. P1 first, then the most recently updated; the total is in
        `X-Total-Count`. `q`: full-text search over number, subject, description and comments (every word, as a
        prefix); then the default view is all, the best match comes first and each ticket has a `snippet`."""
        rows, total = service.list_tickets(rt(request), principal_of(request), view=view, status_id=status_id,
                                           status_type=status_type, priority=priority,
                                           organization_id=organization_id, assignee_id=assignee_id,
                                           contact_id=contact_id, queue_id=queue_id, team_id=team_id, page=page,
                                           per_page=per_page, q=q)
        return Response(convert(rows, list[Ticket]), headers={"X-Total-Count": str(total)})  # type: ignore[arg-type]

    @post("/", opt=WRITE, sync_to_thread=True)
    def create(self, request: Req, data: JSONBody[TicketIn]) -> TicketDetail:
        """Opens in the tenant's first status of type new unless `status_id` is given; the number comes from the
        tenant's sequence (`T-1001`, ...). Setting an assignee needs tickets.assign."""
        row = service.create_ticket(rt(request), principal_of(request), actor_of(request), msgspec.to_builtins(data),
                                    source="api")
        return convert(row, TicketDetail)  # type: ignore[return-value]

    @get("/{ticket_id:int}", opt=READ, sync_to_thread=True)
    def show(self, request: Req, ticket_id: FromPath[int]) -> TicketDetail:
        """The ticket, its linked devices, comments and transitions (status, assignee, priority changes)."""
        return convert(service.get_ticket(rt(request), principal_of(request), ticket_id), TicketDetail)  # type: ignore[return-value]

    @patch("/{ticket_id:int}", opt=WRITE, sync_to_thread=True)
    def change(self, request: Req, ticket_id: FromPath[int], data: JSONBody[TicketPatch]) -> TicketDetail:
        """Change some fields; a status of type resolved or closed publishes `ticket.closed`."""
        row = service.update_ticket(rt(request), principal_of(request), actor_of(request), ticket_id,
                                    msgspec.to_builtins(data))
        return convert(row, TicketDetail)  # type: ignore[return-value]

    @post("/{ticket_id:int}/comments", opt=WRITE, sync_to_thread=True)
    def comment(self, request: Req, ticket_id: FromPath[int], data: JSONBody[TicketCommentIn]) -> TicketComment:
        """`reply` (public) or `note` (internal). The first reply by a person is the ticket's first response."""
        row = service.add_comment(rt(request), principal_of(request), actor_of(request), ticket_id, data.kind,
                                  data.body)
        return convert(row, TicketComment)  # type: ignore[return-value]


class ContactController(Controller):
    path = "/api/v1/contacts"
    tags = ["tickets"]

    @get("/", opt=READ, sync_to_thread=True)
    def index(self, request: Req, organization_id: FromQuery[int | None] = None, q: FromQuery[str] = "") -> list[Contact]:
        """Contacts of the organizations you can see (of one with `organization_id`; `q` matches name, e-mail or
        phone); at most 1,000."""
        rows = contacts.list_contacts(rt(request), principal_of(request), organization_id, q)
        return convert(rows, list[Contact])  # type: ignore[return-value]

    @post("/", opt=WRITE, sync_to_thread=True)
    def create(self, request: Req, data: JSONBody[ContactIn]) -> Contact:
        row = contacts.create_contact(rt(request), principal_of(request), actor_of(request), msgspec.to_builtins(data))
        return convert(row, Contact)  # type: ignore[return-value]

    @get("/{contact_id:int}", opt=READ, sync_to_thread=True)
    def show(self, request: Req, contact_id: FromPath[int]) -> Contact:
        return convert(contacts.get_contact(rt(request), principal_of(request), contact_id), Contact)  # type: ignore[return-value]

    @patch("/{contact_id:int}", opt=WRITE, sync_to_thread=True)
    def change(self, request: Req, contact_id: FromPath[int], data: JSONBody[ContactPatch]) -> Contact:
        row = contacts.update_contact(rt(request), principal_of(request), actor_of(request), contact_id,
                                      msgspec.to_builtins(data))
        return convert(row, Contact)  # type: ignore[return-value]

    @delete("/{contact_id:int}", opt=WRITE, sync_to_thread=True, status_code=HTTP_204_NO_CONTENT)
    def remove(self, request: Req, contact_id: FromPath[int]) -> None:
        contacts.delete_contact(rt(request), principal_of(request), actor_of(request), contact_id)


class SlaCalendarController(Controller):
    path = "/api/v1/sla-calendars"
    tags = ["tickets"]

    @get("/", opt=READ, sync_to_thread=True)
    def index(self, request: Req) -> list[SlaCalendar]:
        return convert(sla_policies.list_calendars(rt(request), principal_of(request)), list[SlaCalendar])  # type: ignore[return-value]

    @post("/", opt=WRITE, sync_to_thread=True)
    def create(self, request: Req, data: JSONBody[SlaCalendarIn]) -> SlaCalendar:
        """Tenant-wide: needs tickets.write for every organization."""
        row = sla_policies.create_calendar(rt(request), principal_of(request), actor_of(request),
                                           msgspec.to_builtins(data))
        return convert(row, SlaCalendar)  # type: ignore[return-value]

    @get("/{calendar_id:int}", opt=READ, sync_to_thread=True)
    def show(self, request: Req, calendar_id: FromPath[int]) -> SlaCalendar:
        return convert(sla_policies.get_calendar(rt(request), principal_of(request), calendar_id), SlaCalendar)  # type: ignore[return-value]

    @patch("/{calendar_id:int}", opt=WRITE, sync_to_thread=True)
    def change(self, request: Req, calendar_id: FromPath[int], data: JSONBody[SlaCalendarPatch]) -> SlaCalendar:
        """Absent fields stay. Open tickets' clocks follow the new hours at once."""
        row = sla_policies.update_calendar(rt(request), principal_of(request), actor_of(request), calendar_id,
                                           msgspec.to_builtins(data))
        return convert(row, SlaCalendar)  # type: ignore[return-value]

    @post("/{calendar_id:int}/holidays/import", opt=WRITE, status_code=200,
          request_max_body_size=ical.MAX_BYTES + 1024)
    async def import_holidays(self, request: Req, calendar_id: FromPath[int], replace: FromQuery[bool] = False,
                              ) -> HolidayImport:
        """Body: an iCalendar file (`Content-Type: text/calendar`, UTF-8, up to 2 MiB). Every day its all-day
        events cover becomes a holiday (fixed-date yearly events for five years); `replace=true` drops the
        holidays there were. Events whose recurrence is not understood are listed in `skipped`."""
        try:
            text = (await request.body()).decode("utf-8-sig")
        except UnicodeDecodeError:
            raise Invalid("the iCalendar file is not UTF-8 text", field="file") from None
        row = await anyio.to_thread.run_sync(lambda: sla_policies.import_holidays(
            rt(request), principal_of(request), actor_of(request), calendar_id, text, replace))
        return convert(row, HolidayImport)  # type: ignore[return-value]

    @delete("/{calendar_id:int}", opt=WRITE, sync_to_thread=True, status_code=HTTP_204_NO_CONTENT)
    def remove(self, request: Req, calendar_id: FromPath[int]) -> None:
        """409 while a policy uses it."""
        sla_policies.delete_calendar(rt(request), principal_of(request), actor_of(request), calendar_id)


class SlaPolicyController(Controller):
    path = "/api/v1/sla-policies"
    tags = ["tickets"]

    @get("/", opt=READ, sync_to_thread=True)
    def index(self, request: Req) -> list[SlaPolicy]:
        return convert(sla_policies.list_policies(rt(request), principal_of(request)), list[SlaPolicy])  # type: ignore[return-value]

    @post("/", opt=WRITE, sync_to_thread=True)
    def create(self, request: Req, data: JSONBody[SlaPolicyIn]) -> SlaPolicy:
        """New tickets (and tickets whose priority changes) get the most specific policy: organization and
        priority, organization, priority, then the default (neither)."""
        row = sla_policies.create_policy(rt(request), principal_of(request), actor_of(request),
                                         msgspec.to_builtins(data))
        return convert(row, SlaPolicy)  # type: ignore[return-value]

    @get("/{sla_policy_id:int}", opt=READ, sync_to_thread=True)
    def show(self, request: Req, sla_policy_id: FromPath[int]) -> SlaPolicy:
        return convert(sla_policies.get_policy(rt(request), principal_of(request), sla_policy_id), SlaPolicy)  # type: ignore[return-value]

    @patch("/{sla_policy_id:int}", opt=WRITE, sync_to_thread=True)
    def change(self, request: Req, sla_policy_id: FromPath[int], data: JSONBody[SlaPolicyPatch]) -> SlaPolicy:
        """Absent fields stay; `organization_id` 0 makes it apply to any organization. Tickets keep their policy
        and their clocks follow its new targets."""
        row = sla_policies.update_policy(rt(request), principal_of(request), actor_of(request), sla_policy_id,
                                         msgspec.to_builtins(data))
        return convert(row, SlaPolicy)  # type: ignore[return-value]

    @delete("/{sla_policy_id:int}", opt=WRITE, sync_to_thread=True, status_code=HTTP_204_NO_CONTENT)
    def remove(self, request: Req, sla_policy_id: FromPath[int]) -> None:
        sla_policies.delete_policy(rt(request), principal_of(request), actor_of(request), sla_policy_id)


@get("/api/v1/ticket-alert-settings", opt=READ, tags=["tickets"], sync_to_thread=True)
def alert_settings_show(request: Req) -> TicketAlertSettings:
    return convert(alert_tickets.get_settings(rt(request), principal_of(request)), TicketAlertSettings)  # type: ignore[return-value]


@put("/api/v1/ticket-alert-settings", opt=WRITE, tags=["tickets"], sync_to_thread=True)
def alert_settings_save(request: Req, data: JSONBody[TicketAlertSettings]) -> TicketAlertSettings:
    """Priority from severity: critical P1, warning P2, info P3. A later alert of the same rule on the same
    device adds a note to the open ticket. Tenant-wide: needs tickets.write for every organization."""
    row = alert_tickets.save_settings(rt(request), principal_of(request), actor_of(request), data.min_severity,
                                      data.resolve_with_alert)
    return convert(row, TicketAlertSettings)  # type: ignore[return-value]


route_handlers = [alert_settings_show, alert_settings_save, TicketController, ContactController, SlaCalendarController, SlaPolicyController]
