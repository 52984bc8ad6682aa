"""The home page: what this appliance is doing right now."""

from __future__ import annotations

import time

from typing import Any

from litestar import Request, get
from litestar.datastructures import State
from litestar.response import Template

from ninjait.core import queue
from ninjait.core.runtime import Runtime
from ninjait.ui.pages import page


def _human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


@get("/", include_in_schema=False, opt={"authenticated": True}, sync_to_thread=True)
def home(state: State, request: Request[Any, Any, Any]) -> Template:
    runtime: Runtime = state.runtime
    uptime = int(time.time() - runtime.started_at)
    status = {
        "backend": runtime.db.backend,
        "database_size": _human_bytes(runtime.db.size_bytes()),
        "queue_depth": queue.queue_depth(),
        "uptime": f"{uptime // 3600}h {uptime % 3600 // 60}m {uptime % 60}s",
        "fingerprint": runtime.tls_fingerprint,
        "data_dir": str(runtime.settings.data_dir.resolve()),
    }
    return page(request, "dashboard/home.html", status=status, active="home")


route_handlers = [home]
