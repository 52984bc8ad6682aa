"""REST API of device tags, groups, custom fields, saved views and bulk actions.

The device routes on /api/v1/devices/ and /api/v1/devices/{device_id} (list, export, create, show, replace,
change, delete) and agent actions live in agents/api.py's DeviceController: Litestar allows one controller
per path. They call this domain's service.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, delete, get, post, put
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_204_NO_CONTENT

from ninjait.devices import bulk, fields, groups, saved_views, service
from ninjait.devices.models import (
    BulkIn, BulkResult, CustomField, CustomFieldIn, CustomFieldUpdate, Group, GroupIn,
    GroupUpdate, Preview, RulesIn, SavedView, SavedViewIn, TagCount,
)
from ninjait.identity.http import actor_of, principal_of
from ninjait.identity.models import convert

Req = Request[Any, Any, Any]
SIGNED_IN = {"authenticated": True}


def rt(request: Req) -> Any:
    return request.app.state.runtime


def given(data: msgspec.Struct) -> dict[str, Any]:
    """The fields a request sent (UNSET ones left out)."""
    return {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}


class DeviceBulkController(Controller):
    path = "/api/v1/devices"
    tags = ["devices"]

    @post("/bulk", opt={"permission": "devices.write"}, sync_to_thread=True, status_code=200)
    def bulk(self, request: Req, data: JSONBody[BulkIn]) -> BulkResult:
        """One action on many devices; each device is checked on its own and refusals say why."""
        command = msgspec.structs.asdict(data.command) if data.command else None
        result = bulk.run(rt(request), principal_of(request), actor_of(request), data.ids, data.action, tag=data.tag,
                          site_id=data.site_id, group_id=data.group_id, command=command)
        return convert(result, BulkResult)  # type: ignore[return-value]


@get("/api/v1/device-tags", opt={"permission": "devices.read"}, tags=["devices"], sync_to_thread=True)
def device_tags(request: Req) -> list[TagCount]:
    """Tags in use, with how many devices (that you may see) carry each."""
    return convert(service.tag_counts(rt(request), principal_of(request)), list[TagCount])  # type: ignore[return-value]


class DeviceGroupController(Controller):
    path = "/api/v1/device-groups"
    tags = ["devices"]

    @get("/", opt={"permission": "devices.read"}, sync_to_thread=True)
    def index(self, request: Req) -> list[Group]:
        """`members` counts the members you may see."""
        return convert(groups.list_groups(rt(request), principal_of(request)), list[Group])  # type: ignore[return-value]

    @post("/", opt={"permission": "devices.write"}, sync_to_thread=True)
    def create(self, request: Req, data: JSONBody[GroupIn]) -> Group:
        """Static groups get members through bulk actions; dynamic ones from `rules` (see docs/devices.md).
        Groups span the tenant: changing them needs devices.write in every organization."""
        row = groups.create_group(rt(request), principal_of(request), actor_of(request), data.name, data.kind,
                                  data.rules, data.description)
        return convert(row, Group)  # type: ignore[return-value]

    @post("/preview", opt={"permission": "devices.write"}, sync_to_thread=True, status_code=200)
    def preview(self, request: Req, data: JSONBody[RulesIn]) -> Preview:
        """How many devices (that you may see) the rules would hold now, and up to ten of their host names; for
        whoever edits groups, so it needs devices.write like saving them."""
        return convert(groups.preview(rt(request), principal_of(request), data.rules), Preview)  # type: ignore[return-value]

    @get("/{group_id:int}", opt={"permission": "devices.read"}, sync_to_thread=True)
    def show(self, request: Req, group_id: FromPath[int]) -> Group:
        return convert(groups.get_group(rt(request), principal_of(request), group_id), Group)  # type: ignore[return-value]

    @put("/{group_id:int}", opt={"permission": "devices.write"}, sync_to_thread=True)
    def update(self, request: Req, group_id: FromPath[int], data: JSONBody[GroupUpdate]) -> Group:
        """The kind stays; new rules re-evaluate every device at once."""
        row = groups.update_group(rt(request), principal_of(request), actor_of(request), group_id, data.name,
                                  data.rules, data.description)
        return convert(row, Group)  # type: ignore[return-value]

    @delete("/{group_id:int}", opt={"permission": "devices.write"}, sync_to_thread=True,
            status_code=HTTP_204_NO_CONTENT)
    def remove(self, request: Req, group_id: FromPath[int]) -> None:
        groups.delete_group(rt(request), principal_of(request), actor_of(request), group_id)


class CustomFieldController(Controller):
    path = "/api/v1/custom-fields"
    tags = ["devices"]

    @get("/", opt={"permission": "devices.read"}, sync_to_thread=True)
    def index(self, request: Req) -> list[CustomField]:
        return convert(fields.list_fields(rt(request), principal_of(request)), list[CustomField])  # type: ignore[return-value]

    @post("/", opt={"permission": "devices.write"}, sync_to_thread=True)
    def create(self, request: Req, data: JSONBody[CustomFieldIn]) -> CustomField:
        """Needs devices.write in every organization (the fields are the tenant's)."""
        row = fields.create_field(rt(request), principal_of(request), actor_of(request), data.key, data.label,
                                  data.type, data.choices, data.required)
        return convert(row, CustomField)  # type: ignore[return-value]

    @get("/{field_id:int}", opt={"permission": "devices.read"}, sync_to_thread=True)
    def show(self, request: Req, field_id: FromPath[int]) -> CustomField:
        return convert(fields.get_field(rt(request), principal_of(request), field_id), CustomField)  # type: ignore[return-value]

    @put("/{field_id:int}", opt={"permission": "devices.write"}, sync_to_thread=True)
    def update(self, request: Req, field_id: FromPath[int], data: JSONBody[CustomFieldUpdate]) -> CustomField:
        row = fields.update_field(rt(request), principal_of(request), actor_of(request), field_id, data.label,
                                  data.choices, data.required)
        return convert(row, CustomField)  # type: ignore[return-value]

    @delete("/{field_id:int}", opt={"permission": "devices.write"}, sync_to_thread=True,
            status_code=HTTP_204_NO_CONTENT)
    def remove(self, request: Req, field_id: FromPath[int]) -> None:
        """Removes the values devices hold; refused while a dynamic group's rules use the field."""
        fields.delete_field(rt(request), principal_of(request), actor_of(request), field_id)


class SavedViewController(Controller):
    """Your own saved device lists (every user with devices.read has them)."""

    path = "/api/v1/device-views"
    tags = ["devices"]

    @get("/", opt=SIGNED_IN, sync_to_thread=True)
    def index(self, request: Req) -> list[SavedView]:
        return convert(saved_views.list_views(rt(request), principal_of(request)), list[SavedView])  # type: ignore[return-value]

    @post("/", opt=SIGNED_IN, sync_to_thread=True)
    def create(self, request: Req, data: JSONBody[SavedViewIn]) -> SavedView:
        """Saving under a name you already use replaces that view."""
        row = saved_views.save_view(rt(request), principal_of(request), actor_of(request), data.name, data.query)
        return convert(row, SavedView)  # type: ignore[return-value]

    @get("/{view_id:int}", opt=SIGNED_IN, sync_to_thread=True)
    def show(self, request: Req, view_id: FromPath[int]) -> SavedView:
        return convert(saved_views.get_view(rt(request), principal_of(request), view_id), SavedView)  # type: ignore[return-value]

    @delete("/{view_id:int}", opt=SIGNED_IN, sync_to_thread=True, status_code=HTTP_204_NO_CONTENT)
    def remove(self, request: Req, view_id: FromPath[int]) -> None:
        saved_views.delete_view(rt(request), principal_of(request), actor_of(request), view_id)


route_handlers = [DeviceBulkController, device_tags, DeviceGroupController, CustomFieldController,
                  SavedViewController]
