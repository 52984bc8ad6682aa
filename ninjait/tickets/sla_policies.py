"""SLA calendars and policies of a tenant, which policy a ticket gets, and the state of its clocks.

Three clocks per ticket (targets in business seconds, per priority, in the policy):
* first response: from creation until the first public reply by a person; never paused;
* next response: from a customer message nobody answered yet (``awaiting_reply_since``) until the next public
  reply; paused in pending-type statuses;
* resolution: from creation until a resolved- or closed-type status; paused in pending-type statuses.
The periodic task (tasks.py, every minute) publishes ``ticket.sla_warning`` once a clock used
``warn_percent`` of its target and ``ticket.sla_breached`` at 100 %, each once per clock and ticket.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ninjait.core.errors import Conflict, Invalid, NotFound
from ninjait.core.runtime import Runtime
from ninjait.identity.principal import SYSTEM, Actor, Principal
from ninjait.tickets import ical, sla, store

CLOCKS = ("first_response", "next_response", "resolution")
PRIORITIES = ("P1", "P2", "P3", "P4")
MAX_HOLIDAYS = 1000


def calendar_of(row: dict[str, Any]) -> sla.Calendar:
    weekly = {int(d): [tuple(r) for r in ranges] for d, ranges in json.loads(row["weekly"] or "{}").items()}
    holidays = frozenset(dt.date.fromisoformat(h) for h in json.loads(row["holidays"] or "[]"))
    return sla.Calendar(row["timezone"], weekly, holidays, bool(row["always_open"]))  # type: ignore[arg-type]


def _calendar_out(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "weekly": {int(k): v for k, v in json.loads(row["weekly"] or "{}").items()},
            "holidays": json.loads(row["holidays"] or "[]"), "always_open": bool(row["always_open"])}


def time_zone(value: Any) -> str:
    """An IANA time zone name (default UTC), or 400 naming ``timezone``."""
    timezone = str(value or "UTC")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid(f"unknown time zone {timezone!r} (use an IANA name like Europe/Berlin)", field="timezone") from None
    return timezone


def _check_calendar(data: dict[str, Any]) -> dict[str, Any]:
    name = str(data.get("name") or "").strip()
    if not 1 <= len(name) <= 100:
        raise Invalid("name must be 1 to 100 characters", field="name")
    timezone = time_zone(data.get("timezone"))
    weekly: dict[str, list[list[int]]] = {}
    for day, ranges in (data.get("weekly") or {}).items():
        if str(day) not in {str(d) for d in range(7)}:
            raise Invalid("weekly days are 0 (Monday) to 6 (Sunday)", field="weekly")
        for r in ranges:
            if len(r) != 2 or not 0 <= r[0] < r[1] <= 1440:
                raise Invalid("a weekly range is [start, end] in minutes of the day, 0 <= start < end <= 1440",
                              field="weekly")
        weekly[str(day)] = sorted([int(r[0]), int(r[1])] for r in ranges)
    holidays = []
    if len(data.get("holidays") or []) > MAX_HOLIDAYS:
        raise Invalid(f"a calendar keeps at most {MAX_HOLIDAYS} holidays", field="holidays")
    for h in data.get("holidays") or []:
        try:
            holidays.append(dt.date.fromisoformat(str(h)).isoformat())
        except ValueError:
            raise Invalid(f"holiday {h!r} is not a date (YYYY-MM-DD)", field="holidays") from None
    always_open = bool(data.get("always_open"))
    if not always_open and not any(weekly.values()):
        raise Invalid("give weekly opening hours, or always_open for 24x7", field="weekly")
    return {"name": name, "timezone": timezone, "weekly": json.dumps(weekly), "holidays": json.dumps(sorted(holidays)),
            "always_open": int(always_open)}


def create_calendar(rt: Runtime, p: Principal, actor: Actor, data: dict[str, Any]) -> dict[str, Any]:
    p.require_everywhere("tickets.write", "SLA calendars and policies are tenant-wide")
    cal = _check_calendar(data)
    calendar_id = rt.db.write(lambda c: store.insert_calendar(c, p.tenant_id, cal))
    rt.bus.emit("sla_calendar.created", p.tenant_id, actor.as_dict(), object_type="sla_calendar",
                object_id=calendar_id, summary={"name": cal["name"], "timezone": cal["timezone"]})
    return get_calendar(rt, p, calendar_id)


def get_calendar(rt: Runtime, p: Principal, calendar_id: int) -> dict[str, Any]:
    with rt.db.read() as c:
        row = store.calendar(c, p.tenant_id, calendar_id)
    if row is None:
        raise NotFound("calendar not found")
    return _calendar_out(row)


def list_calendars(rt: Runtime, p: Principal) -> list[dict[str, Any]]:
    with rt.db.read() as c:
        return [_calendar_out(r) for r in store.calendars(c, p.tenant_id)]


def update_calendar(rt: Runtime, p: Principal, actor: Actor, calendar_id: int, data: dict[str, Any]) -> dict[str, Any]:
    """Fields absent or None stay. Clocks of open tickets follow the new hours at once (they are computed)."""
    before = get_calendar(rt, p, calendar_id)
    p.require_everywhere("tickets.write", "SLA calendars and policies are tenant-wide")
    cal = _check_calendar({**before, **{k: v for k, v in data.items() if v is not None}})
    rt.db.write(lambda c: store.update_calendar(c, p.tenant_id, calendar_id, cal))
    after = get_calendar(rt, p, calendar_id)
    rt.bus.emit("sla_calendar.updated", p.tenant_id, actor.as_dict(), object_type="sla_calendar",
                object_id=calendar_id, summary={"name": cal["name"],
                                                "changed": sorted(k for k in after if after[k] != before[k])})
    return after


def import_holidays(rt: Runtime, p: Principal, actor: Actor, calendar_id: int, text: str,
                    replace: bool = False) -> dict[str, Any]:
    """Add (or with ``replace``, set) the holidays of an iCalendar file; returns the calendar, how many dates were
    new, and the events not understood."""
    before = get_calendar(rt, p, calendar_id)
    p.require_everywhere("tickets.write", "SLA calendars and policies are tenant-wide")
    try:
        found = ical.holidays(text)
    except ical.IcalError as exc:
        raise Invalid(f"the iCalendar file was not read: {exc}", field="file") from None
    old = set() if replace else set(before["holidays"])
    dates = sorted(old | {d.isoformat() for d in found.dates})
    if len(dates) > MAX_HOLIDAYS:
        raise Invalid(f"a calendar keeps at most {MAX_HOLIDAYS} holidays", field="file")
    calendar = update_calendar(rt, p, actor, calendar_id, {"holidays": dates})
    return {"calendar": calendar, "added": len(set(dates) - set(before["holidays"])), "skipped": found.skipped}


def delete_calendar(rt: Runtime, p: Principal, actor: Actor, calendar_id: int) -> None:
    cal = get_calendar(rt, p, calendar_id)
    p.require_everywhere("tickets.write", "SLA calendars and policies are tenant-wide")

    def write(c: Any) -> None:
        if store.calendar_in_use(c, p.tenant_id, calendar_id):
            raise Conflict("a policy uses this calendar: delete or change the policy first")
        store.delete_calendar(c, p.tenant_id, calendar_id)

    rt.db.write(write)
    rt.bus.emit("sla_calendar.deleted", p.tenant_id, actor.as_dict(), object_type="sla_calendar",
                object_id=calendar_id, summary={"name": cal["name"]})


def _policy_out(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "targets": json.loads(row["targets"])}


def _check_policy(data: dict[str, Any]) -> dict[str, Any]:
    name = str(data.get("name") or "").strip()
    if not 1 <= len(name) <= 100:
        raise Invalid("name must be 1 to 100 characters", field="name")
    if not isinstance(data.get("calendar_id"), int):
        raise Invalid("calendar_id is required", field="calendar_id")
    targets: dict[str, dict[str, int]] = {}
    for priority, clocks in (data.get("targets") or {}).items():
        if priority not in PRIORITIES:
            raise Invalid(f"targets are per priority: {', '.join(PRIORITIES)}", field="targets")
        for clock_name, seconds in clocks.items():
            if seconds is None:
                continue
            if clock_name not in CLOCKS or not isinstance(seconds, int) or seconds <= 0:
                raise Invalid(f"each target is a clock ({', '.join(CLOCKS)}) and a positive number of seconds",
                              field="targets")
            targets.setdefault(priority, {})[clock_name] = seconds
    if not targets:
        raise Invalid("give at least one target", field="targets")
    warn = data.get("warn_percent", 80)
    if not isinstance(warn, int) or not 1 <= warn <= 99:
        raise Invalid("warn_percent is 1 to 99", field="warn_percent")
    priority = data.get("priority") or ""
    if priority and priority not in PRIORITIES:
        raise Invalid(f"priority must be one of {', '.join(PRIORITIES)} (or empty for any)", field="priority")
    return {"name": name, "calendar_id": data["calendar_id"], "targets": json.dumps(targets), "warn_percent": warn,
            "organization_id": data.get("organization_id"), "priority": priority}


def _check_references(c: Any, tenant_id: int, pol: dict[str, Any]) -> None:
    if store.calendar(c, tenant_id, pol["calendar_id"]) is None:
        raise Invalid(f"no calendar {pol['calendar_id']} in this tenant", field="calendar_id")
    if pol["organization_id"] is not None and not store.organization_exists(c, tenant_id, pol["organization_id"]):
        raise Invalid(f"no organization {pol['organization_id']} in this tenant", field="organization_id")


def create_policy(rt: Runtime, p: Principal, actor: Actor, data: dict[str, Any]) -> dict[str, Any]:
    """A policy without organization and priority is the tenant default; the most specific match wins for new
    tickets and when a ticket's priority changes."""
    p.require_everywhere("tickets.write", "SLA calendars and policies are tenant-wide")
    pol = _check_policy(data)

    def write(c: Any) -> int:
        _check_references(c, p.tenant_id, pol)
        return store.insert_policy(c, p.tenant_id, pol, int(time.time()))

    policy_id = rt.db.write(write)
    rt.bus.emit("sla_policy.created", p.tenant_id, actor.as_dict(), object_type="sla_policy", object_id=policy_id,
                summary={"name": pol["name"], "organization_id": pol["organization_id"], "priority": pol["priority"]})
    return get_policy(rt, p, policy_id)


