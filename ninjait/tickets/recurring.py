"""Recurring tickets: a template (organization, subject, description, priority, category, queue, team,
assignee, devices) opened on a schedule, e.g. monthly maintenance.

Schedules: ``daily``, ``weekly`` on some weekdays (0 = Monday), ``monthly`` on day N (the last day of shorter
months), each at a local time of day in an IANA time zone. A local time that does not exist (the spring
change) is read with the offset before the change, as the SLA calendars do.

The periodic task (tasks.py, every minute) opens the tickets that are due, with source ``recurring``. Each
occurrence opens exactly one ticket, even when two workers run the task at once or it runs twice: the
schedule's ``next_at`` moves past the occurrence in the same transaction that opens the ticket, with a
conditional update that only one of them wins. Catching up after downtime opens ONE ticket, for the latest
missed occurrence, not one per missed occurrence (a week of daily checks missed is one check to do now).

Paused schedules open nothing; resuming starts from the next occurrence after the resume (no catch-up for the
pause). "Run now" opens a ticket from the template at once and leaves the schedule as it was.
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
import logging
import time
from typing import Any
from zoneinfo import ZoneInfo

from ninjait.core.errors import Invalid, NotFound, ServiceError
from ninjait.core.runtime import Runtime
from ninjait.identity.principal import SYSTEM, Actor, Principal
from ninjait.tickets import alert_tickets, routing_store as rs, service, sla_policies, store, teams
from ninjait.tickets.one_transaction import InTransaction

log = logging.getLogger("ninjait.tickets.recurring")
FREQUENCIES = ("daily", "weekly", "monthly")
SEARCH_DAYS = 400  # the longest gap between two occurrences (monthly on day 31) is well within


# --- the schedule (pure) ----------------------------------------------------------------------------------

def _occurs_on(schedule: dict[str, Any], day: dt.date) -> bool:
    if schedule["frequency"] == "daily":
        return True
    if schedule["frequency"] == "weekly":
        return day.weekday() in schedule["weekdays"]
    last = calendar.monthrange(day.year, day.month)[1]
    return day.day == min(schedule["day_of_month"], last)


def next_occurrence(schedule: dict[str, Any], after: float) -> int | None:
    """The first occurrence strictly after ``after`` (epoch seconds), or None if it never occurs."""
    zone = ZoneInfo(schedule["timezone"])
    day = dt.datetime.fromtimestamp(after, zone).date()
    hour, minute = divmod(schedule["time_of_day"], 60)
    for offset in range(SEARCH_DAYS):
        candidate = day + dt.timedelta(days=offset)
        if not _occurs_on(schedule, candidate):
            continue
        at = int(dt.datetime.combine(candidate, dt.time(hour, minute), zone).timestamp())
        if at > after:
            return at
    return None


def latest_due(schedule: dict[str, Any], first_due: int, now: float) -> tuple[int, int | None]:
    """From a due occurrence: the latest occurrence not after ``now``, and the one after it."""
    occurrence, following = first_due, next_occurrence(schedule, first_due)
    while following is not None and following <= now:
        occurrence, following = following, next_occurrence(schedule, following)
    return occurrence, following


# --- templates and schedules ------------------------------------------------------------------------------

def _out(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "template": json.loads(row["template"]), "weekdays": json.loads(row["weekdays"]),
            "paused": bool(row["paused"])}


def _visible(c: Any, p: Principal, recurring_id: int, permission: str = "tickets.read") -> dict[str, Any]:
    found = rs.row(c, "recurring", p.tenant_id, recurring_id)
    if found is None:
        raise NotFound("recurring ticket not found")
    for perm in {"tickets.read", permission}:
        orgs = p.organizations_for(perm)
        if orgs is not None and found["organization_id"] not in orgs:
            raise NotFound("recurring ticket not found")
    return found


def _check(c: Any, p: Principal, data: dict[str, Any]) -> dict[str, Any]:
    org = data.get("organization_id")
    orgs = p.organizations_for("tickets.write")
    if not isinstance(org, int) or (orgs is not None and org not in orgs) or \
            not store.organization_exists(c, p.tenant_id, org):
        raise Invalid(f"no organization {org} you may open tickets for", field="organization_id")
    frequency = data.get("frequency")
    if frequency not in FREQUENCIES:
        raise Invalid(f"frequency must be one of {', '.join(FREQUENCIES)}", field="frequency")
    weekdays = sorted({int(d) for d in data.get("weekdays") or []})
    if frequency == "weekly" and (not weekdays or not all(0 <= d <= 6 for d in weekdays)):
        raise Invalid("weekly schedules need weekdays, 0 (Monday) to 6 (Sunday)", field="weekdays")
    day_of_month = data.get("day_of_month") or 1
    if not isinstance(day_of_month, int) or not 1 <= day_of_month <= 31:
        raise Invalid("day_of_month must be 1 to 31", field="day_of_month")
    time_of_day = data.get("time_of_day", 540)
    if not isinstance(time_of_day, int) or not 0 <= time_of_day < 1440:
        raise Invalid("time_of_day is minutes after midnight, 0 to 1439", field="time_of_day")
    timezone = sla_policies.time_zone(data.get("timezone"))
    t = data.get("template") or {}
    subject = str(t.get("subject") or "").strip()
    if not 1 <= len(subject) <= service.MAX_SUBJECT:
        raise Invalid(f"template.subject must be 1 to {service.MAX_SUBJECT} characters", field="template.subject")
    if t.get("priority", "P3") not in service.PRIORITIES:
        raise Invalid(f"template.priority must be one of {', '.join(service.PRIORITIES)}", field="template.priority")
    if t.get("assignee_id") is not None and store.user_in_tenant(c, p.tenant_id, t["assignee_id"]) is None:
        raise Invalid(f"no active user {t['assignee_id']} in this tenant", field="template.assignee_id")
    queue = teams.check_queue(c, p.tenant_id, t.get("queue_id"), "template.queue_id")
    device_ids = sorted({int(d) for d in t.get("device_ids") or []})
    found = store.device_orgs(c, p.tenant_id, device_ids)
    if any(found.get(d) != org for d in device_ids):
        raise Invalid("template.device_ids: devices of the organization only", field="template.device_ids")
    template = {"subject": subject, "description": str(t.get("description") or "")[:service.MAX_TEXT],
                "priority": t.get("priority", "P3"), "category": str(t.get("category") or "")[:100],
                "queue_id": queue["id"] if queue else None,
                "team_id": teams.check_team(c, p.tenant_id, t.get("team_id"), "template.team_id"),
                "assignee_id": t.get("assignee_id"), "device_ids": device_ids}
    if (template["assignee_id"] or template["team_id"]) and not p.can("tickets.assign", org):
        raise Invalid("a template with an assignee or team needs tickets.assign", field="template.assignee_id")
    return {"organization_id": org, "name": teams.name_of(data, "name", 200), "template": json.dumps(template),
            "frequency": frequency, "weekdays": json.dumps(weekdays), "day_of_month": day_of_month,
            "time_of_day": time_of_day, "timezone": timezone}


def list_recurring(rt: Runtime, p: Principal) -> list[dict[str, Any]]:
    orgs = p.organizations_for("tickets.read")
    with rt.db.read() as c:
        found = rs.rows(c, "recurring", p.tenant_id)
    return [_out(r) for r in found if orgs is None or r["organization_id"] in orgs]


def get_recurring(rt: Runtime, p: Principal, recurring_id: int) -> dict[str, Any]:
    with rt.db.read() as c:
        return _out(_visible(c, p, recurring_id))


def save_recurring(rt: Runtime, p: Principal, actor: Actor, data: dict[str, Any], recurring_id: int | None = None,
                   now: float | None = None) -> dict[str, Any]:
    at = time.time() if now is None else now

    def write(c: Any) -> int:
        before = _visible(c, p, recurring_id, "tickets.write") if recurring_id is not None else None
        values = _check(c, p, data)
        values["next_at"] = next_occurrence(values, at)
        if before is None:
            return rs.insert(c, "recurring", p.tenant_id, {**values, "created_by": actor.user_id,
                                                            "created_at": int(at)})
        rs.update(c, "recurring", p.tenant_id, before["id"], values)
        return int(before["id"])

    saved = rt.db.write(write)
    rt.bus.emit("ticket_recurring.created" if recurring_id is None else "ticket_recurring.updated", p.tenant_id,
                actor.as_dict(), object_type="ticket_recurring", object_id=saved, summary={"name": data.get("name")})
    return get_recurring(rt, p, saved)


def set_paused(rt: Runtime, p: Principal, actor: Actor, recurring_id: int, paused: bool,
               now: float | None = None) -> dict[str, Any]:
    at = time.time() if now is None else now

    def write(c: Any) -> None:
        found = _visible(c, p, recurring_id, "tickets.write")
        schedule = {**found, "weekdays": json.loads(found["weekdays"])}
        # Resuming starts afresh from now: the occurrences of the pause are not caught up.
        rs.update(c, "recurring", p.tenant_id, recurring_id,
                  {"paused": int(paused), "next_at": found["next_at"] if paused else next_occurrence(schedule, at)})

    rt.db.write(write)
    rt.bus.emit("ticket_recurring.paused" if paused else "ticket_recurring.resumed", p.tenant_id, actor.as_dict(),
                object_type="ticket_recurring", object_id=recurring_id)
    return get_recurring(rt, p, recurring_id)


def delete_recurring(rt: Runtime, p: Principal, actor: Actor, recurring_id: int) -> None:
    def write(c: Any) -> dict[str, Any]:
        found = _visible(c, p, recurring_id, "tickets.write")
        rs.delete(c, "recurring", p.tenant_id, recurring_id)
        return found

    found = rt.db.write(write)
    rt.bus.emit("ticket_recurring.deleted", p.tenant_id, actor.as_dict(), object_type="ticket_recurring",
                object_id=recurring_id, summary={"name": found["name"]})


# --- opening the tickets ----------------------------------------------------------------------------------

def _open(c: Any, rt: Any, row: dict[str, Any], now: float) -> tuple[int, InTransaction]:
    """Open the template's ticket on the connection of the caller's transaction (events held back)."""
    inner = InTransaction(rt, c)
    t = json.loads(row["template"])
    actor = Actor(user_id=None, email=f"recurring: {row['name']}")
    ticket = service.create_ticket(inner, alert_tickets._system(row["tenant_id"]), actor, {  # type: ignore[arg-type]
        **{k: t.get(k) for k in ("subject", "description", "priority", "category", "queue_id", "team_id",
                                 "assignee_id", "device_ids")}, "organization_id": row["organization_id"]},
        source="recurring", now=now)
    rs.update(c, "recurring", row["tenant_id"], row["id"], {"last_ticket_id": ticket["id"]})
    return int(ticket["id"]), inner


def run_now(rt: Runtime, p: Principal, actor: Actor, recurring_id: int, now: float | None = None) -> dict[str, Any]:
    """Open the template's ticket now; the schedule stays as it was."""
    at = time.time() if now is None else now

    def write(c: Any) -> tuple[int, InTransaction]:
        return _open(c, rt, _visible(c, p, recurring_id, "tickets.write"), at)

    ticket_id, inner = rt.db.write(write)
    inner.publish(rt.bus)
    rt.bus.emit("ticket_recurring.run", p.tenant_id, actor.as_dict(), object_type="ticket_recurring",
                object_id=recurring_id, summary={"ticket_id": ticket_id})
    return service.get_ticket(rt, p, ticket_id)


