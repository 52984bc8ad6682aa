"""Pages: bulk actions and saved views of the device list, a device's details form, and the Settings
pages of device groups and custom fields."""

from __future__ import annotations

import calendar
import json
import time
from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from ninjait.core.errors import Invalid, ServiceError
from ninjait.devices import bulk, fields, groups, rules, saved_views, service
from ninjait.identity import service as identity
from ninjait.identity.http import actor_of, principal_of
from ninjait.identity.views import FormData, _back, field, form_int, values
from ninjait.ui.pages import page

Req = Request[Any, Any, Any]
SIGNED_IN = {"authenticated": True}


def rt(request: Req) -> Any:
    return request.app.state.runtime



def _epoch(local: str) -> int | None:
    """A datetime-local field (read as UTC, as every time on these pages) -> epoch seconds."""
    if not local:
        return None
    try:
        return calendar.timegm(time.strptime(local[:16], "%Y-%m-%dT%H:%M"))
    except ValueError:
        raise Invalid("the time to run is YYYY-MM-DDTHH:MM", field="not_before") from None


# --- the device list: bulk actions and saved views ------------------------------------------------

@post("/devices/bulk", opt={"permission": "devices.write"}, include_in_schema=False, sync_to_thread=True)
def devices_bulk(request: Req, data: FormData) -> Response[Any]:
    """htmx: the action bar of the device list posts the ticked devices here and shows the outcome."""
    ids = [int(v) for v in values(data, "ids", 20) if v.isdigit()]
    action = field(data, "action", 40)
    command = None
    try:
        if action == "refresh_inventory":  # the action bar's shortcut for this command
            action, data = "queue_command", {**data, "kind": "refresh_inventory"}
        if action == "queue_command":
            kind = field(data, "kind", 40) or "run_script"
            payload: dict[str, Any] = {}
            if kind == "run_script":
                payload = {"script": field(data, "script", 300_000).replace("\r\n", "\n"),
                           "interpreter": field(data, "interpreter", 20) or "sh"}
            elif kind == "reboot":
                payload = {"confirm": True}
            command = {"kind": kind, "payload": payload, "not_before": _epoch(field(data, "not_before", 20)),
                       "expires_in_seconds": 3600}
        if not ids:
            raise Invalid("tick at least one device", field="ids")
        result = bulk.run(rt(request), principal_of(request), actor_of(request), ids, action,
                          tag=field(data, "tag", 60), site_id=form_int(field(data, "site_id", 20)),
                          group_id=form_int(field(data, "group_id", 20)), command=command)
    except ServiceError as exc:
        result, error = None, exc.message
    else:
        error = ""
    if not request.headers.get("hx-request"):
        return Redirect("/devices" + ("" if error else "?msg=saved"), status_code=303)
    return page(request, "devices/_bulk_result.html", result=result, error=error)


@post("/devices/views", opt=SIGNED_IN, include_in_schema=False, sync_to_thread=True)
def devices_view_save(request: Req, data: FormData) -> Response[Any]:
    query = field(data, "query", 2000)
    try:
        saved_views.save_view(rt(request), principal_of(request), actor_of(request), field(data, "name", 100), query)
    except ServiceError as exc:
        return Redirect("/devices?" + urlencode({"view_error": exc.message}), status_code=303)
    return Redirect(f"/devices?{query}", status_code=303)


@post("/devices/views/{view_id:int}/delete", opt=SIGNED_IN, include_in_schema=False, sync_to_thread=True)
def devices_view_delete(request: Req, view_id: FromPath[int]) -> Response[Any]:
    saved_views.delete_view(rt(request), principal_of(request), actor_of(request), view_id)
    return _back("/devices", "saved")


# --- Settings: device groups ------------------------------------------------------------------------

def _groups_page(request: Req, *, status_code: int = 200, error: str = "", form: dict[str, Any] | None = None,
                 group: dict[str, Any] | None = None) -> Template:
    p = principal_of(request)
    return page(request, "devices/groups.html", status_code=status_code, active="settings", error=error,
                groups=groups.list_groups(rt(request), p), fields=fields.list_fields(rt(request), p),
                form=form or {}, group=group, can_write=p.organizations_for("devices.write") is None,
                field_names=", ".join(rules.FIELDS))


def _rules_from(data: dict[str, Any]) -> dict[str, Any] | None:
    text = field(data, "rules", 20_000).strip()
    if not text:
        return None
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as exc:
        raise Invalid(f"rules: not valid JSON ({exc.msg}, line {exc.lineno})", field="rules") from None
    if not isinstance(parsed, dict):
        raise Invalid("rules: must be a JSON object", field="rules")
    return parsed


@get("/settings/device-groups", opt={"permission": "devices.read"}, include_in_schema=False, sync_to_thread=True)
def groups_page(request: Req) -> Template:
    return _groups_page(request)


@post("/settings/device-groups", opt={"permission": "devices.write"}, include_in_schema=False, sync_to_thread=True)
def groups_create(request: Req, data: FormData) -> Response[Any]:
    try:
        groups.create_group(rt(request), principal_of(request), actor_of(request), field(data, "name", 100),
                            field(data, "kind", 10), _rules_from(data), field(data, "description", 1000))
    except ServiceError as exc:
        return _groups_page(request, status_code=exc.status, error=exc.message, form=dict(data))
    return _back("/settings/device-groups", "saved")


@post("/settings/device-groups/preview", opt={"permission": "devices.write"}, include_in_schema=False,
      sync_to_thread=True)