def get_policy(rt: Runtime, p: Principal, policy_id: int) -> dict[str, Any]:
    with rt.db.read() as c:
        row = store.policy(c, p.tenant_id, policy_id)
    if row is None:
        raise NotFound("SLA policy not found")
    return _policy_out(row)


def list_policies(rt: Runtime, p: Principal) -> list[dict[str, Any]]:
    with rt.db.read() as c:
        return [_policy_out(r) for r in store.policies(c, p.tenant_id)]


def update_policy(rt: Runtime, p: Principal, actor: Actor, policy_id: int, data: dict[str, Any]) -> dict[str, Any]:
    """Fields absent or None stay (``organization_id`` 0 makes it any organization). Tickets keep the policy they
    got; its new targets apply to their clocks at once."""
    before = get_policy(rt, p, policy_id)
    p.require_everywhere("tickets.write", "SLA calendars and policies are tenant-wide")
    merged = {**before, **{k: v for k, v in data.items() if v is not None}}
    if merged.get("organization_id") == 0:
        merged["organization_id"] = None
    pol = _check_policy(merged)

    def write(c: Any) -> None:
        _check_references(c, p.tenant_id, pol)
        store.update_policy(c, p.tenant_id, policy_id, pol)

    rt.db.write(write)
    after = get_policy(rt, p, policy_id)
    rt.bus.emit("sla_policy.updated", p.tenant_id, actor.as_dict(), object_type="sla_policy", object_id=policy_id,
                summary={"name": pol["name"], "changed": sorted(k for k in after if after[k] != before[k])})
    return after


