"""Time spent on tickets: manual entries, a stopwatch per user (started on a ticket, stopped later, even after
the page was closed: it lives on the server), per-ticket totals and a technician's timesheet.

An entry belongs to its ticket's organization: seeing and logging time follow tickets.read / tickets.write
there. People change and delete only their own entries; `billed_at` is for billing and is never touched here.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from ninjait.core.errors import Conflict, Forbidden, Invalid, NotFound
from ninjait.core.runtime import Runtime
from ninjait.identity.principal import Actor, Principal
from ninjait.tickets import service

WORK_TYPES = ("remote", "onsite", "phone", "travel", "admin")
MAX_MINUTES = 24 * 60
COLUMNS = ("id, ticket_id, user_id, started_at, ended_at, minutes, work_type, billable, note, billed_at, created_at")


def _out(row: dict[str, Any], now: float) -> dict[str, Any]:
    running = row["ended_at"] is None
    minutes = max(0, int((now - row["started_at"]) // 60)) if running else row["minutes"]
    return {**row, "billable": bool(row["billable"]), "running": running, "minutes": minutes}


def _ticket(c: Any, p: Principal, ticket_id: int, permission: str) -> dict[str, Any]:
    return service._visible(c, p, ticket_id, permission)


def add_entry(rt: Runtime, p: Principal, actor: Actor, ticket_id: int, data: dict[str, Any],
              now: float | None = None) -> dict[str, Any]:
    at = int(time.time() if now is None else now)
    minutes = data.get("minutes")
    if not isinstance(minutes, int) or not 1 <= minutes <= MAX_MINUTES:
        raise Invalid(f"minutes must be 1 to {MAX_MINUTES}", field="minutes")
    started = data.get("started_at") or at - minutes * 60
    if not isinstance(started, int) or started > at + 86400 or started < at - 366 * 86400:
        raise Invalid("started_at is a Unix time within the last year", field="started_at")
    work_type = data.get("work_type") or "remote"
    if work_type not in WORK_TYPES:
        raise Invalid(f"work_type must be one of {', '.join(WORK_TYPES)}", field="work_type")
    note = str(data.get("note") or "")
    if len(note) > 2000:
        raise Invalid("the note is longer than 2000 characters", field="note")

    def write(c: Any) -> int:
        _ticket(c, p, ticket_id, "tickets.write")
        return int(c.value(
            "INSERT INTO time_entries (tenant_id, ticket_id, user_id, started_at, ended_at, minutes, work_type, billable, "
            "note, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (p.tenant_id, ticket_id, actor.user_id, started, started + minutes * 60, minutes, work_type,
             int(bool(data.get("billable", True))), note, at)))

    entry_id = rt.db.write(write)
    rt.bus.emit("time_entry.created", p.tenant_id, actor.as_dict(), object_type="ticket", object_id=ticket_id,
                summary={"entry_id": entry_id, "minutes": minutes, "billable": bool(data.get("billable", True))})
    return get_entry(rt, p, entry_id, at)


def start_timer(rt: Runtime, p: Principal, actor: Actor, ticket_id: int, work_type: str = "remote",
                now: float | None = None) -> dict[str, Any]:
    at = int(time.time() if now is None else now)
    if work_type not in WORK_TYPES:
        raise Invalid(f"work_type must be one of {', '.join(WORK_TYPES)}", field="work_type")

    def write(c: Any) -> int:
        _ticket(c, p, ticket_id, "tickets.write")
        running = c.value("SELECT ticket_id FROM time_entries WHERE tenant_id = ? AND user_id = ? AND ended_at IS NULL",
                          (p.tenant_id, actor.user_id))
        if running is not None:
            raise Conflict(f"your stopwatch already runs on ticket {running}: stop it first", field="ticket_id")
        return int(c.value(
            "INSERT INTO time_entries (tenant_id, ticket_id, user_id, started_at, work_type, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?) RETURNING id", (p.tenant_id, ticket_id, actor.user_id, at, work_type, at)))

    return get_entry(rt, p, rt.db.write(write), at)


def stop_timer(rt: Runtime, p: Principal, actor: Actor, note: str = "", billable: bool = True,
               now: float | None = None) -> dict[str, Any]:
    """Stop the caller's running stopwatch; the entry keeps whole minutes (at least one)."""
    at = int(time.time() if now is None else now)
    if len(note) > 2000:
        raise Invalid("the note is longer than 2000 characters", field="note")

    def write(c: Any) -> int:
        row = c.one("SELECT id, started_at FROM time_entries WHERE tenant_id = ? AND user_id = ? AND ended_at IS NULL",
                    (p.tenant_id, actor.user_id))
        if row is None:
            raise Conflict("your stopwatch is not running")
        minutes = min(MAX_MINUTES, max(1, round((at - row["started_at"]) / 60)))
        c.execute("UPDATE time_entries SET ended_at = ?, minutes = ?, note = ?, billable = ? WHERE id = ?",
                  (at, minutes, note, int(billable), row["id"]))
        return int(row["id"])

    entry = get_entry(rt, p, rt.db.write(write), at)
    rt.bus.emit("time_entry.created", p.tenant_id, actor.as_dict(), object_type="ticket", object_id=entry["ticket_id"],
                summary={"entry_id": entry["id"], "minutes": entry["minutes"], "billable": entry["billable"]})
    return entry


