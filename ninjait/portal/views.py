"""The client portal's pages, under /portal/<tenant slug>: sign-in (password or e-mail link), the contact's
tickets, one ticket with its public conversation, a new ticket, and the time spent this month. Its own layout
(no staff navigation), its own session cookie, the tenant's branding (title, accent colour via theme.css)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from ninjait.core.errors import ServiceError
from ninjait.identity.http import PORTAL_COOKIE, client_ip
from ninjait.identity.views import FormData, field
from ninjait.portal import accounts, service
from ninjait.portal.accounts import PortalUser
from ninjait.tickets import kb, service as tickets

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
    response: Response[Any] = Redirect(f"/portal/{slug}", status_code=303)
    response.set_cookie(PORTAL_COOKIE, token, path="/", secure=True, httponly=True, samesite="lax",
                        max_age=accounts.SESSION_SECONDS)
    return response


@get("/portal/{slug:str}/theme.css", opt=PUBLIC, include_in_schema=False, sync_to_thread=True)
def theme(request: Req, slug: FromPath[str]) -> Response[str]:
    """The tenant's accent colour as CSS (the pages allow no inline styles)."""
    brand = service.branding(rt(request), accounts.tenant_by_slug(rt(request), slug)["id"])
    return Response(f":root{{--tblr-primary:{brand['accent']};--portal-accent:{brand['accent']}}}\n",
                    media_type="text/css", headers={"Cache-Control": "no-cache"})


@get("/portal/{slug:str}/login", opt=PUBLIC, include_in_schema=False, sync_to_thread=True)
def login_page(request: Req, slug: FromPath[str]) -> Template:
    return _page(request, slug, "portal/login.html")


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


@post("/portal/{slug:str}/logout", opt=PORTAL, include_in_schema=False, sync_to_thread=True)
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


@post("/portal/{slug:str}/tickets", opt=PORTAL, include_in_schema=False, sync_to_thread=True)
def create(request: Req, slug: FromPath[str], data: FormData) -> Response[Any]:
    form = {k: field(data, k, tickets.MAX_TEXT + 1) for k in ("subject", "description", "organization_id")}
    org = form["organization_id"]
    try:
        made = service.open_ticket(rt(request), user_of(request), int(org) if org.isdigit() else None,
                                   form["subject"], form["description"])
    except ServiceError as exc:
        return _new(request, slug, error=exc.message, form=form, status_code=exc.status)
    return Redirect(f"/portal/{slug}/tickets/{made['id']}?msg=ticket-created", status_code=303)


def _ticket(request: Req, slug: str, ticket_id: int, *, error: str = "", status_code: int = 200) -> Template:
    return _page(request, slug, "portal/ticket.html", status_code=status_code, error=error,
                 ticket=service.get_ticket(rt(request), user_of(request), ticket_id))


@get("/portal/{slug:str}/tickets/{ticket_id:int}", opt=PORTAL, include_in_schema=False, sync_to_thread=True)
def ticket_page(request: Req, slug: FromPath[str], ticket_id: FromPath[int]) -> Template:
    return _ticket(request, slug, ticket_id)


@post("/portal/{slug:str}/tickets/{ticket_id:int}/reply", opt=PORTAL, include_in_schema=False, sync_to_thread=True)
def ticket_reply(request: Req, slug: FromPath[str], ticket_id: FromPath[int], data: FormData) -> Response[Any]:
    try:
        service.reply(rt(request), user_of(request), ticket_id, field(data, "body", tickets.MAX_TEXT + 1))
    except ServiceError as exc:
        if exc.status == 404:
            raise
        return _ticket(request, slug, ticket_id, error=exc.message, status_code=exc.status)
    return Redirect(f"/portal/{slug}/tickets/{ticket_id}?msg=replied", status_code=303)


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


route_handlers = [theme, login_page, login, request_link, link_page, link_login, logout, home, new_page, create,
                  ticket_page, ticket_reply, kb_page, kb_article, kb_suggest]
