"""REST API for devices' agents: enrollment tokens, devices, commands."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, delete, get, patch, post, put
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_204_NO_CONTENT

from ninjait.agents import releases, service
from ninjait.agents.models import (
    AgentRelease, AgentUpdateIn, Command, CommandIn, Device, DeviceDetail, EnrollmentToken, EnrollmentTokenCreated,
    EnrollmentTokenIn,
)
from ninjait.devices import service as devices
from ninjait.devices.api import given
from ninjait.devices.models import DeviceIn, DevicePatch
from ninjait.identity.http import actor_of, principal_of
from ninjait.identity.models import convert

Req = Request[Any, Any, Any]


def rt(request: Req) -> Any:
    return request.app.state.runtime


class EnrollmentTokenController(Controller):
    path = "/api/v1/enrollment-tokens"
    tags = ["agents"]

    @get("/", opt={"permission": "devices.read"}, sync_to_thread=True)
    def index(self, request: Req) -> list[EnrollmentToken]:
        return convert(service.list_enrollment_tokens(rt(request), principal_of(request)), list[EnrollmentToken])  # type: ignore[return-value]

    @post("/", opt={"permission": "devices.write"}, sync_to_thread=True)
    def create(self, request: Req, data: JSONBody[EnrollmentTokenIn]) -> EnrollmentTokenCreated:
        """The token and the install line are in this answer only."""
        row = service.create_enrollment_token(rt(request), principal_of(request), actor_of(request), data.site_id,
                                              data.name, data.expires_in_hours, data.max_uses)
        return convert(row, EnrollmentTokenCreated)  # type: ignore[return-value]

    @get("/{enrollment_token_id:int}", opt={"permission": "devices.read"}, sync_to_thread=True)
    def show(self, request: Req, enrollment_token_id: FromPath[int]) -> EnrollmentToken:
        return convert(service.get_enrollment_token(rt(request), principal_of(request), enrollment_token_id), EnrollmentToken)  # type: ignore[return-value]

    @delete("/{enrollment_token_id:int}", opt={"permission": "devices.write"}, sync_to_thread=True,
            status_code=HTTP_204_NO_CONTENT)
    def revoke(self, request: Req, enrollment_token_id: FromPath[int]) -> None:
        service.revoke_enrollment_token(rt(request), principal_of(request), actor_of(request), enrollment_token_id)


class DeviceController(Controller):
    path = "/api/v1/devices"
    tags = ["devices"]

    @get("/", opt={"permission": "devices.read"}, sync_to_thread=True)
    def index(self, request: Req, q: FromQuery[str] = "", organization_id: FromQuery[int | None] = None,
              site_id: FromQuery[int | None] = None, status: FromQuery[str] = "", os: FromQuery[str] = "",
              tag: FromQuery[str] = "", group_id: FromQuery[int | None] = None, custom: FromQuery[str] = "",
              sort: FromQuery[str] = "hostname", page: FromQuery[int] = 1,
              per_page: FromQuery[int] = 100) -> Response[list[Device]]:
        """Search (every word must match host name, IP, MAC, OS, serial, user or installed software), filter
        (organization, site, status, OS, tag, group, custom field as `custom=key=value`), sort (`-` prefix for
        descending) and page. The total is in `X-Total-Count`."""
        rows, total = devices.search_devices(rt(request), principal_of(request), q=q, organization_id=organization_id,
                                             site_id=site_id, status=status, os=os, tag=tag, group_id=group_id,
                                             custom=custom, sort=sort, page=page, per_page=per_page)
        return Response(convert(rows, list[Device]), headers={"X-Total-Count": str(total)})  # type: ignore[arg-type]

    @post("/", opt={"permission": "devices.write"}, sync_to_thread=True)
    def create(self, request: Req, data: JSONBody[DeviceIn]) -> DeviceDetail:
        """A pre-registered asset without an agent; needs devices.write in the site's organization."""
        row = devices.create_device(rt(request), principal_of(request), actor_of(request), given(data))
        return convert(row, DeviceDetail)  # type: ignore[return-value]

    @put("/{device_id:int}", opt={"permission": "devices.write"}, sync_to_thread=True)
    def replace(self, request: Req, device_id: FromPath[int], data: JSONBody[DeviceIn]) -> DeviceDetail:
        """Replace every editable field (asset fields, tags and custom fields left out are emptied). Moving to a
        site of another organization needs devices.write in both."""
        row = devices.change_device(rt(request), principal_of(request), actor_of(request), device_id, given(data),
                                    replace=True)
        return convert(row, DeviceDetail)  # type: ignore[return-value]

    @patch("/{device_id:int}", opt={"permission": "devices.write"}, sync_to_thread=True)
    def change(self, request: Req, device_id: FromPath[int], data: JSONBody[DevicePatch]) -> DeviceDetail:
        """Change only the fields sent; `custom_fields` merges (null clears a field), `tags` replaces."""
        row = devices.change_device(rt(request), principal_of(request), actor_of(request), device_id, given(data),
                                    replace=False)
        return convert(row, DeviceDetail)  # type: ignore[return-value]

    @get("/export", opt={"permission": "devices.read"}, sync_to_thread=True, media_type="text/csv")
    def export(self, request: Req, q: FromQuery[str] = "", organization_id: FromQuery[int | None] = None,
               site_id: FromQuery[int | None] = None, status: FromQuery[str] = "", os: FromQuery[str] = "",
               tag: FromQuery[str] = "", group_id: FromQuery[int | None] = None, custom: FromQuery[str] = "",
               sort: FromQuery[str] = "hostname") -> Response[str]:
        """The same search as the list, every match, as CSV."""
        rows, _ = devices.search_devices(rt(request), principal_of(request), q=q, organization_id=organization_id,
                                         site_id=site_id, status=status, os=os, tag=tag, group_id=group_id,
                                         custom=custom, sort=sort, page=1, per_page=1000)
        return Response(devices.to_csv(rt(request), principal_of(request), rows), media_type="text/csv",
                        headers={"Content-Disposition": 'attachment; filename="devices.csv"'})

    @get("/{device_id:int}", opt={"permission": "devices.read"}, sync_to_thread=True)
    def show(self, request: Req, device_id: FromPath[int]) -> DeviceDetail:
        p = principal_of(request)
        row = devices.describe(rt(request), p, device_id)
        with rt(request).db.read() as c:
            from ninjait.agents import store

            agent = store.agent_for_device(c, p.tenant_id, device_id)
        return convert({**row, "agent_status": agent["status"] if agent else None}, DeviceDetail)  # type: ignore[return-value]

    @delete("/{device_id:int}", opt={"permission": "devices.delete"}, sync_to_thread=True,
            status_code=HTTP_204_NO_CONTENT)
    def remove(self, request: Req, device_id: FromPath[int]) -> None:
        devices.delete_device(rt(request), principal_of(request), actor_of(request), device_id)

    @get("/{device_id:int}/commands", opt={"permission": "devices.read"}, sync_to_thread=True)
    def commands(self, request: Req, device_id: FromPath[int]) -> list[Command]:
        return convert(service.list_commands(rt(request), principal_of(request), device_id), list[Command])  # type: ignore[return-value]

    @post("/{device_id:int}/commands", opt={"permission": "devices.write"}, sync_to_thread=True)
    def queue(self, request: Req, device_id: FromPath[int], data: JSONBody[CommandIn]) -> Command:
        """Queue a signed command; the agent picks it up at its next check-in."""
        row = service.queue_command(rt(request), principal_of(request), actor_of(request), device_id, data.kind,
                                    dict(data.payload), data.expires_in_seconds, data.not_before)
        return convert(row, Command)  # type: ignore[return-value]

    @post("/{device_id:int}/agent/approve", opt={"permission": "devices.write"}, sync_to_thread=True,
          status_code=HTTP_204_NO_CONTENT)
    def approve(self, request: Req, device_id: FromPath[int]) -> None:
        service.set_agent_status(rt(request), principal_of(request), actor_of(request), device_id, "active")

    @post("/{device_id:int}/agent/revoke", opt={"permission": "devices.write"}, sync_to_thread=True,
          status_code=HTTP_204_NO_CONTENT)
    def revoke(self, request: Req, device_id: FromPath[int]) -> None:
        service.set_agent_status(rt(request), principal_of(request), actor_of(request), device_id, "revoked")

    @post("/{device_id:int}/agent/update", opt={"permission": "devices.write"}, sync_to_thread=True)
    def update(self, request: Req, device_id: FromPath[int], data: JSONBody[AgentUpdateIn]) -> Command:
        """Queue a signed `update_agent` command: the given version, or the latest published for the device's
        platform. The command stays `running` until the new build checks in (`succeeded`) or is rolled back
        (`failed`, with the reason)."""
        row = releases.roll_out(rt(request), principal_of(request), actor_of(request), device_id, data.version)
        return convert(row, Command)  # type: ignore[return-value]

    @post("/{device_id:int}/agent/rotate", opt={"permission": "devices.write"}, sync_to_thread=True,
          status_code=HTTP_204_NO_CONTENT)
    def rotate(self, request: Req, device_id: FromPath[int]) -> None:
        """The agent replaces its secret at its next check-in."""
        service.request_rotation(rt(request), principal_of(request), actor_of(request), device_id)


