"""REST API of checks: /api/v1/checks (CRUD, filters), a device's effective checks, results."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, delete, get, patch, post, put
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_204_NO_CONTENT

from ninjait.identity.http import actor_of, principal_of
from ninjait.identity.models import convert
from ninjait.monitoring.checks import service
from ninjait.monitoring.checks.models import Check, CheckIn, CheckPatch, CheckResult, DeviceCheck

Req = Request[Any, Any, Any]
READ = {"permission": "checks.read"}
WRITE = {"permission": "checks.write"}


def rt(request: Req) -> Any:
    return request.app.state.runtime


class CheckController(Controller):
    path = "/api/v1/checks"
    tags = ["checks"]

    @get("/", opt=READ, sync_to_thread=True)
    def index(self, request: Req, scope_kind: FromQuery[str] = "", scope_id: FromQuery[int | None] = None,
              kind: FromQuery[str] = "") -> list[Check]:
        """Checks defined at each scope, with how many devices are in each state."""
        rows = service.list_checks(rt(request), principal_of(request), scope_kind=scope_kind, scope_id=scope_id,
                                   kind=kind)
        return convert(rows, list[Check])  # type: ignore[return-value]

    @post("/", opt=WRITE, sync_to_thread=True)
    def create(self, request: Req, data: JSONBody[CheckIn]) -> Check:
        row = service.create_check(rt(request), principal_of(request), actor_of(request), msgspec.to_builtins(data))
        return convert(row, Check)  # type: ignore[return-value]

    @get("/{check_id:int}", opt=READ, sync_to_thread=True)
    def show(self, request: Req, check_id: FromPath[int]) -> Check:
        return convert(service.get_check(rt(request), principal_of(request), check_id), Check)  # type: ignore[return-value]

    @patch("/{check_id:int}", opt=WRITE, sync_to_thread=True)
    def edit(self, request: Req, check_id: FromPath[int], data: JSONBody[CheckPatch]) -> Check:
        changes = {k: v for k, v in msgspec.to_builtins(data).items() if v is not None}
        row = service.update_check(rt(request), principal_of(request), actor_of(request), check_id, changes)
        return convert(row, Check)  # type: ignore[return-value]

    @delete("/{check_id:int}", opt=WRITE, sync_to_thread=True, status_code=HTTP_204_NO_CONTENT)
    def remove(self, request: Req, check_id: FromPath[int]) -> None:
        service.delete_check(rt(request), principal_of(request), actor_of(request), check_id)

    @put("/{check_id:int}/exclusions/{device_id:int}", opt=WRITE, sync_to_thread=True)
    def exclude(self, request: Req, check_id: FromPath[int], device_id: FromPath[int]) -> Check:
        """The device no longer gets this check (its state is dropped), whichever scope it inherits it from."""
        row = service.set_excluded(rt(request), principal_of(request), actor_of(request), check_id, device_id, True)
        return convert(row, Check)  # type: ignore[return-value]

    @delete("/{check_id:int}/exclusions/{device_id:int}", opt=WRITE, sync_to_thread=True, status_code=200)
    def include(self, request: Req, check_id: FromPath[int], device_id: FromPath[int]) -> Check:
        row = service.set_excluded(rt(request), principal_of(request), actor_of(request), check_id, device_id, False)
        return convert(row, Check)  # type: ignore[return-value]

    @get("/{check_id:int}/results", opt=READ, sync_to_thread=True)
    def results(self, request: Req, check_id: FromPath[int], device_id: FromQuery[int | None] = None,
                limit: FromQuery[int] = 100, before: FromQuery[float | None] = None) -> list[CheckResult]:
        """History, newest first; `before` (a result's ts) pages further back."""
        rows = service.results(rt(request), principal_of(request), check_id, device_id, limit, before)
        return convert(rows, list[CheckResult])  # type: ignore[return-value]


@get("/api/v1/devices/{device_id:int}/checks", opt=READ, tags=["checks"], sync_to_thread=True)
def device_checks(request: Req, device_id: FromPath[int]) -> list[DeviceCheck]:
    """Every check that applies to the device (from its tenant, organization, site, groups and itself), failing
    first, each with its state, last value and message."""
    return convert(service.device_checks(rt(request), principal_of(request), device_id), list[DeviceCheck])  # type: ignore[return-value]


route_handlers = [CheckController, device_checks]
