"""The client portal's pages, under /portal/<tenant slug>: sign-in (password or e-mail link), the contact's
tickets, one ticket with its public conversation, a new ticket, and the time spent this month. Its own layout
(no staff navigation), its own session cookie, the tenant's branding (title, accent colour via theme.css)."""

from __future__ import annotations

from typing import Any

import anyio

from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.datastructures import UploadFile
from litestar.response import File, Redirect, Template

from ninjait.core.errors import NotFound, ServiceError
from ninjait.identity.http import PORTAL_COOKIE, client_ip
from ninjait.identity.views import FormData, field, form_int
from ninjait.portal import accounts, service
from ninjait.portal.accounts import PortalUser
from ninjait.tickets import kb, service as tickets
from ninjait.tickets.collab_api import UPLOAD_LIMITS, download_response

Req = Request[Any, Any, Any]
PUBLIC, PORTAL = {"public": True}, {"portal": True}


def rt(request: Req) -> Any:
    return request.app.state.runtime


def user_of(request: Req) -> PortalUser:
    return request.scope["state"]["portal"]  # type: ignore[no-any-return]


def _page(request: Req, slug: str, template: str, *, status_code: int = 200, **context: Any) -> Template:
    tenant = accounts.tenant_by_slug(rt(request), slug)
    user = request.scope.get("state", {}).get("portal")
    return Template(template_name=template, status_code=status_code, context={
        **context, "slug": slug, "brand": service.branding(rt(request), tenant["id"]), "user": user,
        "csrf": user.csrf_token if user else "", "msg": request.query_params.get("msg", "")})


def _signed_in(request: Req, slug: str, token: str) -> Response[Any]:
    user = accounts.user_for_session(rt(request), token)
    target = f"/portal/{slug}/mfa" if user is not None and user.stage == "mfa" else f"/portal/{slug}"
    response: Response[Any] = Redirect(target, status_code=303)
    response.set_cookie(PORTAL_COOKIE, token, path="/", secure=True, httponly=True, samesite="lax",
                        max_age=accounts.SESSION_SECONDS)
    return response


@get("/portal/{slug:str}/theme.css", opt=PUBLIC, include_in_schema=False, sync_to_thread=True)
def theme(request: Req, slug: FromPath[str]) -> Response[str]:
    """The tenant's accent colour as CSS (the pages allow no inline styles)."""
    brand = service.branding(rt(request), accounts.tenant_by_slug(rt(request), slug)["id"])
    return Response(f":root{{--tblr-primary:{brand['accent']};--portal-accent:{brand['accent']}}}\n",
                    media_type="text/css", headers={"Cache-Control": "no-cache"})


@get("/portal/{slug:str}/logo", opt=PUBLIC, include_in_schema=False, sync_to_thread=True)
def logo(request: Req, slug: FromPath[str]) -> Response[bytes]:
    found = service.logo(rt(request), accounts.tenant_by_slug(rt(request), slug)["id"])
    if found is None:
        raise NotFound("no logo")
    return Response(found[0], media_type=found[1], headers={"Cache-Control": "no-cache",
                                                            "X-Content-Type-Options": "nosniff"})


@get("/portal/{slug:str}/login", opt=PUBLIC, include_in_schema=False, sync_to_thread=True)
def login_page(request: Req, slug: FromPath[str]) -> Response[Any]:
    user = request.scope.get("state", {}).get("portal")
    if user is not None and user.tenant_slug == slug and user.stage == "mfa":
        return Redirect(f"/portal/{slug}/mfa", status_code=303)
    return _page(request, slug, "portal/login.html")


@get("/portal/{slug:str}/mfa", opt={"portal": "mfa"}, include_in_schema=False, sync_to_thread=True)
def mfa_page(request: Req, slug: FromPath[str]) -> Template:
    return _page(request, slug, "portal/mfa.html")


@post("/portal/{slug:str}/mfa", opt={"portal": "mfa"}, include_in_schema=False, sync_to_thread=True)
def mfa(request: Req, slug: FromPath[str], data: FormData) -> Response[Any]:
    try:
        accounts.complete_mfa(rt(request), user_of(request), field(data, "code", 20), client_ip(request))
    except ServiceError as exc:
        return _page(request, slug, "portal/mfa.html", status_code=exc.status, error=exc.message)
    return Redirect(f"/portal/{slug}", status_code=303)


@get("/portal/{slug:str}/security", opt=PORTAL, include_in_schema=False, sync_to_thread=True)
def security_page(request: Req, slug: FromPath[str]) -> Template:
    return _page(request, slug, "portal/security.html", enabled=accounts.totp_enabled(rt(request), user_of(request)))


