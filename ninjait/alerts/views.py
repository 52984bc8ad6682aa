"""Pages: the alerts list (filters, bulk acknowledge/resolve, live), an alert with its timeline, and the
live stream that feeds the list and the header's counter."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Request, Response, get, post
from litestar.params import FromPath, QueryParameter
from litestar.response import ServerSentEvent, Template
from litestar.response.sse import ServerSentEventMessage

from ninjait.alerts import actions, channels, escalation, event_rules, maintenance, service
from ninjait.core import live
from ninjait.core.errors import ServiceError
from ninjait.core.events import Event
from ninjait.identity import service as identity
from ninjait.identity.http import actor_of, principal_of
from ninjait.identity.views import FormData, _back, field, form_int, values
from ninjait.ui import nav
from ninjait.ui.pages import LAYOUT_CONTEXT, page

Req = Request[Any, Any, Any]
READ, WRITE = {"permission": "alerts.read"}, {"permission": "alerts.write"}
PER_PAGE = 50
FILTERS = ("state", "severity", "organization_id", "max_age_hours", "incident_id", "device_id")
nav.provide("alerts", "/alerts")


def rt(request: Req) -> Any:
    return request.app.state.runtime


def _counter(request: Req, principal: Any) -> dict[str, Any]:
    if not principal.can_somewhere("alerts.read"):
        return {}
    return {"open_alerts": service.open_count(rt(request), principal)}


LAYOUT_CONTEXT.append(_counter)



@get("/alerts", opt=READ, include_in_schema=False, sync_to_thread=True)
def alerts_page(request: Req, page_number: Annotated[int, QueryParameter(name="page", ge=1)] = 1) -> Template:
    p = principal_of(request)
    params = {k: request.query_params.get(k, "")[:40] for k in FILTERS}
    params["state"] = params["state"] or "open"
    error, rows, total = "", [], 0
    try:
        rows, total = service.list_alerts(rt(request), p, state=params["state"], severity=params["severity"],
                                          organization_id=form_int(params["organization_id"]),
                                          max_age_hours=form_int(params["max_age_hours"]),
                                          incident_id=form_int(params["incident_id"]),
                                          device_id=form_int(params["device_id"]), page=page_number,
                                          per_page=PER_PAGE)
    except ServiceError as exc:
        error = exc.message
    query = {k: v for k, v in params.items() if v}
    return page(request, "alerts/alerts.html", active="alerts", alerts=rows, total=total, params=params, error=error,
                orgs={o["id"]: o["name"] for o in identity.list_organizations(rt(request), p)},
                page_number=page_number, pages=max(1, -(-total // PER_PAGE)), severities=service.SEVERITIES,
                link=lambda **changes: "/alerts?" + urlencode({**query, **changes}),
                can_write=p.can_somewhere("alerts.write"), live_list=params["state"] in ("open", "triggered", "all"))


def _alert_page(request: Req, alert_id: int, *, error: str = "", status_code: int = 200) -> Template:
    p = principal_of(request)
    alert = service.get_alert(rt(request), p, alert_id)
    return page(request, "alerts/alert.html", status_code=status_code, active="alerts", alert=alert, error=error,
                acknowledgement=escalation.ack_report(rt(request), p, alert),
                can_write=p.can("alerts.write", alert["organization_id"]))


@get("/alerts/{alert_id:int}", opt=READ, include_in_schema=False, sync_to_thread=True)
def alert_page(request: Req, alert_id: FromPath[int]) -> Template:
    return _alert_page(request, alert_id)


@post("/alerts/{alert_id:int}/{action:str}", opt=WRITE, include_in_schema=False, sync_to_thread=True)
def alert_action(request: Req, alert_id: FromPath[int], action: FromPath[str], data: FormData) -> Response[Any]:
    if action not in service.BULK_ACTIONS:
        return _alert_page(request, alert_id, error="unknown action", status_code=404)
    try:
        service.change(rt(request), principal_of(request), actor_of(request), alert_id, action,
                        field(data, "note", service.MAX_NOTE + 1))
    except ServiceError as exc:
        return _alert_page(request, alert_id, error=exc.message, status_code=exc.status)
    return _back(f"/alerts/{alert_id}", f"alert-{action}d")


@post("/alerts/bulk", opt=WRITE, include_in_schema=False, sync_to_thread=True)
def alerts_bulk(request: Req, data: FormData) -> Response[Any]:
    ids = [int(v) for v in values(data, "ids", service.MAX_BULK) if v.isdigit()]
    if not ids:
        return _back("/alerts", "alert-bulk-empty")
    try:
        result = service.bulk(rt(request), principal_of(request), actor_of(request), ids, field(data, "action", 20),
                              field(data, "note", service.MAX_NOTE + 1))
    except ServiceError:
        return _back("/alerts", "alert-bulk-refused")
    return _back("/alerts", "alert-bulk-done" if not result["refused"] else "alert-bulk-partly")


@get("/alerts/stream", opt=READ, include_in_schema=False)
async def alerts_stream(request: Req) -> ServerSentEvent:
    """Server-Sent Events: `alert` (a new alert's list row) and `count` (the header's counter) whenever
    an alert of an organization this user may see changes."""
    p = principal_of(request)
    runtime = rt(request)
    orgs = p.organizations_for("alerts.read")
    templates = request.app.template_engine

    def wants(event: Event) -> bool:
        org = (event.data.get("summary") or {}).get("organization_id")
        return event.name.startswith("alert.") and (orgs is None or org in orgs)

    async def messages() -> Any:
        import anyio

        async for event in live.hub_of(runtime).stream(p.tenant_id, wants):
            if event is None:
                yield ServerSentEventMessage(comment="keep-alive")
                continue
            if event.name == "alert.triggered":
                row = await anyio.to_thread.run_sync(service.listed, runtime, p, event.data["object_id"])
                if row is not None:
                    html = templates.get_template("alerts/_row.html").render(alert=row, can_write=p.can_somewhere(
                        "alerts.write"), csrf="")
                    yield ServerSentEventMessage(event="alert", data=html)
            count = await anyio.to_thread.run_sync(service.open_count, runtime, p)
            yield ServerSentEventMessage(event="count", data=str(count) if count else "")

    return ServerSentEvent(messages())


WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _maintenance_page(request: Req, *, error: str = "", status_code: int = 200) -> Template:
    p = principal_of(request)
    return page(request, "alerts/maintenance.html", status_code=status_code, active="alerts", error=error,
                windows=maintenance.list_windows(rt(request), p), weekday_names=WEEKDAYS,
                orgs={o["id"]: o["name"] for o in identity.list_organizations(rt(request), p)},
                can_write=p.can("alerts.write") and p.organizations_for("alerts.write") is None)


@get("/alerts/maintenance", opt=READ, include_in_schema=False, sync_to_thread=True)
def maintenance_page(request: Req) -> Template:
    return _maintenance_page(request)


def _utc(text: str) -> int | None:
    import datetime as dt

    try:
        return int(dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC).timestamp()) if text else None
    except ValueError:
        raise ServiceError("times look like 2026-12-24T22:00 (UTC)", field="starts_at") from None


@post("/alerts/maintenance", opt=WRITE, include_in_schema=False, sync_to_thread=True)
def maintenance_create(request: Req, data: FormData) -> Response[Any]:
    scope, target = field(data, "scope", 20), field(data, "scope_id", 20)
    days = [int(d) for d in values(data, "weekdays", 7) if d.isdigit()]
    hhmm = field(data, "time_of_day", 5)
    try:
        hours, _, minutes = hhmm.partition(":")
        window = {"name": field(data, "name", 100), "scope": scope, "scope_id": form_int(target),
                  "starts_at": _utc(field(data, "starts_at", 30)), "ends_at": _utc(field(data, "ends_at", 30)),
                  "weekdays": days, "minute_of_day": int(hours) * 60 + int(minutes) if hhmm else 0,
                  "duration_minutes": form_int(field(data, "duration_minutes", 5)) or 0}
        maintenance.create_window(rt(request), principal_of(request), actor_of(request), window)
    except ValueError:
        return _maintenance_page(request, error="the time of day looks like 22:30 (UTC)", status_code=400)
    except ServiceError as exc:
        return _maintenance_page(request, error=exc.message, status_code=exc.status)
    return _back("/alerts/maintenance", "window-created")


@post("/alerts/maintenance/{window_id:int}/delete", opt=WRITE, include_in_schema=False, sync_to_thread=True)
def maintenance_delete(request: Req, window_id: FromPath[int]) -> Response[Any]:
    maintenance.delete_window(rt(request), principal_of(request), actor_of(request), window_id)
    return _back("/alerts/maintenance", "window-deleted")


def _escalation_page(request: Req, *, error: str = "", status_code: int = 200) -> Template:
    p = principal_of(request)
    users = {u["id"]: u["email"] for u in identity.list_users(rt(request), p)} if p.can("users.read") else {}
    return page(request, "alerts/escalation.html", status_code=status_code, active="alerts", error=error,
                policies=escalation.list_policies(rt(request), p), rotations=escalation.list_rotations(rt(request), p),
                channels={c["id"]: c["name"] for c in channels.list_channels(rt(request), p)}, users=users,
                actions=actions.list_actions(rt(request), p), event_rules=event_rules.list_rules(rt(request), p),
                can_write=p.can("alerts.write") and p.organizations_for("alerts.write") is None)


@get("/alerts/escalation", opt=READ, include_in_schema=False, sync_to_thread=True)
def escalation_page(request: Req) -> Template:
    return _escalation_page(request)


STEP_ROWS = 4


@post("/alerts/escalation/policies", opt=WRITE, include_in_schema=False, sync_to_thread=True)
def policy_create(request: Req, data: FormData) -> Response[Any]:
    steps = []
    for i in range(STEP_ROWS):
        kind, _, target = field(data, f"step{i}_target", 40).partition(":")
        after = field(data, f"step{i}_after", 6)
        if kind in ("channel", "user", "rotation") and target.isdigit():
            steps.append({"after_minutes": form_int(after, -1), f"{kind}_id": int(target)})
    target = field(data, "ack_target_minutes", 6)
    try:
        escalation.create_policy(rt(request), principal_of(request), actor_of(request), {
            "name": field(data, "name", 100), "min_severity": field(data, "min_severity", 20), "steps": steps,
            "ack_target_minutes": form_int(target, 0)})
    except ServiceError as exc:
        return _escalation_page(request, error=exc.message, status_code=exc.status)
    return _back("/alerts/escalation", "saved")


@post("/alerts/escalation/rotations", opt=WRITE, include_in_schema=False, sync_to_thread=True)
def rotation_create(request: Req, data: FormData) -> Response[Any]:
    users = [int(u) for u in field(data, "user_ids", 500).replace(" ", "").split(",") if u.isdigit()]
    try:
        escalation.create_rotation(rt(request), principal_of(request), actor_of(request), field(data, "name", 100),
                                   users, _utc(field(data, "starts_at", 30)) or 0)
    except ServiceError as exc:
        return _escalation_page(request, error=exc.message, status_code=exc.status)
    return _back("/alerts/escalation", "saved")


@post("/alerts/escalation/actions", opt=WRITE, include_in_schema=False, sync_to_thread=True)
def action_create(request: Req, data: FormData) -> Response[Any]:
    timeout = field(data, "timeout_seconds", 6)
    try:
        actions.create_action(rt(request), principal_of(request), actor_of(request), {
            "name": field(data, "name", 100), "rule": field(data, "rule", 200), "on_event": field(data, "on_event", 20),
            "min_severity": field(data, "min_severity", 20) or "info", "interpreter": field(data, "interpreter", 20),
            "script": field(data, "script", 262145), "timeout_seconds": form_int(timeout, 0)})
    except ServiceError as exc:
        return _escalation_page(request, error=exc.message, status_code=exc.status)
    return _back("/alerts/escalation", "saved")


@post("/alerts/escalation/event-rules", opt=WRITE, include_in_schema=False, sync_to_thread=True)
def event_rule_create(request: Req, data: FormData) -> Response[Any]:
    try:
        event_rules.create_rule(rt(request), principal_of(request), actor_of(request), {
            "name": field(data, "name", 100), "event": field(data, "event", 100),
            "clear_event": field(data, "clear_event", 100), "severity": field(data, "severity", 20) or "warning"})
    except ServiceError as exc:
        return _escalation_page(request, error=exc.message, status_code=exc.status)
    return _back("/alerts/escalation", "saved")


@post("/alerts/escalation/{kind:str}/{item_id:int}/delete", opt=WRITE, include_in_schema=False, sync_to_thread=True)
def escalation_delete(request: Req, kind: FromPath[str], item_id: FromPath[int]) -> Response[Any]:
    remove = {"policies": escalation.delete_policy, "rotations": escalation.delete_rotation,
              "actions": actions.delete_action, "event-rules": event_rules.delete_rule}.get(kind)
    if remove is None:
        return _escalation_page(request, error="nothing of that kind", status_code=404)
    remove(rt(request), principal_of(request), actor_of(request), item_id)
    return _back("/alerts/escalation", "saved")


route_handlers = [alerts_page, alerts_stream, alerts_bulk, maintenance_page, maintenance_create, maintenance_delete,
                  escalation_page, policy_create, rotation_create, action_create, event_rule_create, escalation_delete, alert_page,
                  alert_action]
