"""The home page: what this appliance is doing right now."""

from __future__ import annotations

import time

from typing import Any

from litestar import Request, get
from litestar.datastructures import State
from litestar.response import Template

from ninjait.backup import service as backups
from ninjait.core import queue
from ninjait.core.humanize import human_bytes
from ninjait.core.runtime import Runtime
from ninjait.ui.pages import page


@get("/", include_in_schema=False, opt={"authenticated": True}, sync_to_thread=True)
def home(state: State, request: Request[Any, Any, Any]) -> Template:
    runtime: Runtime = state.runtime
    uptime = int(time.time() - runtime.started_at)
    status = {
        "backend": runtime.db.backend,
        "database_size": human_bytes(runtime.db.size_bytes()),
        "queue_depth": queue.queue_depth(),
        "uptime": f"{uptime // 3600}h {uptime % 3600 // 60}m {uptime % 60}s",
        "fingerprint": runtime.tls_fingerprint,
        "data_dir": str(runtime.settings.data_dir.resolve()),
    }
    principal = request.scope.get("state", {}).get("principal")
    backup = backups.status(runtime) if principal is not None and principal.can("backups.manage") else None
    return page(request, "dashboard/home.html", status=status, backup=backup, active="home")


route_handlers = [home]
