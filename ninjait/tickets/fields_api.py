"""Custom fields of tickets: REST (/api/v1/ticket-fields) and the settings page (/settings/ticket-fields).

The definitions and their validation are the device custom fields' (ninjait/devices/fields.py) with
``applies_to="ticket"``; changing them needs tickets.write in every organization."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, delete, get, post, put
from litestar.params import FromPath, JSONBody
from litestar.response import Template
from litestar.status_codes import HTTP_204_NO_CONTENT

from ninjait.core.errors import ServiceError
from ninjait.devices import fields
from ninjait.devices.models import CustomField, CustomFieldIn, CustomFieldUpdate
from ninjait.identity.http import actor_of, principal_of
from ninjait.identity.models import convert
from ninjait.identity.views import FormData, _back, field
from ninjait.ui.pages import page

Req = Request[Any, Any, Any]
READ, WRITE = {"permission": "tickets.read"}, {"permission": "tickets.write"}
TICKET = "ticket"
BASE = "/settings/ticket-fields"


def rt(request: Req) -> Any:
    return request.app.state.runtime


class TicketFieldController(Controller):
    path = "/api/v1/ticket-fields"
    tags = ["tickets"]

    @get("/", opt=READ, sync_to_thread=True)
    def index(self, request: Req) -> list[CustomField]:
        """Typed fields every ticket of the tenant may carry (`custom_fields` on a ticket, by key)."""
        return convert(fields.list_fields(rt(request), principal_of(request), TICKET), list[CustomField])  # type: ignore[return-value]

    @post("/", opt=WRITE, sync_to_thread=True)
    def create(self, request: Req, data: JSONBody[CustomFieldIn]) -> CustomField:
        """Needs tickets.write in every organization. A required field is required on tickets people open (web,
        API), not on those opened by alerts or schedules. Keys are shared with device fields (409)."""
        row = fields.create_field(rt(request), principal_of(request), actor_of(request), data.key, data.label,
                                  data.type, data.choices, data.required, TICKET)
        return convert(row, CustomField)  # type: ignore[return-value]

    @get("/{field_id:int}", opt=READ, sync_to_thread=True)
    def show(self, request: Req, field_id: FromPath[int]) -> CustomField:
        return convert(fields.get_field(rt(request), principal_of(request), field_id, TICKET), CustomField)  # type: ignore[return-value]

    @put("/{field_id:int}", opt=WRITE, sync_to_thread=True)
    def update(self, request: Req, field_id: FromPath[int], data: JSONBody[CustomFieldUpdate]) -> CustomField:
        row = fields.update_field(rt(request), principal_of(request), actor_of(request), field_id, data.label,
                                  data.choices, data.required, TICKET)
        return convert(row, CustomField)  # type: ignore[return-value]

    @delete("/{field_id:int}", opt=WRITE, sync_to_thread=True, status_code=HTTP_204_NO_CONTENT)
    def remove(self, request: Req, field_id: FromPath[int]) -> None:
        """Removes the values tickets hold."""
        fields.delete_field(rt(request), principal_of(request), actor_of(request), field_id, TICKET)


def _page(request: Req, *, status_code: int = 200, error: str = "", form: dict[str, Any] | None = None) -> Template:
    p = principal_of(request)
    return page(request, "devices/custom_fields.html", status_code=status_code, active="settings", error=error,
                fields=fields.list_fields(rt(request), p, TICKET), form=form or {}, base=BASE, what=TICKET,
                can_write=p.can("tickets.write"), types=fields.TYPES)


def _choices(data: dict[str, Any]) -> list[str]:
    return [c for c in field(data, "choices", 5000).split(",") if c.strip()]


@get(BASE, opt=READ, include_in_schema=False, sync_to_thread=True)
def fields_page(request: Req) -> Template:
    return _page(request)


@post(BASE, opt=WRITE, include_in_schema=False, sync_to_thread=True)
def fields_create(request: Req, data: FormData) -> Response[Any]:
    try:
        fields.create_field(rt(request), principal_of(request), actor_of(request), field(data, "key", 40),
                            field(data, "label", 100), field(data, "type", 10), _choices(data),
                            field(data, "required", 5) == "on", TICKET)
    except ServiceError as exc:
        return _page(request, status_code=exc.status, error=exc.message, form=dict(data))
    return _back(BASE, "saved")


@post(BASE + "/{field_id:int}", opt=WRITE, include_in_schema=False, sync_to_thread=True)
def fields_update(request: Req, field_id: FromPath[int], data: FormData) -> Response[Any]:
    p = principal_of(request)
    fields.get_field(rt(request), p, field_id, TICKET)  # 404 first
    try:
        fields.update_field(rt(request), p, actor_of(request), field_id, field(data, "label", 100), _choices(data),
                            field(data, "required", 5) == "on", TICKET)
    except ServiceError as exc:
        return _page(request, status_code=exc.status, error=exc.message)
    return _back(BASE, "saved")


@post(BASE + "/{field_id:int}/delete", opt=WRITE, include_in_schema=False, sync_to_thread=True)
def fields_delete(request: Req, field_id: FromPath[int]) -> Response[Any]:
    fields.delete_field(rt(request), principal_of(request), actor_of(request), field_id, TICKET)
    return _back(BASE, "saved")


route_handlers = [TicketFieldController, fields_page, fields_create, fields_update, fields_delete]
