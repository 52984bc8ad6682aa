"""Pages of identity: sign-in, MFA, first run, password reset, profile, and Settings admin."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from ninjait.core import logs
from ninjait.core.errors import ServiceError
from ninjait.core.runtime import Runtime
from ninjait.identity import authn, service
from ninjait.identity.http import SESSION_COOKIE, actor_of, client_ip, principal_of, session_of
from ninjait.identity.permissions import PERMISSIONS
from ninjait.ui import nav
from ninjait.ui.pages import page

Req = Request[Any, Any, Any]
FormData = URLEncodedBody[dict[str, Any]]
PUBLIC = {"public": True}
SIGNED_IN = {"authenticated": True}
MAX_FIELD = 5000

nav.provide("settings", "/settings")


def rt(request: Req) -> Runtime:
    return request.app.state.runtime


def field(data: dict[str, Any], name: str, limit: int = MAX_FIELD) -> str:
    value = data.get(name, "")
    return value[:limit] if isinstance(value, str) else ""


def form_int(text: str, default: int | None = None) -> int | None:
    """A form's whole number, or ``default``: ASCII digits only ('²'.isdigit() is true, and int('²') fails)."""
    return int(text) if text.isascii() and text.isdigit() else default


def _ua(request: Req) -> str:
    return request.headers.get("user-agent", "")[:300]


def _with_session(response: Response[Any], token: str, request: Req) -> Response[Any]:
    response.set_cookie(SESSION_COOKIE, token, path="/", secure=True, httponly=True, samesite="lax",
                        max_age=rt(request).settings.session_max_hours * 3600)
    return response


def _safe_next(target: str) -> str:
    # Only same-site paths: "//evil.example" or "https://..." would be an open redirect.
    return target if target.startswith("/") and not target.startswith(("//", "/\\")) else "/"


def _back(path: str, msg: str) -> Redirect:
    return Redirect(f"{path}?{urlencode({'msg': msg})}", status_code=303)


# --- sign in -------------------------------------------------------------------------------

@get("/login", opt=PUBLIC, include_in_schema=False, sync_to_thread=True)
def login_page(request: Req, next: FromQuery[str] = "/") -> Template:
    if not authn.users_exist(rt(request)):
        return page(request, "identity/login.html", next=_safe_next(next), error="", email="", first_run=True)
    return page(request, "identity/login.html", next=_safe_next(next), error="", email="", first_run=False)


@post("/login", opt=PUBLIC, include_in_schema=False, sync_to_thread=True)
def login_submit(request: Req, data: FormData) -> Response[Any]:
    email, target = field(data, "email", 254), _safe_next(field(data, "next", 2000) or "/")
    try:
        outcome = authn.login_password(rt(request), email, field(data, "password", 1000), client_ip(request),
                                       _ua(request), logs.request_id.get() or "")
    except ServiceError as exc:
        response = page(request, "identity/login.html", status_code=exc.status, next=target, error=exc.message,
                        email=email, first_run=False)
        if exc.status == 429:
            response.headers["Retry-After"] = str(getattr(exc, "retry_after", 60))
        return response
    return _with_session(Redirect(after_login(outcome.stage, target), status_code=303), outcome.token, request)


def after_login(stage: str, target: str) -> str:
    """Where a new session goes next: its target, or the second factor that is still due."""
    return {"full": target, "mfa": f"/login/mfa?{urlencode({'next': target})}",
            "enrol": "/account/mfa/setup?required=1"}[stage]


@get("/login/mfa", opt={"stage": "mfa"}, include_in_schema=False, sync_to_thread=False)
def mfa_page(request: Req, next: FromQuery[str] = "/") -> Template:
    return page(request, "identity/mfa.html", next=_safe_next(next), error="")


@post("/login/mfa", opt={"stage": "mfa"}, include_in_schema=False, sync_to_thread=True)
def mfa_submit(request: Req, data: FormData) -> Response[Any]:
    info = session_of(request)
    target = _safe_next(field(data, "next", 2000) or "/")
    if info is None or info.stage == "full":
        return Redirect(target, status_code=303)
    try:
        token = authn.complete_mfa(rt(request), info, field(data, "code", 40), client_ip(request), _ua(request),
                                   logs.request_id.get() or "")
    except ServiceError as exc:
        return page(request, "identity/mfa.html", status_code=exc.status, next=target, error=exc.message)
    return _with_session(Redirect(target, status_code=303), token, request)


