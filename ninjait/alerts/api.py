"""REST API of alerts: list with filters, one alert with its history, acknowledge, resolve, bulk."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, post
from litestar.status_codes import HTTP_204_NO_CONTENT
import msgspec
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from ninjait.alerts import maintenance, service
from ninjait.alerts.models import (
    Alert, AlertBulk, AlertBulkResult, AlertCount, AlertDetail, AlertNote, MaintenanceWindow, MaintenanceWindowIn,
)
from ninjait.identity.http import actor_of, principal_of
from ninjait.identity.models import convert

Req = Request[Any, Any, Any]
READ, WRITE = {"permission": "alerts.read"}, {"permission": "alerts.write"}


def rt(request: Req) -> Any:
    return request.app.state.runtime


class AlertController(Controller):
    path = "/api/v1/alerts"
    tags = ["alerts"]

    @get("/", opt=READ, sync_to_thread=True)
    def index(self, request: Req, alert_state: Annotated[str, QueryParameter(name="state")] = "open", severity: FromQuery[str] = "",
              organization_id: FromQuery[int | None] = None, device_id: FromQuery[int | None] = None,
              max_age_hours: FromQuery[int | None] = None, page: FromQuery[int] = 1,
              per_page: FromQuery[int] = 50) -> Response[list[Alert]]:
        """`state`: open (default: triggered or acknowledged), triggered, acknowledged, resolved, all. Critical
        first, then the most recent. `max_age_hours` keeps alerts first raised within that many hours. The
        total is in `X-Total-Count`."""
        rows, total = service.list_alerts(rt(request), principal_of(request), state=alert_state, severity=severity,
                                          organization_id=organization_id, device_id=device_id,
                                          max_age_hours=max_age_hours, page=page, per_page=per_page)
        return Response(convert(rows, list[Alert]), headers={"X-Total-Count": str(total)})  # type: ignore[arg-type]

    @get("/count", opt=READ, sync_to_thread=True)
    def count(self, request: Req) -> AlertCount:
        """Alerts nobody has acknowledged yet (the header's counter)."""
        return AlertCount(triggered=service.open_count(rt(request), principal_of(request)))

    @get("/{alert_id:int}", opt=READ, sync_to_thread=True)
    def show(self, request: Req, alert_id: FromPath[int]) -> AlertDetail:
        """The alert and every transition: triggered, escalated, acknowledged, resolved (who, when, note)."""
        return convert(service.get_alert(rt(request), principal_of(request), alert_id), AlertDetail)  # type: ignore[return-value]

    @post("/{alert_id:int}/acknowledge", opt=WRITE, sync_to_thread=True, status_code=200)
    def acknowledge(self, request: Req, alert_id: FromPath[int], data: JSONBody[AlertNote]) -> Alert:
        """409 when it is already acknowledged or resolved."""
        row = service.acknowledge(rt(request), principal_of(request), actor_of(request), alert_id, data.note)
        return convert(row, Alert)  # type: ignore[return-value]

    @post("/{alert_id:int}/resolve", opt=WRITE, sync_to_thread=True, status_code=200)
    def resolve(self, request: Req, alert_id: FromPath[int], data: JSONBody[AlertNote]) -> Alert:
        """Resolve by hand, with a note; 409 when it is already resolved. If the condition still holds, the next
        occurrence opens a new alert."""
        row = service.resolve(rt(request), principal_of(request), actor_of(request), alert_id, data.note)
        return convert(row, Alert)  # type: ignore[return-value]

    @post("/bulk", opt=WRITE, sync_to_thread=True, status_code=200)
    def bulk(self, request: Req, data: JSONBody[AlertBulk]) -> AlertBulkResult:
        """Acknowledge or resolve many; each alert is checked on its own and refusals say why."""
        result = service.bulk(rt(request), principal_of(request), actor_of(request), data.ids, data.action, data.note)
        return convert(result, AlertBulkResult)  # type: ignore[return-value]


class MaintenanceWindowController(Controller):
    path = "/api/v1/maintenance-windows"
    tags = ["alerts"]

    @get("/", opt=READ, sync_to_thread=True)
    def index(self, request: Req) -> list[MaintenanceWindow]:
        """Every window of the tenant, newest first; `open_now` says whether it holds notifications back now."""
        return convert(maintenance.list_windows(rt(request), principal_of(request)), list[MaintenanceWindow])  # type: ignore[return-value]

    @post("/", opt=WRITE, sync_to_thread=True)
    def create(self, request: Req, data: JSONBody[MaintenanceWindowIn]) -> MaintenanceWindow:
        """Alerts raised while a window covers their device are recorded, marked `in_maintenance` and not sent."""
        row = maintenance.create_window(rt(request), principal_of(request), actor_of(request), msgspec.to_builtins(data))
        return convert(row, MaintenanceWindow)  # type: ignore[return-value]

    @get("/{window_id:int}", opt=READ, sync_to_thread=True)
    def show(self, request: Req, window_id: FromPath[int]) -> MaintenanceWindow:
        return convert(maintenance.get_window(rt(request), principal_of(request), window_id), MaintenanceWindow)  # type: ignore[return-value]

    @delete("/{window_id:int}", opt=WRITE, sync_to_thread=True, status_code=HTTP_204_NO_CONTENT)
    def remove(self, request: Req, window_id: FromPath[int]) -> None:
        maintenance.delete_window(rt(request), principal_of(request), actor_of(request), window_id)


route_handlers = [AlertController, MaintenanceWindowController]
