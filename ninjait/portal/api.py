"""Staff side of the client portal: a contact's portal access (REST and the contact page's form), a sign-in
link sent to them, and the portal's branding (REST and /settings/portal)."""

from __future__ import annotations

from typing import Annotated, Any

import anyio

import msgspec
from litestar import Request, Response, get, post, put
from litestar.datastructures import UploadFile
from litestar.params import FromPath, JSONBody
from litestar.response import Template
from msgspec import Meta, Struct

from ninjait.core.errors import Invalid, ServiceError
from ninjait.identity.http import actor_of, client_ip, principal_of
from ninjait.identity.models import convert
from ninjait.identity.views import FormData, _back, field
from ninjait.portal import accounts, service
from ninjait.tickets import contacts
from ninjait.ui.pages import page

Req = Request[Any, Any, Any]
READ, WRITE = {"permission": "tickets.read"}, {"permission": "tickets.write"}


def rt(request: Req) -> Any:
    return request.app.state.runtime


class PortalAccess(Struct):
    enabled: bool
    sees_organization: bool
    password_set: bool
    last_login_at: int | None


class PortalAccessIn(Struct, forbid_unknown_fields=True):
    """`sees_organization`: every ticket of the contact's organizations, not only their own (and the time spent).
    `password`: optional (checked like staff passwords); without one the contact signs in with e-mail links."""

    enabled: bool
    sees_organization: bool = False
    password: Annotated[str, Meta(max_length=128)] = ""


class PortalBranding(Struct, forbid_unknown_fields=True):
    title: Annotated[str, Meta(max_length=100)] = ""
    accent: Annotated[str, Meta(max_length=7)] = "#206bc4"
    welcome: Annotated[str, Meta(max_length=2000)] = ""


@get("/api/v1/contacts/{contact_id:int}/portal", opt=READ, tags=["portal"], sync_to_thread=True)
def access_show(request: Req, contact_id: FromPath[int]) -> PortalAccess:
    return convert(accounts.get_access(rt(request), principal_of(request), contact_id), PortalAccess)  # type: ignore[return-value]


@put("/api/v1/contacts/{contact_id:int}/portal", opt=WRITE, tags=["portal"], sync_to_thread=True)
def access_save(request: Req, contact_id: FromPath[int], data: JSONBody[PortalAccessIn]) -> PortalAccess:
    """Needs tickets.write in every organization of the contact. Turning access off (or setting a password) ends
    the contact's portal sessions."""
    row = accounts.set_access(rt(request), principal_of(request), actor_of(request), contact_id, data.enabled,
                              data.sees_organization, data.password)
    return convert(row, PortalAccess)  # type: ignore[return-value]


def invite(request: Req, contact_id: int) -> None:
    p = principal_of(request)
    contact = contacts.get_contact(rt(request), p, contact_id)
    if not accounts.get_access(rt(request), p, contact_id)["enabled"]:
        raise Invalid("turn on the contact's portal access first", field="enabled")
    with rt(request).db.read() as c:
        slug = c.value("SELECT slug FROM tenants WHERE id = ?", (p.tenant_id,))
    token = accounts.request_link(rt(request), slug, contact["email"], client_ip(request))
    if token:
        from ninjait.portal import tasks

        tasks.send_sign_in_link(contact["email"], slug, token, service.branding(rt(request), p.tenant_id)["title"])
    rt(request).bus.emit("portal_access.invited", p.tenant_id, actor_of(request).as_dict(), object_type="contact",
                         object_id=contact_id, summary={"email": contact["email"]})


@post("/api/v1/contacts/{contact_id:int}/portal/invite", opt=WRITE, tags=["portal"], sync_to_thread=True,
      status_code=202)
def access_invite(request: Req, contact_id: FromPath[int]) -> None:
    """E-mail the contact a sign-in link (valid 15 minutes, once)."""
    invite(request, contact_id)


@get("/api/v1/portal-branding", opt=READ, tags=["portal"], sync_to_thread=True)
def branding_show(request: Req) -> PortalBranding:
    return convert(service.stored_branding(rt(request), principal_of(request)), PortalBranding)  # type: ignore[return-value]


