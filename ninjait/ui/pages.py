"""Page rendering shared by every domain: the Jinja engine and the error pages."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, NotFoundException
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from litestar.template.config import TemplateConfig
from litestar.plugins.jinja import JinjaTemplateEngine

from ninjait import __version__
from ninjait.core.errors import INTERNAL_ERROR_DETAIL, ServiceError, TooManyRequests, Unavailable, error_document
from ninjait.paths import TEMPLATES
from ninjait.ui.nav import NAV

log = logging.getLogger("ninjait.http")


def human_bytes(n: float | int | None) -> str:
    """1536 -> "1.5 KiB": binary units, as operating systems show disk and memory sizes."""
    value = float(n or 0)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} PiB"  # not reached


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    def configure(engine: JinjaTemplateEngine) -> None:
        engine.engine.globals.update(nav=NAV, version=__version__)
        engine.engine.filters["datetime"] = lambda ts: time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(int(ts)))
        engine.engine.filters["bytes"] = human_bytes
        engine.engine.autoescape = True

    return TemplateConfig(directory=TEMPLATES, engine=JinjaTemplateEngine, engine_callback=configure)


# Domains add what the layout shows on every page (e.g. the open-alert counter): fn(request, principal) -> dict.
LAYOUT_CONTEXT: list[Callable[[Request[Any, Any, Any], Any], dict[str, Any]]] = []


def page(request: Request[Any, Any, Any], template: str, *, status_code: int = 200, **context: Any) -> Template:
    """Render a page with what every layout needs: who is signed in and the CSRF token."""
    state = request.scope.get("state", {})
    principal = state.get("principal")
    session = state.get("session")
    context.setdefault("active", "")
    if principal is not None and session is not None:
        for provide in LAYOUT_CONTEXT:
            for key, value in provide(request, principal).items():
                context.setdefault(key, value)
    return Template(template_name=template, status_code=status_code, media_type=MediaType.HTML, context={
        **context, "me": principal, "csrf": session.csrf_token if session else "",
        "msg": request.query_params.get("msg", ""),
    })


def wants_json(request: Request[Any, Any, Any]) -> bool:
    if request.url.path.startswith(("/api/", "/agent/")):
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def _error(request: Request[Any, Any, Any], status: int, title: str, detail: str) -> Response[Any]:
    if wants_json(request):
        return Response({"status_code": status, "detail": detail}, status_code=status, media_type=MediaType.JSON)
    return page(request, "errors/error.html", status_code=status, title=title, detail=detail, status=status)


def not_found(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    return _error(request, 404, "Page not found", "There is nothing at this address.")


def http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    if exc.status_code == 401 and not wants_json(request):
        from ninjait.identity.http import login_redirect_target

        target = login_redirect_target(request.url.path, request.url.query)
        if request.headers.get("hx-request"):
            return Response(None, status_code=401, headers={"HX-Redirect": target})
        return Redirect(target, status_code=303)
    if exc.status_code >= 500:
        return server_error(request, exc)
    detail = exc.detail
    if isinstance(exc.extra, dict) and exc.extra:
        detail = f"{detail}: " + "; ".join(f"{k}: {v}" for k, v in exc.extra.items())
    elif isinstance(exc.extra, list) and exc.extra:
        detail = f"{detail}: " + "; ".join(
            f"{e.get('key') or 'body'}: {e.get('message')}" if isinstance(e, dict) else str(e) for e in exc.extra
        )
    response = _error(request, exc.status_code, "Request refused", detail)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


def service_error(request: Request[Any, Any, Any], exc: ServiceError) -> Response[Any]:
    titles = {400: "Request refused", 401: "Sign in needed", 403: "Not allowed", 404: "Not found",
              409: "Conflict", 429: "Too many attempts"}
    if wants_json(request):
        response: Response[Any] = Response(error_document(exc), status_code=exc.status, media_type=MediaType.JSON)
    else:
        response = _error(request, exc.status, titles.get(exc.status, "Request refused"), exc.message)
    if isinstance(exc, (TooManyRequests, Unavailable)):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


def server_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.error("unhandled error", exc_info=exc, extra={"fields": {"path": request.url.path}})
    return _error(
        request, HTTP_500_INTERNAL_SERVER_ERROR, "Something went wrong", INTERNAL_ERROR_DETAIL)


EXCEPTION_HANDLERS = {
    ServiceError: service_error,
    NotFoundException: not_found,
    HTTPException: http_error,
    HTTP_500_INTERNAL_SERVER_ERROR: server_error,
    Exception: server_error,
}
