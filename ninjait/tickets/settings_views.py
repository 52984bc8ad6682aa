"""Pages of a tenant's service-desk settings: statuses and numbering (/settings/service-desk) and SLA calendars
and policies (/settings/sla, one page per calendar with its iCal holiday import)."""

from __future__ import annotations

import re
from typing import Any

import anyio
from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath
from litestar.response import Template

from ninjait.core.errors import Invalid, ServiceError
from ninjait.identity import service as identity
from ninjait.identity.http import actor_of, principal_of
from ninjait.identity.views import FormData, _back, field, form_int
from ninjait.tickets import desk_settings, ical, service, sla_policies
from ninjait.ui.pages import page

Req = Request[Any, Any, Any]
READ, WRITE = {"permission": "tickets.read"}, {"permission": "tickets.write"}
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
RANGE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
DURATION = re.compile(r"^(?:(\d+)d)?\s*(?:(\d+)h)?\s*(?:(\d+)m)?$")
CLOCKS = ("first_response", "next_response", "resolution")


def rt(request: Req) -> Any:
    return request.app.state.runtime


def _can_configure(p: Any) -> bool:
    return p.can("tickets.write")



# --- statuses and numbering ---------------------------------------------------------------------

def _desk_page(request: Req, *, error: str = "", status_code: int = 200) -> Template:
    p = principal_of(request)
    return page(request, "tickets/settings.html", status_code=status_code, active="settings", error=error,
                statuses=service.list_statuses(rt(request), p), types=service.STATUS_TYPES,
                numbering=desk_settings.get_numbering(rt(request), p), can_write=_can_configure(p))


@get("/settings/service-desk", opt=READ, include_in_schema=False, sync_to_thread=True)
def desk_page(request: Req) -> Template:
    return _desk_page(request)


def _status_form(data: dict[str, Any]) -> dict[str, Any]:
    position = field(data, "position", 5)
    return {"name": field(data, "name", 61), "type": field(data, "type", 20) or None,
            "position": form_int(position),
            "pauses_sla": field(data, "pauses_sla", 5) == "on"}


@post("/settings/service-desk/statuses", opt=WRITE, include_in_schema=False, sync_to_thread=True)
def status_create(request: Req, data: FormData) -> Response[Any]:
    form = _status_form(data)
    if form["type"] != "pending":
        form["pauses_sla"] = None
    try:
        desk_settings.create_status(rt(request), principal_of(request), actor_of(request), form)
    except ServiceError as exc:
        return _desk_page(request, error=exc.message, status_code=exc.status)
    return _back("/settings/service-desk", "saved")


@post("/settings/service-desk/statuses/{status_id:int}", opt=WRITE, include_in_schema=False, sync_to_thread=True)
def status_update(request: Req, status_id: FromPath[int], data: FormData) -> Response[Any]:
    form = _status_form(data)
    if form["type"] not in (None, "pending"):
        form["pauses_sla"] = False
    try:
        desk_settings.update_status(rt(request), principal_of(request), actor_of(request), status_id, form)
    except ServiceError as exc:
        return _desk_page(request, error=exc.message, status_code=exc.status)
    return _back("/settings/service-desk", "saved")


@post("/settings/service-desk/statuses/{status_id:int}/delete", opt=WRITE, include_in_schema=False,
      sync_to_thread=True)
def status_delete(request: Req, status_id: FromPath[int]) -> Response[Any]:
    try:
        desk_settings.delete_status(rt(request), principal_of(request), actor_of(request), status_id)
    except ServiceError as exc:
        return _desk_page(request, error=exc.message, status_code=exc.status)
    return _back("/settings/service-desk", "saved")


@post("/settings/service-desk/numbering", opt=WRITE, include_in_schema=False, sync_to_thread=True)
def numbering_save(request: Req, data: FormData) -> Response[Any]:
    number = field(data, "next_number", 14)
    try:
        desk_settings.save_numbering(rt(request), principal_of(request), actor_of(request), {
            "prefix": field(data, "prefix", 11), "next_number": form_int(number, -1)})
    except ServiceError as exc:
        return _desk_page(request, error=exc.message, status_code=exc.status)
    return _back("/settings/service-desk", "saved")


# --- SLA calendars and policies -------------------------------------------------------------------

