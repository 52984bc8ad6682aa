"""The audit log page: filters, newest first, CSV export of the same filter."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import Request, get
from litestar.params import FromQuery
from litestar.response import Template

from ninjait.audit import service
from ninjait.core.errors import ServiceError
from ninjait.identity.http import principal_of
from ninjait.ui.pages import page

FILTERS = ("action", "user", "object_type", "since", "until")


@get("/settings/audit", opt={"permission": "audit.read"}, include_in_schema=False, sync_to_thread=True)
def audit_page(request: Request[Any, Any, Any], before_id: FromQuery[int | None] = None) -> Template:
    filters = {k: request.query_params.get(k, "")[:200] for k in FILTERS}
    error = ""
    try:
        rows = service.search(request.app.state.runtime.db, principal_of(request), limit=101, before_id=before_id,
                              **filters)
    except ServiceError as exc:
        rows, error = [], exc.message
    more = len(rows) > 100
    rows = rows[:100]
    query = urlencode({k: v for k, v in filters.items() if v})
    next_page = f"/settings/audit?{query}&before_id={rows[-1]['id']}" if more and rows else ""
    return page(request, "audit/audit.html", active="settings", rows=rows, filters=filters, error=error,
                export_url="/api/v1/audit/export" + (f"?{query}" if query else ""), next_page=next_page)


route_handlers = [audit_page]