class CommandController(Controller):
    path = "/api/v1/commands"
    tags = ["devices"]

    @get("/{command_id:int}", opt={"permission": "devices.read"}, sync_to_thread=True)
    def show(self, request: Req, command_id: FromPath[int]) -> Command:
        return convert(service.get_command(rt(request), principal_of(request), command_id), Command)  # type: ignore[return-value]

    @post("/{command_id:int}/cancel", opt={"permission": "devices.write"}, sync_to_thread=True, status_code=200)
    def cancel(self, request: Req, command_id: FromPath[int]) -> Command:
        row = service.cancel_command(rt(request), principal_of(request), actor_of(request), command_id)
        return convert(row, Command)  # type: ignore[return-value]


@get("/api/v1/agent-releases", opt={"permission": "devices.read"}, tags=["devices"], sync_to_thread=True)
def agent_releases(request: Req, platform: FromQuery[str] = "") -> list[AgentRelease]:
    """Agent builds this appliance serves, newest published first (`ninjait agent-release publish` adds them)."""
    found = releases.list_releases(rt(request).settings.data_dir, platform or None)
    return convert([r.as_dict() for r in found], list[AgentRelease])  # type: ignore[return-value]


route_handlers = [EnrollmentTokenController, DeviceController, CommandController, agent_releases]