@get("/account/mfa/setup", opt={"stage": "enrol"}, include_in_schema=False, sync_to_thread=True)
def enrol_page(request: Req, required: FromQuery[str] = "") -> Response[Any]:
    info = session_of(request)
    assert info is not None
    try:
        enrolment = authn.start_enrolment(rt(request), info.user_id)
    except ServiceError:
        return Redirect("/account", status_code=303)
    return page(request, "identity/enrol.html", enrolment=enrolment, required=bool(required), error="")


@post("/account/mfa/setup", opt={"stage": "enrol"}, include_in_schema=False, sync_to_thread=True)
def enrol_submit(request: Req, data: FormData) -> Response[Any]:
    info = session_of(request)
    assert info is not None
    try:
        codes, token = authn.confirm_enrolment(rt(request), info.user_id, field(data, "code", 40), client_ip(request),
                                               _ua(request), logs.request_id.get() or "")
    except ServiceError as exc:
        enrolment = authn.start_enrolment(rt(request), info.user_id)
        return page(request, "identity/enrol.html", status_code=exc.status, enrolment=enrolment, required=False,
                    error=exc.message + " A new secret was generated: scan the new code.")
    response = page(request, "identity/backup_codes.html", codes=codes)
    return _with_session(response, token, request)


@post("/logout", opt={"stage": "any"}, include_in_schema=False, sync_to_thread=True)
def logout(request: Req) -> Response[Any]:
    info = session_of(request)
    if info is not None:
        authn.logout(rt(request), info, actor_of(request))
    response = Redirect("/login", status_code=303)
    # Not delete_cookie(): its Set-Cookie lacks Secure, and browsers ignore a __Host- cookie without it,
    # so the dead session's cookie stayed. The same attributes as when it was set, expired now.
    response.set_cookie(SESSION_COOKIE, "", path="/", secure=True, httponly=True, samesite="lax", max_age=0,
                        expires=0)
    return response


# --- first run ---------------------------------------------------------------------------

@get("/setup", opt=PUBLIC, include_in_schema=False, sync_to_thread=True)
def setup_page(request: Req) -> Response[Any]:
    if authn.users_exist(rt(request)):
        return Redirect("/login", status_code=303)
    return page(request, "identity/setup.html", error="", values={})


@post("/setup", opt=PUBLIC, include_in_schema=False, sync_to_thread=True)
def setup_submit(request: Req, data: FormData) -> Response[Any]:
    if authn.users_exist(rt(request)):
        return page(request, "errors/error.html", status_code=403, status=403, title="Already set up",
                    detail="This appliance is already set up. Sign in, or ask your administrator for an account.")
    values = {k: field(data, k, 254) for k in ("email", "name", "tenant_name")}
    try:
        authn.complete_setup(rt(request), field(data, "token", 200), values["email"], field(data, "password", 1000),
                             values["name"], values["tenant_name"], client_ip(request), logs.request_id.get() or "")
    except ServiceError as exc:
        return page(request, "identity/setup.html", status_code=exc.status, error=exc.message, values=values)
    return _back("/login", "setup-done")


# --- password reset ------------------------------------------------------------------------

@get("/forgot-password", opt=PUBLIC, include_in_schema=False, sync_to_thread=False)
def forgot_page(request: Req) -> Template:
    return page(request, "identity/forgot.html", sent=False, error="")


@post("/forgot-password", opt=PUBLIC, include_in_schema=False, sync_to_thread=True)
def forgot_submit(request: Req, data: FormData) -> Template:
    from ninjait.identity import tasks

    email = field(data, "email", 254)
    try:
        token = authn.request_password_reset(rt(request), email, client_ip(request), logs.request_id.get() or "")
    except ServiceError as exc:
        return page(request, "identity/forgot.html", status_code=exc.status, sent=False, error=exc.message)
    if token:
        tasks.send_password_reset(email.strip().lower(), token)
    return page(request, "identity/forgot.html", sent=True, error="")


@get("/reset-password", opt=PUBLIC, include_in_schema=False, sync_to_thread=False)
def reset_page(request: Req, token: FromQuery[str] = "") -> Template:
    return page(request, "identity/reset.html", token=token[:200], error="")