@put("/api/v1/portal-branding", opt={"permission": "settings.write"}, tags=["portal"], sync_to_thread=True)
def branding_save(request: Req, data: JSONBody[PortalBranding]) -> PortalBranding:
    """Title (empty: the tenant's name), accent colour (#rrggbb), welcome text on the portal's home page."""
    row = service.save_branding(rt(request), principal_of(request), actor_of(request), msgspec.to_builtins(data))
    return convert(row, PortalBranding)  # type: ignore[return-value]


# --- pages ---------------------------------------------------------------------------------------------

def _settings_page(request: Req, *, error: str = "", status_code: int = 200) -> Template:
    p = principal_of(request)
    with rt(request).db.read() as c:
        slug = c.value("SELECT slug FROM tenants WHERE id = ?", (p.tenant_id,))
    return page(request, "portal/settings.html", status_code=status_code, active="settings", error=error,
                branding=service.stored_branding(rt(request), p), slug=slug,
                has_logo=service.branding(rt(request), p.tenant_id)["has_logo"], url=f"{rt(request).settings.base_url}/portal/{slug}",
                can_write=p.can("settings.write"))


@get("/settings/portal", opt=READ, include_in_schema=False, sync_to_thread=True)
def settings_page(request: Req) -> Template:
    return _settings_page(request)


@post("/settings/portal", opt={"permission": "settings.write"}, include_in_schema=False, sync_to_thread=True)
def settings_save(request: Req, data: FormData) -> Response[Any]:
    try:
        service.save_branding(rt(request), principal_of(request), actor_of(request), {
            "title": field(data, "title", 101), "accent": field(data, "accent", 8),
            "welcome": field(data, "welcome", 2001)})
    except ServiceError as exc:
        return _settings_page(request, error=exc.message, status_code=exc.status)
    return _back("/settings/portal", "saved")


@put("/api/v1/portal-branding/logo", opt={"permission": "settings.write"}, tags=["portal"], status_code=204,
     request_max_body_size=service.LOGO_MAX + 1024)
async def logo_save(request: Req) -> None:
    """Body: the image itself (PNG, JPEG or WebP, at most 256 KiB; an empty body removes the logo)."""
    data = await request.body()
    await anyio.to_thread.run_sync(lambda: service.save_logo(rt(request), principal_of(request), actor_of(request),
                                                             data))


@post("/settings/portal/logo", opt={"permission": "settings.write"}, include_in_schema=False,
      request_max_body_size=service.LOGO_MAX + 64 * 1024)
async def logo_form(request: Req) -> Response[Any]:
    form = await request.form()
    upload = form.get("logo")
    data = await upload.read() if isinstance(upload, UploadFile) else b""

    def run() -> Response[Any]:
        try:
            service.save_logo(rt(request), principal_of(request), actor_of(request),
                              b"" if form.get("remove") == "on" else data)
        except ServiceError as exc:
            return _settings_page(request, error=exc.message, status_code=exc.status)
        return _back("/settings/portal", "saved")

    return await anyio.to_thread.run_sync(run)


@post("/contacts/{contact_id:int}/portal", opt=WRITE, include_in_schema=False, sync_to_thread=True)
def contact_access(request: Req, contact_id: FromPath[int], data: FormData) -> Response[Any]:
    from ninjait.tickets.contacts_views import _contact_page

    try:
        accounts.set_access(rt(request), principal_of(request), actor_of(request), contact_id,
                            field(data, "enabled", 5) == "on", field(data, "sees_organization", 5) == "on",
                            field(data, "password", 129))
        if field(data, "invite", 5) == "on":
            invite(request, contact_id)
    except ServiceError as exc:
        if exc.status == 404:
            raise
        return _contact_page(request, contact_id, error=exc.message, status_code=exc.status)
    return _back(f"/contacts/{contact_id}", "saved")


route_handlers = [access_show, access_save, access_invite, branding_show, branding_save, logo_save, settings_page,
                  settings_save, logo_form, contact_access]