def hours_text(ranges: list[list[int]]) -> str:
    return ", ".join(f"{a // 60:02d}:{a % 60:02d}-{b // 60:02d}:{b % 60:02d}" for a, b in ranges)


def parse_hours(text: str, day: str) -> list[list[int]]:
    """"08:00-12:00, 13:00-17:00" -> [[480, 720], [780, 1020]]; 24:00 is the end of the day."""
    ranges = []
    for part in filter(None, (x.strip() for x in text.split(","))):
        m = RANGE.match(part)
        if not m:
            raise Invalid(f"{day}: write opening hours as 08:00-17:00 (several separated by commas)", field="weekly")
        h1, m1, h2, m2 = (int(g) for g in m.groups())
        ranges.append([h1 * 60 + m1, h2 * 60 + m2])
    return ranges


def parse_duration(text: str, what: str) -> int | None:
    """"90" (minutes), "4h", "1d 2h", "30m" -> seconds; "" -> no target. A day is 24 business hours."""
    text = text.strip().lower()
    if not text:
        return None
    if text.isdigit():
        return int(text) * 60
    m = DURATION.match(text)
    if not m or not any(m.groups()):
        raise Invalid(f"{what}: write a duration like 30m, 4h or 1d 2h (or minutes)", field="targets")
    days, hours, minutes = (int(g or 0) for g in m.groups())
    return (days * 1440 + hours * 60 + minutes) * 60


def duration_text(seconds: int | None) -> str:
    if not seconds:
        return ""
    minutes = seconds // 60
    days, hours, mins = minutes // 1440, minutes // 60 % 24, minutes % 60
    return " ".join(f"{n}{unit}" for n, unit in ((days, "d"), (hours, "h"), (mins, "m")) if n) or "0m"


def _calendar_form(data: dict[str, Any]) -> dict[str, Any]:
    weekly = {str(i): parse_hours(field(data, f"day{i}", 200), day) for i, day in enumerate(DAYS)}
    holidays = [h.strip() for h in field(data, "holidays", 20000).split() if h.strip()]
    return {"name": field(data, "name", 101), "timezone": field(data, "timezone", 64) or "UTC",
            "weekly": {d: r for d, r in weekly.items() if r}, "holidays": holidays,
            "always_open": field(data, "always_open", 5) == "on"}


def _policy_form(data: dict[str, Any]) -> dict[str, Any]:
    targets: dict[str, dict[str, int]] = {}
    for priority in service.PRIORITIES:
        for clock in CLOCKS:
            seconds = parse_duration(field(data, f"{priority}_{clock}", 20), f"{priority} {clock.replace('_', ' ')}")
            if seconds:
                targets.setdefault(priority, {})[clock] = seconds
    warn = field(data, "warn_percent", 3)
    return {"name": field(data, "name", 101), "calendar_id": form_int(field(data, "calendar_id", 20)),
            "organization_id": form_int(field(data, "organization_id", 20)), "priority": field(data, "priority", 3),
            "warn_percent": form_int(warn, -1), "targets": targets}


def _sla_page(request: Req, *, error: str = "", status_code: int = 200, form: dict[str, Any] | None = None) -> Template:
    p = principal_of(request)
    return page(request, "tickets/sla.html", status_code=status_code, active="settings", error=error,
                calendars=sla_policies.list_calendars(rt(request), p), policies=sla_policies.list_policies(rt(request), p),
                orgs={o["id"]: o["name"] for o in identity.list_organizations(rt(request), p)},
                priorities=service.PRIORITIES, clocks=CLOCKS, days=DAYS, duration=duration_text,
                hours=hours_text, form=form or {}, can_write=_can_configure(p))


@get("/settings/sla", opt=READ, include_in_schema=False, sync_to_thread=True)
def sla_page(request: Req) -> Template:
    return _sla_page(request)


@post("/settings/sla/calendars", opt=WRITE, include_in_schema=False, sync_to_thread=True)
def calendar_create(request: Req, data: FormData) -> Response[Any]:
    try:
        created = sla_policies.create_calendar(rt(request), principal_of(request), actor_of(request),
                                               _calendar_form(data))
    except ServiceError as exc:
        return _sla_page(request, error=exc.message, status_code=exc.status, form=dict(data))
    return _back(f"/settings/sla/calendars/{created['id']}", "saved")