def delete_policy(rt: Runtime, p: Principal, actor: Actor, policy_id: int) -> None:
    pol = get_policy(rt, p, policy_id)
    p.require_everywhere("tickets.write", "SLA calendars and policies are tenant-wide")
    rt.db.write(lambda c: store.delete_policy(c, p.tenant_id, policy_id))  # its tickets keep no SLA (SET NULL)
    rt.bus.emit("sla_policy.deleted", p.tenant_id, actor.as_dict(), object_type="sla_policy", object_id=policy_id,
                summary={"name": pol["name"]})


def ticket_clocks(ticket: dict[str, Any], policy: dict[str, Any] | None, calendar: dict[str, Any] | None,
                  pauses: list[dict[str, Any]], now: float) -> list[dict[str, Any]]:
    """The ticket's clocks that have a target for its priority."""
    if policy is None or calendar is None:
        return []
    targets = json.loads(policy["targets"]).get(ticket["priority"], {})
    cal = calendar_of(calendar)
    spans = [(float(x["started_at"]), None if x["ended_at"] is None else float(x["ended_at"])) for x in pauses]
    starts = {"first_response": (ticket["created_at"], ticket["first_response_at"], []),
              "next_response": (ticket["awaiting_reply_since"], None, spans),
              "resolution": (ticket["created_at"], ticket["resolved_at"], spans)}
    out = []
    for name in CLOCKS:
        start, stopped, clock_pauses = starts[name]
        if name not in targets or start is None:
            continue
        state = sla.clock(cal, float(targets[name]), float(start), now, clock_pauses,
                          None if stopped is None else float(stopped), policy["warn_percent"])
        out.append({"clock": name, "state": state.state, "target": int(state.target), "elapsed": int(state.elapsed),
                    "due_at": None if state.due_at is None else int(state.due_at), "percent": round(state.percent, 1)})
    return out


