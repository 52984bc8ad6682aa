"""The device page's activity timeline and software list: a REST route and the htmx partials."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from ninjait.agents.models import ActivityEntry
from ninjait.devices import service as devices
from ninjait.identity.http import principal_of
from ninjait.identity.models import convert
from ninjait.ui.pages import page

Req = Request[Any, Any, Any]
READ = {"permission": "devices.read"}


def rt(request: Req) -> Any:
    return request.app.state.runtime


def _next_cursor(entries: list[dict[str, Any]], limit: int) -> str:
    return str(entries[-1]["at_ms"]) if len(entries) == limit else ""


@get("/api/v1/devices/{device_id:int}/activity", opt=READ, tags=["devices"], sync_to_thread=True)
def activity(request: Req, device_id: FromPath[int], before: FromQuery[int | None] = None, kind: FromQuery[str] = "",
             limit: FromQuery[int] = 50) -> Response[list[ActivityEntry]]:
    """The device's timeline, newest first: inventory changes with their diffs (`source` inventory: software
    installed/removed/updated, disks, network addresses, OS, hardware, services, restarts) and events about
    it (`source` event: status changes, commands, edits). `kind` narrows to `inventory` or `events`. Page
    back with `before` = the `X-Next-Before` header (epoch milliseconds; absent on the last page)."""
    entries = devices.timeline(rt(request), principal_of(request), device_id, before=before, kind=kind, limit=limit)
    cursor = _next_cursor(entries, limit)
    return Response(convert(entries, list[ActivityEntry]),  # type: ignore[arg-type]
                    headers={"X-Next-Before": cursor} if cursor else {})


@get("/devices/{device_id:int}/activity", opt=READ, include_in_schema=False, sync_to_thread=True)
def activity_partial(request: Req, device_id: FromPath[int], before: FromQuery[int | None] = None,
                     kind: FromQuery[str] = "") -> Template:
    entries = devices.timeline(rt(request), principal_of(request), device_id, before=before, kind=kind)
    return page(request, "agents/_device_activity.html", device_id=device_id, entries=entries, kind=kind,
                next_before=_next_cursor(entries, 50))


@get("/devices/{device_id:int}/software", opt=READ, include_in_schema=False, sync_to_thread=True)
def software_partial(request: Req, device_id: FromPath[int], q: FromQuery[str] = "") -> Template:
    device = devices.get_device(rt(request), principal_of(request), device_id)
    rows, total = devices.software(device, q)
    return page(request, "agents/_device_software.html", software=rows, total=total, q=q)


route_handlers = [activity, activity_partial, software_partial]