@post("/settings/sla/policies", opt=WRITE, include_in_schema=False, sync_to_thread=True)
def policy_create(request: Req, data: FormData) -> Response[Any]:
    try:
        sla_policies.create_policy(rt(request), principal_of(request), actor_of(request), _policy_form(data))
    except ServiceError as exc:
        return _sla_page(request, error=exc.message, status_code=exc.status, form=dict(data))
    return _back("/settings/sla", "saved")


@post("/settings/sla/policies/{sla_policy_id:int}/delete", opt=WRITE, include_in_schema=False, sync_to_thread=True)
def policy_delete(request: Req, sla_policy_id: FromPath[int]) -> Response[Any]:
    sla_policies.delete_policy(rt(request), principal_of(request), actor_of(request), sla_policy_id)
    return _back("/settings/sla", "saved")


def _calendar_page(request: Req, calendar_id: int, *, error: str = "", status_code: int = 200,
                   imported: dict[str, Any] | None = None) -> Template:
    p = principal_of(request)
    return page(request, "tickets/calendar.html", status_code=status_code, active="settings", error=error,
                calendar=sla_policies.get_calendar(rt(request), p, calendar_id), days=DAYS, hours=hours_text,
                imported=imported, can_write=_can_configure(p))


@get("/settings/sla/calendars/{calendar_id:int}", opt=READ, include_in_schema=False, sync_to_thread=True)
def calendar_page(request: Req, calendar_id: FromPath[int]) -> Template:
    return _calendar_page(request, calendar_id)


@post("/settings/sla/calendars/{calendar_id:int}", opt=WRITE, include_in_schema=False, sync_to_thread=True)
def calendar_update(request: Req, calendar_id: FromPath[int], data: FormData) -> Response[Any]:
    try:
        sla_policies.get_calendar(rt(request), principal_of(request), calendar_id)
        sla_policies.update_calendar(rt(request), principal_of(request), actor_of(request), calendar_id,
                                     _calendar_form(data))
    except ServiceError as exc:
        return _calendar_page(request, calendar_id, error=exc.message, status_code=exc.status)
    return _back(f"/settings/sla/calendars/{calendar_id}", "saved")


@post("/settings/sla/calendars/{calendar_id:int}/import", opt=WRITE, include_in_schema=False,
      request_max_body_size=ical.MAX_BYTES + 64 * 1024)
async def calendar_import(request: Req, calendar_id: FromPath[int]) -> Template:
    """The iCal file from the calendar page's upload form (multipart, with the CSRF token as a field). The form is
    read here rather than declared, so another tenant's calendar answers 404 whatever the body."""
    data = await request.form()
    upload = data.get("file")
    replace = data.get("replace") == "on"
    content = await upload.read() if isinstance(upload, UploadFile) else b""

    def run() -> Template:
        sla_policies.get_calendar(rt(request), principal_of(request), calendar_id)  # 404 before anything else
        try:
            if not content:
                raise Invalid("choose an iCalendar (.ics) file", field="file")
            try:
                text = content.decode("utf-8-sig")
            except UnicodeDecodeError:
                raise Invalid("the iCalendar file is not UTF-8 text", field="file") from None
            outcome = sla_policies.import_holidays(rt(request), principal_of(request), actor_of(request), calendar_id,
                                                   text, replace)
        except ServiceError as exc:
            return _calendar_page(request, calendar_id, error=exc.message, status_code=exc.status)
        return _calendar_page(request, calendar_id, imported=outcome)

    return await anyio.to_thread.run_sync(run)


@post("/settings/sla/calendars/{calendar_id:int}/delete", opt=WRITE, include_in_schema=False, sync_to_thread=True)
def calendar_delete(request: Req, calendar_id: FromPath[int]) -> Response[Any]:
    try:
        sla_policies.delete_calendar(rt(request), principal_of(request), actor_of(request), calendar_id)
    except ServiceError as exc:
        return _calendar_page(request, calendar_id, error=exc.message, status_code=exc.status)
    return _back("/settings/sla", "saved")


route_handlers = [desk_page, status_create, status_update, status_delete, numbering_save, sla_page, calendar_create,
                  policy_create, policy_delete, calendar_page, calendar_update, calendar_import, calendar_delete]
