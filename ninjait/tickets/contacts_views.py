"""Pages of contacts: the list (search, organization filter, add) and one contact (edit, organizations, delete,
recent tickets)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from ninjait.core.errors import ServiceError
from ninjait.identity import service as identity
from ninjait.identity.http import actor_of, principal_of
from ninjait.identity.views import FormData, _back, field, form_int, values
from ninjait.portal import accounts
from ninjait.tickets import contacts, service
from ninjait.ui.pages import page

Req = Request[Any, Any, Any]
READ, WRITE = {"permission": "tickets.read"}, {"permission": "tickets.write"}


def rt(request: Req) -> Any:
    return request.app.state.runtime



def _form(data: dict[str, Any]) -> dict[str, Any]:
    # The organization boxes are on the form only for those who may change them all ("orgs_shown").
    orgs = [int(o) for o in values(data, "organization_ids", 60) if o.isdigit()] if "orgs_shown" in data else None
    return {"name": field(data, "name", 201), "email": field(data, "email", 255), "phone": field(data, "phone", 51),
            "title": field(data, "title", 101), "organization_id": form_int(field(data, "organization_id", 20)),
            "organization_ids": orgs}


def _orgs(request: Req, p: Any) -> dict[int, str]:
    return {o["id"]: o["name"] for o in identity.list_organizations(rt(request), p)}


def _list_page(request: Req, *, q: str = "", organization_id: int | None = None, error: str = "",
               form: dict[str, Any] | None = None, status_code: int = 200) -> Template:
    p = principal_of(request)
    rows: list[dict[str, Any]] = []
    try:
        rows = contacts.list_contacts(rt(request), p, organization_id, q)
    except ServiceError as exc:
        error = error or exc.message
    return page(request, "tickets/contacts.html", status_code=status_code, active="tickets", contacts=rows, q=q,
                organization_id=organization_id, orgs=_orgs(request, p), error=error, form=form or {},
                can_write=p.can_somewhere("tickets.write"))


@get("/contacts", opt=READ, include_in_schema=False, sync_to_thread=True)
def contacts_page(request: Req, q: FromQuery[str] = "", organization_id: FromQuery[str] = "") -> Template:
    return _list_page(request, q=q[:100], organization_id=form_int(organization_id[:20]))


@post("/contacts", opt=WRITE, include_in_schema=False, sync_to_thread=True)
def contact_create(request: Req, data: FormData) -> Response[Any]:
    form = {**_form(data), "organization_ids": []}
    try:
        made = contacts.create_contact(rt(request), principal_of(request), actor_of(request), form)
    except ServiceError as exc:
        return _list_page(request, error=exc.message, form=form, status_code=exc.status)
    return _back(f"/contacts/{made['id']}", "saved")


def _contact_page(request: Req, contact_id: int, *, error: str = "", status_code: int = 200) -> Template:
    p = principal_of(request)
    contact = contacts.get_contact(rt(request), p, contact_id)
    tickets, _ = service.list_tickets(rt(request), p, view="all", contact_id=contact_id, per_page=20)
    return page(request, "tickets/contact.html", status_code=status_code, active="tickets", contact=contact,
                tickets=tickets, orgs=_orgs(request, p), error=error,
                can_write=any(p.can("tickets.write", o) for o in contact["organization_ids"]),
                can_move=p.can("tickets.write"),
                portal=accounts.get_access(rt(request), p, contact_id))


@get("/contacts/{contact_id:int}", opt=READ, include_in_schema=False, sync_to_thread=True)
def contact_page(request: Req, contact_id: FromPath[int]) -> Template:
    return _contact_page(request, contact_id)


@post("/contacts/{contact_id:int}", opt=WRITE, include_in_schema=False, sync_to_thread=True)
def contact_update(request: Req, contact_id: FromPath[int], data: FormData) -> Response[Any]:
    form = _form(data)
    try:
        contacts.update_contact(rt(request), principal_of(request), actor_of(request), contact_id, form)
    except ServiceError as exc:
        return _contact_page(request, contact_id, error=exc.message, status_code=exc.status)
    return _back(f"/contacts/{contact_id}", "saved")


@post("/contacts/{contact_id:int}/delete", opt=WRITE, include_in_schema=False, sync_to_thread=True)
def contact_delete(request: Req, contact_id: FromPath[int]) -> Response[Any]:
    try:
        contacts.delete_contact(rt(request), principal_of(request), actor_of(request), contact_id)
    except ServiceError as exc:
        return _contact_page(request, contact_id, error=exc.message, status_code=exc.status)
    return _back("/contacts", "saved")


route_handlers = [contacts_page, contact_create, contact_page, contact_update, contact_delete]