def get_entry(rt: Runtime, p: Principal, entry_id: int, now: float | None = None) -> dict[str, Any]:
    with rt.db.read() as c:
        row = c.one(f"SELECT {COLUMNS} FROM time_entries WHERE tenant_id = ? AND id = ?", (p.tenant_id, entry_id))
        if row is None:
            raise NotFound("time entry not found")
        _ticket(c, p, row["ticket_id"], "tickets.read")
    return _out(row, time.time() if now is None else now)


def for_ticket(rt: Runtime, p: Principal, ticket_id: int, now: float | None = None) -> dict[str, Any]:
    """The ticket's entries, newest first, and their totals (running stopwatches count so far)."""
    at = time.time() if now is None else now
    with rt.db.read() as c:
        _ticket(c, p, ticket_id, "tickets.read")
        rows = c.all(f"SELECT {COLUMNS} FROM time_entries WHERE tenant_id = ? AND ticket_id = ? "
                     "ORDER BY started_at DESC, id DESC", (p.tenant_id, ticket_id))
    entries = [_out(r, at) for r in rows]
    return {"entries": entries, "total_minutes": sum(e["minutes"] for e in entries),
            "billable_minutes": sum(e["minutes"] for e in entries if e["billable"])}


def timesheet(rt: Runtime, p: Principal, user_id: int | None, day_from: dt.date, days: int = 7,
              now: float | None = None) -> dict[str, Any]:
    """One person's entries over ``days`` days from ``day_from`` (UTC), with a total per day."""
    if not 1 <= days <= 31:
        raise Invalid("days must be 1 to 31", field="days")
    start = int(dt.datetime.combine(day_from, dt.time(), dt.UTC).timestamp())
    end = start + days * 86400
    at = time.time() if now is None else now
    columns = ", ".join(f"e.{c.strip()}" for c in COLUMNS.split(","))
    with rt.db.read() as c:
        rows = c.all(f"SELECT {columns}, t.number AS ticket_number, t.subject AS ticket_subject FROM time_entries e "
                     "JOIN tickets t ON t.id = e.ticket_id WHERE e.tenant_id = ? AND e.user_id = ? "
                     "AND e.started_at >= ? AND e.started_at < ? ORDER BY e.started_at",
                     (p.tenant_id, user_id, start, end))
        visible = [r for r in rows if _can_see(c, p, r["ticket_id"])]
    entries = [_out(r, at) for r in visible]
    per_day = {(day_from + dt.timedelta(days=i)).isoformat(): 0 for i in range(days)}
    for e in entries:
        per_day[dt.datetime.fromtimestamp(e["started_at"], dt.UTC).date().isoformat()] += e["minutes"]
    return {"from": day_from.isoformat(), "days": per_day, "entries": entries,
            "total_minutes": sum(per_day.values()), "billable_minutes": sum(e["minutes"] for e in entries if e["billable"])}


def sheet_for(rt: Runtime, p: Principal, day_from: str, days: int, user_id: int | None) -> dict[str, Any]:
    """The timesheet as asked for from the API or the page: ``day_from`` YYYY-MM-DD ('' = this week's Monday,
    UTC); another person's needs users.read."""
    today = dt.datetime.now(dt.UTC).date()
    try:
        day = dt.date.fromisoformat(day_from) if day_from else today - dt.timedelta(days=today.weekday())
    except ValueError:
        raise Invalid("from is a date like 2026-11-23", field="from") from None
    if user_id is not None and user_id != p.user_id and not p.can_somewhere("users.read"):
        raise Forbidden("you need users.read to see another person's timesheet")
    return timesheet(rt, p, p.user_id if user_id is None else user_id, day, days)


def _can_see(c: Any, p: Principal, ticket_id: int) -> bool:
    try:
        _ticket(c, p, ticket_id, "tickets.read")
        return True
    except NotFound:
        return False


def delete_entry(rt: Runtime, p: Principal, actor: Actor, entry_id: int) -> None:
    entry = get_entry(rt, p, entry_id)
    if entry["user_id"] != actor.user_id:
        raise Forbidden("only the person who logged the time deletes it")
    if entry["billed_at"] is not None:
        raise Conflict("this time is billed already: it stays")
    rt.db.write(lambda c: c.execute("DELETE FROM time_entries WHERE tenant_id = ? AND id = ?", (p.tenant_id, entry_id)))
    rt.bus.emit("time_entry.deleted", p.tenant_id, actor.as_dict(), object_type="ticket", object_id=entry["ticket_id"],
                summary={"entry_id": entry_id, "minutes": entry["minutes"]})


def running_for(rt: Runtime, p: Principal) -> dict[str, Any] | None:
    """The caller's running stopwatch, if any."""
    with rt.db.read() as c:
        row = c.one(f"SELECT {COLUMNS} FROM time_entries WHERE tenant_id = ? AND user_id = ? AND ended_at IS NULL",
                    (p.tenant_id, p.user_id))
    return _out(row, time.time()) if row else None
