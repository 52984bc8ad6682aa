"""REST API of the audit log."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.params import FromQuery

from ninjait.audit import service
from ninjait.identity.http import principal_of
from ninjait.identity.models import AuditEntry, convert

AUDIT = {"permission": "audit.read"}


def _query(request: Request[Any, Any, Any], limit: int, before_id: int | None) -> list[dict[str, Any]]:
    q = request.query_params
    return service.search(request.app.state.runtime.db, principal_of(request), action=q.get("action", ""),
                          user=q.get("user", ""), object_type=q.get("object_type", ""), since=q.get("since", ""),
                          until=q.get("until", ""), limit=limit, before_id=before_id)


@get("/api/v1/audit", opt=AUDIT, tags=["audit"], sync_to_thread=True)
def list_audit(request: Request[Any, Any, Any], action: FromQuery[str] = "", user: FromQuery[str] = "",
               object_type: FromQuery[str] = "", since: FromQuery[str] = "", until: FromQuery[str] = "",
               limit: FromQuery[int] = 100, before_id: FromQuery[int | None] = None) -> list[AuditEntry]:
    """Newest first. `action` accepts `*` as a wildcard (`auth.*`); dates are YYYY-MM-DD (UTC)."""
    return convert(_query(request, max(1, min(limit, 1000)), before_id), list[AuditEntry])  # type: ignore[return-value]


@get("/api/v1/audit/export", opt=AUDIT, tags=["audit"], sync_to_thread=True, media_type="text/csv")
def export_audit(request: Request[Any, Any, Any], action: FromQuery[str] = "", user: FromQuery[str] = "",
                 object_type: FromQuery[str] = "", since: FromQuery[str] = "", until: FromQuery[str] = "") -> Response[str]:
    """The same filters as the list, up to 100,000 entries, as CSV."""
    rows = _query(request, 100_000, None)
    return Response(service.to_csv(rows), media_type="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="audit-log.csv"'})


route_handlers = [list_audit, export_audit]