@post("/portal/{slug:str}/security", opt=PORTAL, include_in_schema=False, sync_to_thread=True)
def security(request: Req, slug: FromPath[str], data: FormData) -> Response[Any]:
    """``action`` start (a new secret and QR code), enable (confirm with a code) or disable (with a code)."""
    user, action = user_of(request), field(data, "action", 10)
    try:
        if action == "start":
            return _page(request, slug, "portal/security.html", enabled=False,
                         enrol=accounts.start_totp(rt(request), user))
        accounts.set_totp(rt(request), user, field(data, "code", 20), enabled=action == "enable")
    except ServiceError as exc:
        return _page(request, slug, "portal/security.html", status_code=exc.status, error=exc.message,
                     enabled=accounts.totp_enabled(rt(request), user))
    return Redirect(f"/portal/{slug}/security?msg=saved", status_code=303)


@post("/portal/{slug:str}/login", opt=PUBLIC, include_in_schema=False, sync_to_thread=True)
def login(request: Req, slug: FromPath[str], data: FormData) -> Response[Any]:
    email = field(data, "email", 254)
    try:
        token = accounts.login_password(rt(request), slug, email, field(data, "password", 200), client_ip(request))
    except ServiceError as exc:
        return _page(request, slug, "portal/login.html", status_code=exc.status, error=exc.message, email=email)
    return _signed_in(request, slug, token)


@post("/portal/{slug:str}/link", opt=PUBLIC, include_in_schema=False, sync_to_thread=True)
def request_link(request: Req, slug: FromPath[str], data: FormData) -> Template:
    """The same answer whether or not the address has portal access."""
    email = field(data, "email", 254).strip().lower()
    try:
        token = accounts.request_link(rt(request), slug, email, client_ip(request))
    except ServiceError as exc:
        return _page(request, slug, "portal/login.html", status_code=exc.status, error=exc.message, email=email)
    if token:
        from ninjait.portal import tasks

        tenant = accounts.tenant_by_slug(rt(request), slug)
        tasks.send_sign_in_link(email, slug, token, service.branding(rt(request), tenant["id"])["title"])
    return _page(request, slug, "portal/login.html", sent=True, email=email)


@get("/portal/{slug:str}/link/{token:str}", opt=PUBLIC, include_in_schema=False, sync_to_thread=True)
def link_page(request: Req, slug: FromPath[str], token: FromPath[str]) -> Template:
    """A button, not an automatic sign-in: mail scanners that open links must not spend them."""
    return _page(request, slug, "portal/link.html", token=token[:200])


@post("/portal/{slug:str}/link/{token:str}", opt=PUBLIC, include_in_schema=False, sync_to_thread=True)
def link_login(request: Req, slug: FromPath[str], token: FromPath[str]) -> Response[Any]:
    try:
        session = accounts.login_link(rt(request), slug, token)
    except ServiceError as exc:
        return _page(request, slug, "portal/login.html", status_code=exc.status, error=exc.message)
    return _signed_in(request, slug, session)


@post("/portal/{slug:str}/logout", opt={"portal": "mfa"}, include_in_schema=False, sync_to_thread=True)
def logout(request: Req, slug: FromPath[str]) -> Response[Any]:
    accounts.logout(rt(request), user_of(request))
    response: Response[Any] = Redirect(f"/portal/{slug}/login", status_code=303)
    response.set_cookie(PORTAL_COOKIE, "", path="/", secure=True, httponly=True, samesite="lax", max_age=0)
    return response


@get("/portal/{slug:str}", opt=PORTAL, include_in_schema=False, sync_to_thread=True)
def home(request: Req, slug: FromPath[str]) -> Template:
    user = user_of(request)
    closed = request.query_params.get("closed") == "1"
    return _page(request, slug, "portal/home.html", tickets=service.list_tickets(rt(request), user, closed),
                 closed=closed, time=service.time_this_month(rt(request), user))


def _new(request: Req, slug: str, *, error: str = "", form: dict[str, Any] | None = None,
         status_code: int = 200) -> Template:
    return _page(request, slug, "portal/new.html", status_code=status_code, error=error, form=form or {},
                 orgs=service.organizations(rt(request), user_of(request)))


@get("/portal/{slug:str}/tickets/new", opt=PORTAL, include_in_schema=False, sync_to_thread=True)
def new_page(request: Req, slug: FromPath[str]) -> Template:
    return _new(request, slug)


async def _form_and_file(request: Req) -> tuple[dict[str, Any], UploadFile | None]:
    """A portal form, url-encoded or multipart with an optional ``file`` (read here, so the size limit and the
    access rules answer before any handler logic)."""
    form = await request.form()
    upload = form.get("file")
    data = {k: v for k, v in form.items() if isinstance(v, str)}
    return data, upload if isinstance(upload, UploadFile) and upload.filename else None


