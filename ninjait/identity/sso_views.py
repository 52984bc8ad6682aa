"""Pages of single sign-on: off to the identity provider, back from it, and Settings → Single sign-on."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromQuery
from litestar.response import Redirect, Template

from ninjait.core import logs
from ninjait.core.errors import ServiceError
from ninjait.identity import oidc, service
from ninjait.identity.http import actor_of, client_ip, principal_of
from ninjait.identity.views import FormData, PUBLIC, _back, _safe_next, _ua, _with_session, after_login, field, form_int, rt
from ninjait.ui.pages import page

Req = Request[Any, Any, Any]
# The browser's half of `state`: the callback must come back to the browser that left.
SSO_COOKIE = "__Host-ninjait_sso"


def _forget_state(response: Response[Any]) -> Response[Any]:
    response.set_cookie(SSO_COOKIE, "", path="/", secure=True, httponly=True, samesite="lax", max_age=0)
    return response


def _login_error(request: Req, exc: ServiceError, target: str, tenant: str) -> Template:
    response = page(request, "identity/login.html", status_code=exc.status, next=target, first_run=False,
                    email="", tenant=tenant, error=f"Single sign-on: {exc.message}")
    if exc.status == 429:
        response.headers["Retry-After"] = str(getattr(exc, "retry_after", 60))
    return response


@get("/login/sso", opt=PUBLIC, include_in_schema=False, sync_to_thread=True)
def sso_start(request: Req, tenant: FromQuery[str] = "", next: FromQuery[str] = "/",
              via: FromQuery[str] = "") -> Response[Any]:
    target, tenant = _safe_next(next[:2000]), tenant[:41]
    if not tenant.strip():
        return page(request, "identity/login.html", status_code=400, next=target, first_run=False, email="",
                    tenant="", error="Single sign-on: enter your organization's tenant name")
    try:
        url, state = oidc.begin_login(rt(request), tenant, target, client_ip(request))
    except ServiceError as exc:
        return _login_error(request, exc, target, tenant)
    if via == "form":
        # The sign-in page's form lands here. Browsers apply its CSP `form-action 'self'` to the
        # redirects that follow a form, so a 303 to the provider would be blocked: a page that
        # moves on by itself (meta refresh, no script) is not a form submission.
        response: Response[Any] = page(request, "identity/sso_redirect.html", url=url)
    else:
        response = Redirect(url, status_code=303)
    response.set_cookie(SSO_COOKIE, state, path="/", secure=True, httponly=True, samesite="lax",
                        max_age=oidc.LOGIN_SECONDS)
    return response


@get("/login/sso/callback", opt=PUBLIC, include_in_schema=False, sync_to_thread=True)
def sso_callback(request: Req, code: FromQuery[str] = "", error: FromQuery[str] = "") -> Response[Any]:
    state = request.query_params.get("state", "")  # `state` is a reserved handler argument in Litestar
    try:
        outcome = oidc.finish_login(rt(request), state=state[:200],
                                    browser_state=request.cookies.get(SSO_COOKIE, "")[:200], code=code[:4000],
                                    error=error[:100], ip=client_ip(request), ua=_ua(request),
                                    request_id=logs.request_id.get() or "")
    except ServiceError as exc:
        # The cookie stays: a stray or forged callback must not spoil the sign-in this browser has under way.
        return _login_error(request, exc, "/", "")
    response = Redirect(after_login(outcome.login.stage, _safe_next(outcome.next_path)), status_code=303)
    return _forget_state(_with_session(response, outcome.login.token, request))


# --- Settings → Single sign-on ------------------------------------------------------------------

def _settings_page(request: Req, *, status_code: int = 200, error: str = "",
                   form: dict[str, Any] | None = None) -> Template:
    p = principal_of(request)
    return page(request, "identity/sso.html", status_code=status_code, active="settings", error=error,
                config=form or oidc.get_config(rt(request), p), roles=service.list_roles(rt(request), p),
                redirect_uri=oidc.redirect_uri(rt(request)))


@get("/settings/sso", opt={"permission": "settings.write"}, include_in_schema=False, sync_to_thread=True)
def sso_settings(request: Req) -> Template:
    return _settings_page(request)


@post("/settings/sso", opt={"permission": "settings.write"}, include_in_schema=False, sync_to_thread=True)
def sso_settings_save(request: Req, data: FormData) -> Response[Any]:
    role = field(data, "default_role_id", 20).strip()
    form = {"issuer": field(data, "issuer", 500), "client_id": field(data, "client_id", 255),
            "enabled": field(data, "enabled") == "on", "create_users": field(data, "create_users") == "on",
            "default_role_id": form_int(role)}
    try:
        oidc.set_config(rt(request), principal_of(request), actor_of(request),
                        client_secret=field(data, "client_secret", 1000) or None, **form)
    except ServiceError as exc:
        current = oidc.get_config(rt(request), principal_of(request))
        return _settings_page(request, status_code=exc.status, error=exc.message,
                              form={**current, **form})
    return _back("/settings/sso", "saved")


route_handlers = [sso_start, sso_callback, sso_settings, sso_settings_save]