def groups_preview(request: Req, data: FormData) -> Template:
    """htmx: the count of devices the rules in the form would hold now."""
    try:
        rules = _rules_from(data)
        if rules is None:
            raise Invalid("write rules to see which devices they match", field="rules")
        found, error = groups.preview(rt(request), principal_of(request), rules), ""
    except ServiceError as exc:
        found, error = None, exc.message
    return page(request, "devices/_preview.html", found=found, error=error)


@get("/settings/device-groups/{group_id:int}", opt={"permission": "devices.read"}, include_in_schema=False,
     sync_to_thread=True)
def group_page(request: Req, group_id: FromPath[int]) -> Template:
    group = groups.get_group(rt(request), principal_of(request), group_id)
    form = {"name": group["name"], "description": group["description"],
            "rules": json.dumps(group["rules"], indent=2) if group["rules"] else ""}
    return _groups_page(request, group=group, form=form)


@post("/settings/device-groups/{group_id:int}", opt={"permission": "devices.write"}, include_in_schema=False,
      sync_to_thread=True)
def group_update(request: Req, group_id: FromPath[int], data: FormData) -> Response[Any]:
    group = groups.get_group(rt(request), principal_of(request), group_id)
    try:
        groups.update_group(rt(request), principal_of(request), actor_of(request), group_id, field(data, "name", 100),
                            _rules_from(data), field(data, "description", 1000))
    except ServiceError as exc:
        return _groups_page(request, status_code=exc.status, error=exc.message, form=dict(data), group=group)
    return _back(f"/settings/device-groups/{group_id}", "saved")


@post("/settings/device-groups/{group_id:int}/delete", opt={"permission": "devices.write"}, include_in_schema=False,
      sync_to_thread=True)
def group_delete(request: Req, group_id: FromPath[int]) -> Response[Any]:
    groups.delete_group(rt(request), principal_of(request), actor_of(request), group_id)
    return _back("/settings/device-groups", "saved")


# --- Settings: custom fields -------------------------------------------------------------------------

def _fields_page(request: Req, *, status_code: int = 200, error: str = "", form: dict[str, Any] | None = None
                 ) -> Template:
    p = principal_of(request)
    return page(request, "devices/custom_fields.html", status_code=status_code, active="settings", error=error,
                fields=fields.list_fields(rt(request), p), form=form or {}, base="/settings/custom-fields",
                what="device", can_write=p.organizations_for("devices.write") is None, types=fields.TYPES)


@get("/settings/custom-fields", opt={"permission": "devices.read"}, include_in_schema=False, sync_to_thread=True)
def fields_page(request: Req) -> Template:
    return _fields_page(request)


@post("/settings/custom-fields", opt={"permission": "devices.write"}, include_in_schema=False, sync_to_thread=True)
def fields_create(request: Req, data: FormData) -> Response[Any]:
    try:
        fields.create_field(rt(request), principal_of(request), actor_of(request), field(data, "key", 40),
                            field(data, "label", 100), field(data, "type", 10), _choices(data),
                            field(data, "required", 5) == "on")
    except ServiceError as exc:
        return _fields_page(request, status_code=exc.status, error=exc.message, form=dict(data))
    return _back("/settings/custom-fields", "saved")


def _choices(data: dict[str, Any]) -> list[str]:
    return [c for c in field(data, "choices", 5000).split(",") if c.strip()]


@post("/settings/custom-fields/{field_id:int}", opt={"permission": "devices.write"}, include_in_schema=False,
      sync_to_thread=True)
def fields_update(request: Req, field_id: FromPath[int], data: FormData) -> Response[Any]:
    p = principal_of(request)
    fields.get_field(rt(request), p, field_id)  # 404 first
    try:
        fields.update_field(rt(request), p, actor_of(request), field_id, field(data, "label", 100), _choices(data),
                            field(data, "required", 5) == "on")
    except ServiceError as exc:
        return _fields_page(request, status_code=exc.status, error=exc.message)
    return _back("/settings/custom-fields", "saved")


@post("/settings/custom-fields/{field_id:int}/delete", opt={"permission": "devices.write"}, include_in_schema=False,
      sync_to_thread=True)
def fields_delete(request: Req, field_id: FromPath[int]) -> Response[Any]:
    try:
        fields.delete_field(rt(request), principal_of(request), actor_of(request), field_id)
    except ServiceError as exc:
        if exc.status == 404:
            raise
        return _fields_page(request, status_code=exc.status, error=exc.message)
    return _back("/settings/custom-fields", "saved")


def list_context(request: Req, params: dict[str, str]) -> dict[str, Any]:
    """What the device list page needs for its tag/group/custom filters, saved views and action bar."""
    r, p = rt(request), principal_of(request)
    sites = []
    for org in identity.list_organizations(r, p):
        if p.can("devices.write", org["id"]):
            sites += [{**s, "org_name": org["name"]} for s in identity.list_sites(r, p, org["id"])]
    all_groups = groups.list_groups(r, p)
    return {"tags": service.tag_counts(r, p), "groups": all_groups,
            "custom_fields": fields.list_fields(r, p), "views": saved_views.list_views(r, p), "sites": sites,
            "static_groups": [g for g in all_groups if g["kind"] == "static"],
            "can_bulk": p.can_somewhere("devices.write"),
            "view_error": request.query_params.get("view_error", "")[:300]}


route_handlers = [devices_bulk, devices_view_save, devices_view_delete, groups_page, groups_create,
                  groups_preview, group_page, group_update, group_delete, fields_page, fields_create, fields_update,
                  fields_delete]
