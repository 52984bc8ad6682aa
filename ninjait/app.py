"""Wiring: build the Litestar app from each domain's handlers. Nothing else lives here."""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.static_files import create_static_files_router

from ninjait import __version__
from ninjait.core import queue
from ninjait.core.edge import Edge
from ninjait.core.runtime import Runtime
from ninjait.dashboard import views as dashboard_views
from ninjait.ops import api as ops_api
from ninjait.ops.metrics import gauge
from ninjait.paths import NODE_MODULES, STATIC
from ninjait.ui.pages import EXCEPTION_HANDLERS, template_config

# Front-end libraries installed from the npm registry by `make setup`.
VENDOR_DIRS = {
    "htmx": NODE_MODULES / "htmx.org" / "dist",
    "tabler": NODE_MODULES / "@tabler" / "core" / "dist",
}


def _static_routers() -> list[Any]:
    routers = [create_static_files_router(path="/static", directories=[STATIC], name="static")]
    for name, folder in VENDOR_DIRS.items():
        routers.append(create_static_files_router(path=f"/vendor/{name}", directories=[folder], name=f"vendor-{name}"))
    return routers


def create_app(runtime: Runtime) -> Litestar:
    gauge("ninjait_queue_depth", "Tasks waiting in the queue", queue.queue_depth)
    gauge("ninjait_database_size_bytes", "Size of the relational database", runtime.db.size_bytes)
    return Litestar(
        route_handlers=[*ops_api.route_handlers, *dashboard_views.route_handlers, *_static_routers()],
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


def create_asgi(runtime: Runtime) -> Edge:
    return Edge(create_app(runtime))
