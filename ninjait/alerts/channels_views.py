"""Settings → Notifications: the tenant's channels, adding one of any kind the plugins provide, editing,
sending a test, and each channel's delivery log."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from ninjait.alerts import channels
from ninjait.core.errors import ServiceError
from ninjait.identity.http import actor_of, principal_of
from ninjait.devices import groups as device_groups
from ninjait.identity import service as identity
from ninjait.identity.views import FormData, _back, field, form_int, values
from ninjait.ui.pages import page

Req = Request[Any, Any, Any]
READ, WRITE = {"permission": "alerts.read"}, {"permission": "alerts.write"}
RULES = ("min_severity", "renotify_minutes")
FLAGS = ("notify_resolved", "notify_flapping", "notify_ticket_sla", "enabled")


def rt(request: Req) -> Any:
    return request.app.state.runtime


def _kinds(request: Req) -> list[Any]:
    return sorted(channels.catalogue(rt(request)).values(), key=lambda c: c.label)


def _minutes(hhmm: str) -> int | None:
    """"22:30" -> 1350; "" -> None; anything else -> -1 (the service refuses it with a message)."""
    if not hhmm:
        return None
    hours, _, minutes = hhmm.partition(":")
    return int(hours) * 60 + int(minutes) if hours.isdigit() and minutes.isdigit() else -1


def _from_form(request: Req, data: dict[str, Any], kind: str) -> dict[str, Any]:
    channel = channels.catalogue(rt(request)).get(kind)
    settings = {f.name: field(data, f"setting_{f.name}", 2000) for f in (channel.fields if channel else ())}
    renotify = field(data, "renotify_minutes", 10)
    quiet = [_minutes(field(data, key, 5)) for key in ("quiet_from", "quiet_to")]
    return {"name": field(data, "name", 100), "kind": kind, "settings": settings,
            "organization_ids": [int(o) for o in values(data, "organization_ids", 500) if o.isdigit()],
            "group_ids": [int(g) for g in values(data, "group_ids", 500) if g.isdigit()],
            "quiet_from": quiet[0], "quiet_to": quiet[1],
            "min_severity": field(data, "min_severity", 20) or "warning",
            "renotify_minutes": form_int(renotify, -1),
            **{flag: field(data, flag, 5) == "on" for flag in FLAGS}}


def _channels_page(request: Req, kind: str = "", *, error: str = "", form: dict[str, Any] | None = None,
                   status_code: int = 200) -> Template:
    p = principal_of(request)
    kinds = _kinds(request)
    chosen = next((k for k in kinds if k.kind == kind), None)
    return page(request, "alerts/channels.html", status_code=status_code, active="settings",
                orgs={o["id"]: o["name"] for o in identity.list_organizations(rt(request), p)},
                groups={g["id"]: g["name"] for g in device_groups.list_groups(rt(request), p)},
                channels=channels.list_channels(rt(request), p), kinds=kinds, chosen=chosen, error=error,
                form=form or {"enabled": True, "notify_resolved": True, "min_severity": "warning"},
                can_write=p.can("alerts.write") and p.organizations_for("alerts.write") is None)


@get("/settings/notifications", opt=READ, include_in_schema=False, sync_to_thread=True)
def channels_page(request: Req, kind: FromQuery[str] = "") -> Template:
    return _channels_page(request, kind[:50])


@post("/settings/notifications", opt=WRITE, include_in_schema=False, sync_to_thread=True)
def channel_create(request: Req, data: FormData) -> Response[Any]:
    kind = field(data, "kind", 50)
    form = _from_form(request, data, kind)
    try:
        created = channels.create_channel(rt(request), principal_of(request), actor_of(request), form)
    except ServiceError as exc:
        return _channels_page(request, kind, error=exc.message, form=form, status_code=exc.status)
    return _back(f"/settings/notifications/{created['id']}", "channel-created")


def _channel_page(request: Req, channel_id: int, *, error: str = "", outcome: dict[str, Any] | None = None,
                  status_code: int = 200) -> Template:
    p = principal_of(request)
    channel = channels.get_channel(rt(request), p, channel_id)
    return page(request, "alerts/channel.html", status_code=status_code, active="settings", channel=channel,
                orgs={o["id"]: o["name"] for o in identity.list_organizations(rt(request), p)},
                groups={g["id"]: g["name"] for g in device_groups.list_groups(rt(request), p)},
                plugin=channels.catalogue(rt(request)).get(channel["kind"]), error=error, outcome=outcome,
                deliveries=channels.deliveries(rt(request), p, channel_id, 50),
                can_write=p.can("alerts.write") and p.organizations_for("alerts.write") is None)


@get("/settings/notifications/{channel_id:int}", opt=READ, include_in_schema=False, sync_to_thread=True)
def channel_page(request: Req, channel_id: FromPath[int]) -> Template:
    return _channel_page(request, channel_id)


@post("/settings/notifications/{channel_id:int}", opt=WRITE, include_in_schema=False, sync_to_thread=True)
def channel_update(request: Req, channel_id: FromPath[int], data: FormData) -> Response[Any]:
    p = principal_of(request)
    try:
        current = channels.get_channel(rt(request), p, channel_id)
        form = _from_form(request, data, current["kind"])
        form.pop("kind")
        channels.update_channel(rt(request), p, actor_of(request), channel_id, form)
    except ServiceError as exc:
        return _channel_page(request, channel_id, error=exc.message, status_code=exc.status)
    return _back(f"/settings/notifications/{channel_id}", "saved")


@post("/settings/notifications/{channel_id:int}/test", opt=WRITE, include_in_schema=False, sync_to_thread=True)
def channel_test(request: Req, channel_id: FromPath[int]) -> Template:
    try:
        outcome = channels.send_test(rt(request), principal_of(request), actor_of(request), channel_id)
    except ServiceError as exc:
        return _channel_page(request, channel_id, error=exc.message, status_code=exc.status)
    return _channel_page(request, channel_id, outcome=outcome)


@post("/settings/notifications/{channel_id:int}/delete", opt=WRITE, include_in_schema=False, sync_to_thread=True)
def channel_delete(request: Req, channel_id: FromPath[int]) -> Response[Any]:
    channels.delete_channel(rt(request), principal_of(request), actor_of(request), channel_id)
    return _back("/settings/notifications", "channel-deleted")


route_handlers = [channels_page, channel_create, channel_page, channel_update, channel_test, channel_delete]