@post("/portal/{slug:str}/tickets", opt=PORTAL, include_in_schema=False, **UPLOAD_LIMITS)
async def create(request: Req, slug: FromPath[str]) -> Response[Any]:
    data, upload = await _form_and_file(request)

    def run() -> Response[Any]:
        form = {k: field(data, k, tickets.MAX_TEXT + 1) for k in ("subject", "description", "organization_id")}
        org = form["organization_id"]
        try:
            made = service.open_ticket(rt(request), user_of(request), form_int(org),
                                       form["subject"], form["description"])
            if upload is not None:
                service.attach(rt(request), user_of(request), made["id"], upload.file, upload.filename,
                               upload.content_type)
        except ServiceError as exc:
            return _new(request, slug, error=exc.message, form=form, status_code=exc.status)
        return Redirect(f"/portal/{slug}/tickets/{made['id']}?msg=ticket-created", status_code=303)

    return await anyio.to_thread.run_sync(run)


def _ticket(request: Req, slug: str, ticket_id: int, *, error: str = "", status_code: int = 200) -> Template:
    return _page(request, slug, "portal/ticket.html", status_code=status_code, error=error,
                 ticket=service.get_ticket(rt(request), user_of(request), ticket_id))


@get("/portal/{slug:str}/tickets/{ticket_id:int}", opt=PORTAL, include_in_schema=False, sync_to_thread=True)
def ticket_page(request: Req, slug: FromPath[str], ticket_id: FromPath[int]) -> Template:
    return _ticket(request, slug, ticket_id)


@post("/portal/{slug:str}/tickets/{ticket_id:int}/reply", opt=PORTAL, include_in_schema=False,
      **UPLOAD_LIMITS)
async def ticket_reply(request: Req, slug: FromPath[str], ticket_id: FromPath[int]) -> Response[Any]:
    data, upload = await _form_and_file(request)

    def run() -> Response[Any]:
        try:
            comment_id = service.reply(rt(request), user_of(request), ticket_id,
                                       field(data, "body", tickets.MAX_TEXT + 1))
            if upload is not None:
                service.attach(rt(request), user_of(request), ticket_id, upload.file, upload.filename,
                               upload.content_type, comment_id)
        except ServiceError as exc:
            if exc.status == 404:
                raise
            return _ticket(request, slug, ticket_id, error=exc.message, status_code=exc.status)
        return Redirect(f"/portal/{slug}/tickets/{ticket_id}?msg=replied", status_code=303)

    return await anyio.to_thread.run_sync(run)


@get("/portal/{slug:str}/tickets/{ticket_id:int}/files/{attachment_id:int}", opt=PORTAL, include_in_schema=False,
     sync_to_thread=True)
def ticket_file(request: Req, slug: FromPath[str], ticket_id: FromPath[int], attachment_id: FromPath[int]) -> File:
    """A public attachment of the ticket, always as a download."""
    row, path = service.attachment_file(rt(request), user_of(request), ticket_id, attachment_id)
    return download_response(row, path)


@get("/portal/{slug:str}/kb", opt=PORTAL, include_in_schema=False, sync_to_thread=True)
def kb_page(request: Req, slug: FromPath[str]) -> Template:
    """Public articles of the knowledge base, searched in full text."""
    q = request.query_params.get("q", "")[:200]
    return _page(request, slug, "portal/kb.html", q=q,
                 articles=kb.search(rt(request), user_of(request).tenant_id, q, public_only=True))


@get("/portal/{slug:str}/kb/{article_id:int}", opt=PORTAL, include_in_schema=False, sync_to_thread=True)
def kb_article(request: Req, slug: FromPath[str], article_id: FromPath[int]) -> Template:
    return _page(request, slug, "portal/kb_article.html",
                 article=kb.public_article(rt(request), user_of(request).tenant_id, article_id))


@get("/portal/{slug:str}/kb/suggest", opt=PORTAL, include_in_schema=False, sync_to_thread=True)
def kb_suggest(request: Req, slug: FromPath[str]) -> Template:
    """Articles that may already answer what the contact is typing as a new ticket's subject (htmx fragment)."""
    subject = request.query_params.get("subject", "")[:200]
    rows = kb.search(rt(request), user_of(request).tenant_id, subject, public_only=True, any_word=True, limit=5) \
        if kb.words(subject) else []
    return Template(template_name="portal/_suggestions.html", context={"articles": rows, "slug": slug})


route_handlers = [theme, logo, login_page, mfa_page, mfa, security_page, security, login, request_link, link_page, link_login, logout, home, new_page, create,
                  ticket_page, ticket_reply, ticket_file, kb_page, kb_article, kb_suggest]
