"""Wiring: build the Litestar app from each domain's handlers. Nothing else lives here."""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.static_files import create_static_files_router
from litestar.utils.sync import AsyncCallable

from ninjait import __version__
from ninjait.core import live, queue
from ninjait.core.edge import Edge
from ninjait.core.runtime import Runtime
from ninjait.agents import api as agents_api, gateway_api, views as agents_views
from ninjait.agents.checkin_endpoint import CheckInEndpoint
from ninjait.alerts import api as alerts_api, channels_api, channels_views, views as alerts_views
from ninjait.audit import api as audit_api, views as audit_views
from ninjait.backup import api as backup_api, views as backup_views
from ninjait.monitoring import api as monitoring_api
from ninjait.monitoring.checks import api as checks_api, views as checks_views
from ninjait.dashboard import views as dashboard_views
from ninjait.devices import activity_routes as device_activity_routes, api as devices_api, views as devices_views
from ninjait.identity import (
    admin_views as identity_admin_views, api as identity_api, sso_views as identity_sso_views, views as identity_views,
)
from ninjait.identity.http import AuthMiddleware, access_guard, check_declarations
from ninjait.ops import api as ops_api
from ninjait.ops.metrics import gauge
from ninjait.paths import NODE_MODULES, STATIC
from ninjait.tickets import routes as tickets_routes
from ninjait.wiring import connect_subscribers
from ninjait.ui.pages import EXCEPTION_HANDLERS, template_config

PUBLIC = {"public": True}

# Front-end libraries installed from the npm registry by `make setup`.
VENDOR_DIRS = {
    "htmx": NODE_MODULES / "htmx.org" / "dist",
    "htmx-ext-sse": NODE_MODULES / "htmx-ext-sse" / "dist",
    "tabler": NODE_MODULES / "@tabler" / "core" / "dist",
    "uplot": NODE_MODULES / "uplot" / "dist",
}


def _static_routers() -> list[Any]:
    routers = [create_static_files_router(path="/static", directories=[STATIC], name="static", opt=PUBLIC)]
    for name, folder in VENDOR_DIRS.items():
        routers.append(create_static_files_router(path=f"/vendor/{name}", directories=[folder], name=f"vendor-{name}",
                                                  opt=PUBLIC))
    return routers


def create_app(runtime: Runtime) -> Litestar:
    gauge("ninjait_queue_depth", "Tasks waiting in the queue", queue.queue_depth)
    gauge("ninjait_database_size_bytes", "Size of the relational database", runtime.db.size_bytes)
    connect_subscribers(runtime)
    live.hub_of(runtime).attach(runtime.bus, "alert.*")  # browsers' live updates (alerts list, header counter)
    live.hub_of(runtime).attach(runtime.bus, "ticket.*")  # the ticket list and board
    app = Litestar(
        route_handlers=[
            *ops_api.route_handlers, *dashboard_views.route_handlers, *_static_routers(),
            *identity_api.route_handlers, *identity_views.route_handlers, *identity_admin_views.route_handlers,
            *identity_sso_views.route_handlers,
            *audit_api.route_handlers, *audit_views.route_handlers,
            *gateway_api.route_handlers, *agents_api.route_handlers, *agents_views.route_handlers,
            *devices_api.route_handlers, *devices_views.route_handlers,
            *device_activity_routes.route_handlers, *alerts_api.route_handlers, *alerts_views.route_handlers,
            *channels_api.route_handlers, *channels_views.route_handlers,
            *monitoring_api.route_handlers, *checks_api.route_handlers, *checks_views.route_handlers,
            *backup_api.route_handlers, *backup_views.route_handlers,
            *tickets_routes.route_handlers,
        ],
        guards=[access_guard],
        state=State({"runtime": runtime}),
        template_config=template_config(),
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        openapi_config=OpenAPIConfig(
            title="NinjaIT API", version=__version__, path="/api/schema",
            render_plugins=[JsonRenderPlugin(path="/openapi.json")],
        ),
        debug=False,
        logging_config=None,  # ours (core/logs.py) is set up by the CLI
    )
    _unwrap_double_thread_wrappers(app)
    check_declarations(app)
    return app


def _unwrap_double_thread_wrappers(app: Litestar) -> None:
    """Work around Litestar 2 calling ``on_registration`` twice for a GET handler that shares its path
    with other methods: a ``sync_to_thread`` handler then gets wrapped twice and returns a coroutine
    instead of its response (fixed upstream only in v3, litestar-org/litestar#4738)."""
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            fn = getattr(handler, "_fn", None)
            while isinstance(fn, AsyncCallable) and isinstance(fn.func, AsyncCallable):
                fn = fn.func
            if fn is not None:
                handler._fn = fn


def create_asgi(runtime: Runtime) -> Edge:
    return Edge(CheckInEndpoint(AuthMiddleware(create_app(runtime), runtime), runtime))
