"""Pages: the device list, a device with its agent and command history, and enrollment tokens."""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Request, Response, get, post
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template

from ninjait.agents import releases, service, store
from ninjait.alerts import service as alerts
from ninjait.core.errors import ServiceError
from ninjait.devices import fields, service as devices, views as device_views
from ninjait.identity import service as identity
from ninjait.identity.http import actor_of, principal_of
from ninjait.identity.views import FormData, _back, field, form_int
from ninjait.monitoring.service import METRICS
from ninjait.ui import nav
from ninjait.ui.pages import page

Req = Request[Any, Any, Any]
nav.provide("devices", "/devices")


def rt(request: Req) -> Any:
    return request.app.state.runtime


PER_PAGE = 50
FILTERS = ("q", "organization_id", "site_id", "status", "os", "tag", "group_id", "custom", "sort")


@get("/devices", opt={"permission": "devices.read"}, include_in_schema=False, sync_to_thread=True)
def devices_page(request: Req, page_number: Annotated[int, QueryParameter(name="page", ge=1)] = 1) -> Template:
    p = principal_of(request)
    params = {k: request.query_params.get(k, "")[:200] for k in FILTERS}
    org = params["organization_id"]
    error, rows, total = "", [], 0
    try:
        rows, total = devices.search_devices(
            rt(request), p, q=params["q"], organization_id=form_int(org),
            site_id=int(params["site_id"]) if params["site_id"].isdigit() else None, status=params["status"],
            os=params["os"], tag=params["tag"], group_id=int(params["group_id"]) if params["group_id"].isdigit() else None,
            custom=params["custom"], sort=params["sort"] or "hostname", page=page_number, per_page=PER_PAGE)
    except ServiceError as exc:
        error = exc.message
    orgs = {o["id"]: o["name"] for o in identity.list_organizations(rt(request), p)}
    query = {k: v for k, v in params.items() if v}
    pages = max(1, -(-total // PER_PAGE))
    return page(request, "agents/devices.html", active="devices", devices=rows, total=total, orgs=orgs,
                params=params, error=error, page_number=page_number, pages=pages, statuses=devices.STATUSES,
                link=lambda **changes: "/devices?" + urlencode({**query, **{k: v for k, v in changes.items()}}),
                export_url="/api/v1/devices/export" + ("?" + urlencode(query) if query else ""),
                can_enroll=p.can_somewhere("devices.write"), query=urlencode(query),
                **device_views.list_context(request, params))


def _device_page(request: Req, device_id: int, *, status_code: int = 200, error: str = "") -> Template:
    p = principal_of(request)
    device = devices.describe(rt(request), p, device_id)
    with rt(request).db.read() as c:
        agent = store.agent_for_device(c, p.tenant_id, device_id)
    software_rows, software_total = devices.software(device)
    activity = devices.timeline(rt(request), p, device_id)
    device_alerts = (alerts.list_alerts(rt(request), p, device_id=device_id, per_page=20)[0]
                     if p.can("alerts.read", device["organization_id"]) else None)
    return page(request, "agents/device.html", custom_fields=fields.list_fields(rt(request), p),
                device_alerts=device_alerts,
                status_code=status_code, active="devices", error=error,
                device=device, agent=agent, commands=service.list_commands(rt(request), p, device_id),
                agent_builds=releases.list_releases(rt(request).settings.data_dir, device["platform"]),
                can_write=p.can("devices.write", device["organization_id"]),
                inventory_json=json.dumps(device["inventory"], indent=2, sort_keys=True)[:200_000],
                metrics=METRICS, software_rows=software_rows, software_total=software_total,
                activity=activity, activity_next=str(activity[-1]["at_ms"]) if len(activity) == 50 else "")


@get("/devices/{device_id:int}", opt={"permission": "devices.read"}, include_in_schema=False, sync_to_thread=True)
def device_page(request: Req, device_id: FromPath[int]) -> Template:
    return _device_page(request, device_id)


@post("/devices/{device_id:int}/details", opt={"permission": "devices.write"}, include_in_schema=False,
      sync_to_thread=True)
def device_details(request: Req, device_id: FromPath[int], data: FormData) -> Response[Any]:
    p = principal_of(request)
    devices.get_device(rt(request), p, device_id)  # 404 before anything else for devices one cannot see
    custom = {d["key"]: field(data, f"cf_{d['key']}", fields.MAX_TEXT)
              for d in fields.list_fields(rt(request), p) if f"cf_{d['key']}" in data}
    changes: dict[str, Any] = {k: field(data, k, 10000) for k in ("hostname", "owner", "purchase_date",
                                                                    "warranty_end", "notes") if k in data}
    if "tags" in data:
        changes["tags"] = [t for t in field(data, "tags", 3000).split(",") if t.strip()]
    if custom:
        changes["custom_fields"] = custom
    try:
        devices.change_device(rt(request), p, actor_of(request), device_id, changes, replace=False)
    except ServiceError as exc:
        return _device_page(request, device_id, status_code=exc.status, error=exc.message)
    return _back(f"/devices/{device_id}", "saved")


@post("/devices/{device_id:int}/scripts", opt={"permission": "devices.write"}, include_in_schema=False,
      sync_to_thread=True)
def device_run_script(request: Req, device_id: FromPath[int], data: FormData) -> Response[Any]:
    timeout = field(data, "timeout", 10)
    try:
        service.queue_command(rt(request), principal_of(request), actor_of(request), device_id, "run_script", {
            "script": field(data, "script", 300_000).replace("\r\n", "\n"),
            "interpreter": field(data, "interpreter", 20) or "sh",
            "timeout": form_int(timeout, 300),
            "run_as": field(data, "run_as", 64)})
    except ServiceError as exc:
        return _device_page(request, device_id, status_code=exc.status, error=exc.message)
    return _back(f"/devices/{device_id}", "command-queued")


@post("/devices/{device_id:int}/agent/{action:str}", opt={"permission": "devices.write"}, include_in_schema=False,
      sync_to_thread=True)
def device_agent_action(request: Req, device_id: FromPath[int], action: FromPath[str], data: FormData) -> Response[Any]:
    p, actor = principal_of(request), actor_of(request)
    try:
        if action == "approve":
            service.set_agent_status(rt(request), p, actor, device_id, "active")
        elif action == "revoke":
            service.set_agent_status(rt(request), p, actor, device_id, "revoked")
        elif action == "rotate":
            service.request_rotation(rt(request), p, actor, device_id)
        elif action == "inventory":
            service.queue_command(rt(request), p, actor, device_id, "refresh_inventory", {})
        elif action == "update":
            releases.roll_out(rt(request), p, actor, device_id, field(data, "version", 32))
            return _back(f"/devices/{device_id}", "command-queued")
        else:
            return _device_page(request, device_id, status_code=404, error="unknown action")
    except ServiceError as exc:
        return _device_page(request, device_id, status_code=exc.status, error=exc.message)
    return _back(f"/devices/{device_id}", "saved")


@post("/commands/{command_id:int}/cancel", opt={"permission": "devices.write"}, include_in_schema=False,
      sync_to_thread=True)
def command_cancel(request: Req, command_id: FromPath[int]) -> Response[Any]:
    p = principal_of(request)
    command = service.get_command(rt(request), p, command_id)
    try:
        service.cancel_command(rt(request), p, actor_of(request), command_id)
    except ServiceError as exc:
        return _device_page(request, command["device_id"], status_code=exc.status, error=exc.message)
    return _back(f"/devices/{command['device_id']}", "saved")


def _tokens_page(request: Req, *, status_code: int = 200, error: str = "", created: dict | None = None) -> Template:
    p = principal_of(request)
    r = rt(request)
    sites = []
    for org in identity.list_organizations(r, p):
        if p.can("devices.write", org["id"]):
            sites += [{**s, "org_name": org["name"]} for s in identity.list_sites(r, p, org["id"])]
    site_names = {s["id"]: f"{s['org_name']} / {s['name']}" for s in sites}
    return page(request, "agents/enrollment.html", status_code=status_code, active="devices", error=error,
                tokens=service.list_enrollment_tokens(r, p), sites=sites, site_names=site_names, created=created,
                fingerprint=r.tls_fingerprint, server=r.settings.base_url)


@get("/devices/enroll", opt={"permission": "devices.read"}, include_in_schema=False, sync_to_thread=True)
def enrollment_page(request: Req) -> Template:
    return _tokens_page(request)


@post("/devices/enroll", opt={"permission": "devices.write"}, include_in_schema=False, sync_to_thread=True)
def enrollment_create(request: Req, data: FormData) -> Response[Any]:
    site = field(data, "site_id", 20)
    hours, uses = field(data, "expires_in_hours", 10), field(data, "max_uses", 10)
    try:
        created = service.create_enrollment_token(
            rt(request), principal_of(request), actor_of(request), form_int(site, 0),
            field(data, "name", 100), form_int(hours, 24), form_int(uses, 1))
    except ServiceError as exc:
        return _tokens_page(request, status_code=exc.status, error=exc.message)
    return _tokens_page(request, created=created)


@post("/devices/new", opt={"permission": "devices.write"}, include_in_schema=False, sync_to_thread=True)
def device_register(request: Req, data: FormData) -> Response[Any]:
    """A device record without an agent (Add devices → Register a device without an agent)."""
    site = field(data, "site_id", 20)
    try:
        device = devices.create_device(rt(request), principal_of(request), actor_of(request), {
            "hostname": field(data, "hostname", 253), "site_id": form_int(site, 0),
            "tags": [t for t in field(data, "tags", 3000).split(",") if t.strip()]})
    except ServiceError as exc:
        return _tokens_page(request, status_code=exc.status, error=exc.message)
    return _back(f"/devices/{device['id']}", "saved")


@post("/devices/enroll/{enrollment_token_id:int}/revoke", opt={"permission": "devices.write"},
      include_in_schema=False, sync_to_thread=True)
def enrollment_revoke(request: Req, enrollment_token_id: FromPath[int]) -> Response[Any]:
    service.revoke_enrollment_token(rt(request), principal_of(request), actor_of(request), enrollment_token_id)
    return Redirect("/devices/enroll?" + urlencode({"msg": "token-revoked"}), status_code=303)


route_handlers = [devices_page, enrollment_page, enrollment_create, enrollment_revoke, device_register, device_page,
                  device_details,
                  device_run_script,
                  device_agent_action, command_cancel]
