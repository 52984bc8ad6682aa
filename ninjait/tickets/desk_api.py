"""REST API of the desk settings (teams, queues, routing rules, canned responses, macros, recurring tickets)
and of applying them to a ticket."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, delete, get, post, put
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_204_NO_CONTENT

from ninjait.identity.http import actor_of, principal_of
from ninjait.identity.models import convert
from ninjait.tickets import macros, recurring, routing, teams
from ninjait.tickets.desk_models import (
    CannedResponse, CannedResponseIn, Macro, MacroIn, Queue, QueueIn, RecurringTicket, RecurringTicketIn,
    RenderedText, RoutingRule, RoutingRuleIn, RuleOrder, Team, TeamIn,
)
from ninjait.tickets.models import TicketDetail

Req = Request[Any, Any, Any]
READ, WRITE = {"permission": "tickets.read"}, {"permission": "tickets.write"}
GONE = {"status_code": HTTP_204_NO_CONTENT}


def rt(request: Req) -> Any:
    return request.app.state.runtime


def _args(request: Req) -> tuple[Any, Any, Any]:
    return rt(request), principal_of(request), actor_of(request)


class TeamController(Controller):
    path = "/api/v1/ticket-teams"
    tags = ["tickets"]

    @get("/", opt=READ, sync_to_thread=True)
    def index(self, request: Req) -> list[Team]:
        return convert(teams.list_teams(rt(request), principal_of(request)), list[Team])  # type: ignore[return-value]

    @post("/", opt=WRITE, sync_to_thread=True)
    def create(self, request: Req, data: JSONBody[TeamIn]) -> Team:
        """Tenant-wide: needs tickets.write for every organization. Members are users of the tenant."""
        return convert(teams.save_team(*_args(request), msgspec.to_builtins(data)), Team)  # type: ignore[return-value]

    @get("/{team_id:int}", opt=READ, sync_to_thread=True)
    def show(self, request: Req, team_id: FromPath[int]) -> Team:
        return convert(teams.get_team(rt(request), principal_of(request), team_id), Team)  # type: ignore[return-value]

    @put("/{team_id:int}", opt=WRITE, sync_to_thread=True)
    def replace(self, request: Req, team_id: FromPath[int], data: JSONBody[TeamIn]) -> Team:
        return convert(teams.save_team(*_args(request), msgspec.to_builtins(data), team_id), Team)  # type: ignore[return-value]

    @delete("/{team_id:int}", opt=WRITE, sync_to_thread=True, **GONE)
    def remove(self, request: Req, team_id: FromPath[int]) -> None:
        """Its tickets and queues keep no team."""
        teams.delete_team(*_args(request), team_id)


class QueueController(Controller):
    path = "/api/v1/ticket-queues"
    tags = ["tickets"]

    @get("/", opt=READ, sync_to_thread=True)
    def index(self, request: Req) -> list[Queue]:
        return convert(teams.list_queues(rt(request), principal_of(request)), list[Queue])  # type: ignore[return-value]

    @post("/", opt=WRITE, sync_to_thread=True)
    def create(self, request: Req, data: JSONBody[QueueIn]) -> Queue:
        return convert(teams.save_queue(*_args(request), msgspec.to_builtins(data)), Queue)  # type: ignore[return-value]

    @get("/{queue_id:int}", opt=READ, sync_to_thread=True)
    def show(self, request: Req, queue_id: FromPath[int]) -> Queue:
        return convert(teams.get_queue(rt(request), principal_of(request), queue_id), Queue)  # type: ignore[return-value]

    @put("/{queue_id:int}", opt=WRITE, sync_to_thread=True)
    def replace(self, request: Req, queue_id: FromPath[int], data: JSONBody[QueueIn]) -> Queue:
        return convert(teams.save_queue(*_args(request), msgspec.to_builtins(data), queue_id), Queue)  # type: ignore[return-value]

    @delete("/{queue_id:int}", opt=WRITE, sync_to_thread=True, **GONE)
    def remove(self, request: Req, queue_id: FromPath[int]) -> None:
        teams.delete_queue(*_args(request), queue_id)


class RoutingRuleController(Controller):
    path = "/api/v1/routing-rules"
    tags = ["tickets"]

    @get("/", opt=READ, sync_to_thread=True)
    def index(self, request: Req) -> list[RoutingRule]:
        """In evaluation order."""
        return convert(routing.list_rules(rt(request), principal_of(request)), list[RoutingRule])  # type: ignore[return-value]

    @post("/", opt=WRITE, sync_to_thread=True)
    def create(self, request: Req, data: JSONBody[RoutingRuleIn]) -> RoutingRule:
        """Appended after the last rule. The first matching rule wins unless it has `continue_after`."""
        return convert(routing.save_rule(*_args(request), msgspec.to_builtins(data)), RoutingRule)  # type: ignore[return-value]

    @put("/order", opt=WRITE, sync_to_thread=True)
    def reorder(self, request: Req, data: JSONBody[RuleOrder]) -> list[RoutingRule]:
        """Every rule id of the tenant, in the new order."""
        return convert(routing.reorder_rules(*_args(request), data.rule_ids), list[RoutingRule])  # type: ignore[return-value]

    @get("/{routing_rule_id:int}", opt=READ, sync_to_thread=True)
    def show(self, request: Req, routing_rule_id: FromPath[int]) -> RoutingRule:
        return convert(routing.get_rule(rt(request), principal_of(request), routing_rule_id), RoutingRule)  # type: ignore[return-value]

    @put("/{routing_rule_id:int}", opt=WRITE, sync_to_thread=True)
    def replace(self, request: Req, routing_rule_id: FromPath[int], data: JSONBody[RoutingRuleIn]) -> RoutingRule:
        row = routing.save_rule(*_args(request), msgspec.to_builtins(data), routing_rule_id)
        return convert(row, RoutingRule)  # type: ignore[return-value]

    @delete("/{routing_rule_id:int}", opt=WRITE, sync_to_thread=True, **GONE)
    def remove(self, request: Req, routing_rule_id: FromPath[int]) -> None:
        routing.delete_rule(*_args(request), routing_rule_id)


class CannedResponseController(Controller):
    path = "/api/v1/canned-responses"
    tags = ["tickets"]

    @get("/", opt=READ, sync_to_thread=True)
    def index(self, request: Req) -> list[CannedResponse]:
        return convert(macros.list_canned(rt(request), principal_of(request)), list[CannedResponse])  # type: ignore[return-value]

    @post("/", opt=WRITE, sync_to_thread=True)
    def create(self, request: Req, data: JSONBody[CannedResponseIn]) -> CannedResponse:
        """The body is a sandboxed template, test-rendered now: a broken one answers 400 naming `body`."""
        return convert(macros.save_canned(*_args(request), msgspec.to_builtins(data)), CannedResponse)  # type: ignore[return-value]

    @get("/{canned_response_id:int}", opt=READ, sync_to_thread=True)
    def show(self, request: Req, canned_response_id: FromPath[int]) -> CannedResponse:
        return convert(macros.get_canned(rt(request), principal_of(request), canned_response_id), CannedResponse)  # type: ignore[return-value]

    @put("/{canned_response_id:int}", opt=WRITE, sync_to_thread=True)
    def replace(self, request: Req, canned_response_id: FromPath[int], data: JSONBody[CannedResponseIn]) -> CannedResponse:
        row = macros.save_canned(*_args(request), msgspec.to_builtins(data), canned_response_id)
        return convert(row, CannedResponse)  # type: ignore[return-value]

    @delete("/{canned_response_id:int}", opt=WRITE, sync_to_thread=True, **GONE)
    def remove(self, request: Req, canned_response_id: FromPath[int]) -> None:
        macros.delete_canned(*_args(request), canned_response_id)


class MacroController(Controller):
    path = "/api/v1/ticket-macros"
    tags = ["tickets"]

    @get("/", opt=READ, sync_to_thread=True)
    def index(self, request: Req) -> list[Macro]:
        return convert(macros.list_macros(rt(request), principal_of(request)), list[Macro])  # type: ignore[return-value]

    @post("/", opt=WRITE, sync_to_thread=True)
    def create(self, request: Req, data: JSONBody[MacroIn]) -> Macro:
        return convert(macros.save_macro(*_args(request), msgspec.to_builtins(data)), Macro)  # type: ignore[return-value]

    @get("/{macro_id:int}", opt=READ, sync_to_thread=True)
    def show(self, request: Req, macro_id: FromPath[int]) -> Macro:
        return convert(macros.get_macro(rt(request), principal_of(request), macro_id), Macro)  # type: ignore[return-value]

    @put("/{macro_id:int}", opt=WRITE, sync_to_thread=True)
    def replace(self, request: Req, macro_id: FromPath[int], data: JSONBody[MacroIn]) -> Macro:
        return convert(macros.save_macro(*_args(request), msgspec.to_builtins(data), macro_id), Macro)  # type: ignore[return-value]

    @delete("/{macro_id:int}", opt=WRITE, sync_to_thread=True, **GONE)
    def remove(self, request: Req, macro_id: FromPath[int]) -> None:
        macros.delete_macro(*_args(request), macro_id)


@post("/api/v1/tickets/{ticket_id:int}/macros/{macro_id:int}", opt=WRITE, tags=["tickets"], sync_to_thread=True,
      status_code=HTTP_200_OK)
def apply_macro(request: Req, ticket_id: FromPath[int], macro_id: FromPath[int]) -> TicketDetail:
    """Every action of the macro in one transaction: if one fails (400 naming it), nothing changes."""
    return convert(macros.apply_macro(*_args(request), ticket_id, macro_id), TicketDetail)  # type: ignore[return-value]


@get("/api/v1/tickets/{ticket_id:int}/canned-responses/{canned_response_id:int}", opt=READ, tags=["tickets"],
     sync_to_thread=True)
def render_canned(request: Req, ticket_id: FromPath[int], canned_response_id: FromPath[int]) -> RenderedText:
    """The canned response rendered for this ticket (to insert into a reply)."""
    body = macros.render_canned(rt(request), principal_of(request), ticket_id, canned_response_id)
    return RenderedText(body=body)


class RecurringController(Controller):
    path = "/api/v1/recurring-tickets"
    tags = ["tickets"]

    @get("/", opt=READ, sync_to_thread=True)
    def index(self, request: Req) -> list[RecurringTicket]:
        return convert(recurring.list_recurring(rt(request), principal_of(request)), list[RecurringTicket])  # type: ignore[return-value]

    @post("/", opt=WRITE, sync_to_thread=True)
    def create(self, request: Req, data: JSONBody[RecurringTicketIn]) -> RecurringTicket:
        """Opens a ticket with source `recurring` at each occurrence (once; after downtime, one for the latest)."""
        row = recurring.save_recurring(*_args(request), msgspec.to_builtins(data))
        return convert(row, RecurringTicket)  # type: ignore[return-value]

    @get("/{recurring_id:int}", opt=READ, sync_to_thread=True)
    def show(self, request: Req, recurring_id: FromPath[int]) -> RecurringTicket:
        return convert(recurring.get_recurring(rt(request), principal_of(request), recurring_id), RecurringTicket)  # type: ignore[return-value]

    @put("/{recurring_id:int}", opt=WRITE, sync_to_thread=True)
    def replace(self, request: Req, recurring_id: FromPath[int], data: JSONBody[RecurringTicketIn]) -> RecurringTicket:
        row = recurring.save_recurring(*_args(request), msgspec.to_builtins(data), recurring_id)
        return convert(row, RecurringTicket)  # type: ignore[return-value]

    @delete("/{recurring_id:int}", opt=WRITE, sync_to_thread=True, **GONE)
    def remove(self, request: Req, recurring_id: FromPath[int]) -> None:
        recurring.delete_recurring(*_args(request), recurring_id)

    @post("/{recurring_id:int}/pause", opt=WRITE, sync_to_thread=True, status_code=HTTP_200_OK)
    def pause(self, request: Req, recurring_id: FromPath[int]) -> RecurringTicket:
        return convert(recurring.set_paused(*_args(request), recurring_id, True), RecurringTicket)  # type: ignore[return-value]

    @post("/{recurring_id:int}/resume", opt=WRITE, sync_to_thread=True, status_code=HTTP_200_OK)
    def resume(self, request: Req, recurring_id: FromPath[int]) -> RecurringTicket:
        """From the next occurrence after now: the pause is not caught up."""
        return convert(recurring.set_paused(*_args(request), recurring_id, False), RecurringTicket)  # type: ignore[return-value]

    @post("/{recurring_id:int}/run", opt=WRITE, sync_to_thread=True)
    def run(self, request: Req, recurring_id: FromPath[int]) -> TicketDetail:
        """Open the template's ticket now; the schedule is unchanged."""
        return convert(recurring.run_now(*_args(request), recurring_id), TicketDetail)  # type: ignore[return-value]


route_handlers = [TeamController, QueueController, RoutingRuleController, CannedResponseController, MacroController,
                  apply_macro, render_canned, RecurringController]