@post("/reset-password", opt=PUBLIC, include_in_schema=False, sync_to_thread=True)
def reset_submit(request: Req, data: FormData) -> Response[Any]:
    token = field(data, "token", 200)
    try:
        authn.reset_password(rt(request), token, field(data, "password", 1000), client_ip(request),
                             logs.request_id.get() or "")
    except ServiceError as exc:
        return page(request, "identity/reset.html", status_code=exc.status, token=token, error=exc.message)
    return _back("/login", "password-reset")


# --- profile ----------------------------------------------------------------------------------

def _account(request: Req, *, status_code: int = 200, error: str = "", **extra: Any) -> Template:
    p = principal_of(request)
    r = rt(request)
    tenant = service.get_tenant(r, p.tenant_id)
    user = service.get_user(r, p, p.user_id)
    return page(request, "identity/account.html", status_code=status_code, error=error, user=user,
                mfa_locked=p.is_super_admin or bool(tenant["mfa_required"]),
                backup_left=authn.backup_codes_left(r, p.user_id), sessions=authn.list_sessions(r, p),
                tokens=authn.list_api_tokens(r, p), permissions=sorted(p.all_permissions()),
                new_token=None, codes=None, **extra)


@get("/account", opt=SIGNED_IN, include_in_schema=False, sync_to_thread=True)
def account_page(request: Req) -> Template:
    return _account(request)


@post("/account/password", opt=SIGNED_IN, include_in_schema=False, sync_to_thread=True)
def account_password(request: Req, data: FormData) -> Response[Any]:
    try:
        token = authn.change_password(rt(request), principal_of(request), actor_of(request),
                                      field(data, "current", 1000), field(data, "new", 1000), client_ip(request),
                                      _ua(request))
    except ServiceError as exc:
        return _account(request, status_code=exc.status, error=exc.message)
    return _with_session(_back("/account", "password-changed"), token, request)


@post("/account/mfa/disable", opt=SIGNED_IN, include_in_schema=False, sync_to_thread=True)
def account_mfa_disable(request: Req, data: FormData) -> Response[Any]:
    try:
        authn.disable_mfa(rt(request), principal_of(request), actor_of(request), field(data, "password", 1000))
    except ServiceError as exc:
        return _account(request, status_code=exc.status, error=exc.message)
    return _back("/account", "mfa-disabled")


@post("/account/backup-codes", opt=SIGNED_IN, include_in_schema=False, sync_to_thread=True)
def account_backup_codes(request: Req) -> Response[Any]:
    try:
        codes = authn.regenerate_backup_codes(rt(request), principal_of(request), actor_of(request))
    except ServiceError as exc:
        return _account(request, status_code=exc.status, error=exc.message)
    return page(request, "identity/backup_codes.html", codes=codes)


@post("/account/sessions/{handle:str}/revoke", opt=SIGNED_IN, include_in_schema=False, sync_to_thread=True)
def account_session_revoke(request: Req, handle: FromPath[str]) -> Response[Any]:
    authn.revoke_session(rt(request), principal_of(request), actor_of(request), handle[:32])
    return _back("/account", "session-revoked")


def values(data: dict[str, Any], name: str, limit: int = 200) -> list[str]:
    """All values of a repeated form field (checkboxes)."""
    raw = data.get(name, [])
    items = raw if isinstance(raw, list) else [raw]
    return [v for v in items if isinstance(v, str)][:limit]


@post("/account/tokens", opt=SIGNED_IN, include_in_schema=False, sync_to_thread=True)
def account_token_create(request: Req, data: FormData) -> Response[Any]:
    days = field(data, "expires_in_days", 10).strip()
    try:
        created = authn.create_api_token(rt(request), principal_of(request), actor_of(request), field(data, "name", 200),
                                         values(data, "permissions"), form_int(days))
    except ServiceError as exc:
        return _account(request, status_code=exc.status, error=exc.message)
    response = _account(request)
    response.context["new_token"] = created
    return response


@post("/account/tokens/{token_id:int}/revoke", opt=SIGNED_IN, include_in_schema=False, sync_to_thread=True)
def account_token_revoke(request: Req, token_id: FromPath[int]) -> Response[Any]:
    authn.revoke_api_token(rt(request), principal_of(request), actor_of(request), token_id)
    return _back("/account", "token-revoked")


route_handlers = [login_page, login_submit, mfa_page, mfa_submit, enrol_page, enrol_submit, logout, setup_page,
                       setup_submit, forgot_page, forgot_submit, reset_page, reset_submit, account_page,
                       account_password, account_mfa_disable, account_backup_codes, account_session_revoke,
                       account_token_create, account_token_revoke]