def clocks_by_ticket(c: Any, tenant_id: int, tickets: list[dict[str, Any]], now: float) -> dict[int, list[dict[str, Any]]]:
    with_sla = [t for t in tickets if t["sla_policy_id"] is not None]
    if not with_sla:
        return {}
    policies = {r["id"]: r for r in store.policies(c, tenant_id)}
    calendars = {r["id"]: r for r in store.calendars(c, tenant_id)}
    pauses = store.pauses(c, tenant_id, [t["id"] for t in with_sla])
    out = {}
    for t in with_sla:
        policy = policies.get(t["sla_policy_id"])
        out[t["id"]] = ticket_clocks(t, policy, calendars.get(policy["calendar_id"]) if policy else None,
                                     pauses.get(t["id"], []), now)
    return out


def advance(rt: Runtime, now: float | None = None) -> list[tuple[str, int]]:
    """Publish warnings and breaches not yet published; returns (event, ticket id) pairs. Safe to run twice."""
    from ninjait.tickets.service import summary  # service imports this module

    at = time.time() if now is None else now
    with rt.db.read() as c:
        tickets = store.open_tickets_with_sla(c)
        by_tenant: dict[int, list[dict[str, Any]]] = {}
        for t in tickets:
            by_tenant.setdefault(t["tenant_id"], []).append(t)
        clocks = {tid: clocks_by_ticket(c, tid, ts, at) for tid, ts in by_tenant.items()}
    published = []
    for t in tickets:
        for clk in clocks[t["tenant_id"]].get(t["id"], []):
            if clk["state"] not in ("warning", "breached"):
                continue
            key = f"{clk['clock']}:{clk['state']}"
            done = set(filter(None, t["sla_notified"].split(",")))
            if key in done:
                continue
            after = ",".join(sorted(done | {key}))
            state = f"{clk['clock'].replace('_', ' ')} {clk['state']}"

            def claim(c: Any, t: dict[str, Any] = t, after: str = after, state: str = state) -> bool:
                if not store.claim_notification(c, t["id"], t["sla_notified"], after):
                    return False
                # On the ticket's timeline too, in the same transaction as the claim.
                store.transition(c, t["tenant_id"], t["id"], int(at), "sla", "", state, None, "SLA")
                return True

            if not rt.db.write(claim):
                continue  # another worker published it
            t["sla_notified"] = after
            name = "ticket.sla_warning" if clk["state"] == "warning" else "ticket.sla_breached"
            rt.bus.emit(name, t["tenant_id"], SYSTEM.as_dict(), object_type="ticket", object_id=t["id"],
                        summary=summary(t, clock=clk["clock"], due_at=clk["due_at"], percent=clk["percent"]))
            published.append((name, t["id"]))
    return published