def run_due(rt: Any, now: float | None = None) -> list[int]:
    """The periodic task: open a ticket for every due schedule of every tenant; the tickets opened."""
    at = time.time() if now is None else now
    with rt.db.read() as c:
        due = rs.due_recurring(c, int(at))
    opened = []
    for row in due:
        schedule = {**row, "weekdays": json.loads(row["weekdays"])}
        occurrence, following = latest_due(schedule, row["next_at"], at)

        def write(c: Any, row: dict[str, Any] = row, occurrence: int = occurrence,
                  following: int | None = following) -> tuple[int, InTransaction] | None:
            if not rs.claim_occurrence(c, row["id"], row["next_at"], occurrence, following):
                return None  # another run took it
            return _open(c, rt, row, at)

        try:
            done = rt.db.write(write)
        except ServiceError as exc:
            # The template went stale (say its assignee was disabled): skip this occurrence rather than fail
            # every minute, and say so in the audit log.
            log.warning("recurring ticket not opened", extra={"fields": {"recurring_id": row["id"],
                                                                         "error": exc.message}})
            if rt.db.write(lambda c, row=row, occurrence=occurrence, following=following: rs.claim_occurrence(
                    c, row["id"], row["next_at"], occurrence, following)):
                rt.bus.emit("ticket_recurring.failed", row["tenant_id"], SYSTEM.as_dict(),
                            object_type="ticket_recurring", object_id=row["id"], summary={"error": exc.message})
            continue
        if done is not None:
            done[1].publish(rt.bus)
            opened.append(done[0])
    return opened
