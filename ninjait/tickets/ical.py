"""Holiday dates from an iCalendar file (RFC 5545), as exported by Outlook, Google Calendar or a public-holiday
feed: every day an event covers. Written for holiday lists, not as a general calendar engine:

* all-day events (``DTSTART;VALUE=DATE:20261225``) cover their start up to, not including, ``DTEND``;
  timed events count on their start date (in the time the file gives);
* ``RRULE:FREQ=YEARLY`` without further parts (a fixed-date holiday) repeats on the same date for
  ``YEARS_AHEAD`` years from its start, bounded by ``UNTIL``/``COUNT``; other recurrence rules are not
  expanded and are reported as skipped, so the technician sees what to enter by hand;
* cancelled events (``STATUS:CANCELLED``) are skipped.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

MAX_BYTES = 2 * 1024 * 1024
MAX_DAYS = 2000
YEARS_AHEAD = 5


class IcalError(ValueError):
    pass


@dataclass
class Holidays:
    dates: set[dt.date] = field(default_factory=set)
    skipped: list[str] = field(default_factory=list)  # summaries of events that were not understood


def _unfold(text: str) -> list[str]:
    lines: list[str] = []
    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if raw[:1] in (" ", "\t") and lines:
            lines[-1] += raw[1:]
        elif raw:
            lines.append(raw)
    return lines


def _property(line: str) -> tuple[str, dict[str, str], str]:
    head, sep, value = line.partition(":")
    if not sep:
        raise IcalError(f"not an iCalendar line: {line[:60]!r}")
    name, *params = head.split(";")
    parts = dict(p.partition("=")[::2] for p in params)
    return name.upper(), {k.upper(): v for k, v in parts.items()}, value


def _date(value: str) -> dt.date:
    try:
        return dt.date(int(value[0:4]), int(value[4:6]), int(value[6:8]))
    except (ValueError, IndexError):
        raise IcalError(f"not an iCalendar date: {value[:40]!r}") from None


def _bounded(value: str, low: int, high: int, what: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise IcalError(f"{what} is not a number: {value[:20]!r}") from None
    if not low <= number <= high:
        raise IcalError(f"{what} {number} is out of range ({low} to {high})")
    return number


def _yearly(start: dt.date, rule: str) -> list[dt.date] | None:
    parts = dict(p.partition("=")[::2] for p in rule.upper().split(";") if p)
    if parts.get("FREQ") != "YEARLY" or set(parts) - {"FREQ", "UNTIL", "COUNT", "INTERVAL"}:
        return None
    step = _bounded(parts.get("INTERVAL") or "1", 1, 100, "INTERVAL")
    count = min(_bounded(parts["COUNT"], 1, 10**6, "COUNT"), YEARS_AHEAD * 10) if parts.get("COUNT") \
        else YEARS_AHEAD * 10
    until = _date(parts["UNTIL"]) if parts.get("UNTIL") else dt.date(dt.date.today().year + YEARS_AHEAD, 12, 31)
    out = []
    for n in range(0, count):
        year = start.year + n * step
        if year > until.year:
            break
        try:
            day = start.replace(year=year)
        except ValueError:  # 29 February
            continue
        if day <= until:
            out.append(day)
    return out


def holidays(text: str) -> Holidays:
    if len(text.encode()) > MAX_BYTES:
        raise IcalError(f"the file is larger than {MAX_BYTES // 1024 // 1024} MiB")
    lines = _unfold(text)
    if not lines or lines[0].strip().upper() != "BEGIN:VCALENDAR":
        raise IcalError("not an iCalendar file (it must start with BEGIN:VCALENDAR)")
    found = Holidays()
    event: dict[str, tuple[dict[str, str], str]] | None = None
    for line in lines:
        upper = line.strip().upper()
        if upper == "BEGIN:VEVENT":
            event = {}
        elif upper == "END:VEVENT":
            if event is not None:
                _add_event(found, event)
            event = None
        elif event is not None:
            name, params, value = _property(line)
            event.setdefault(name, (params, value))
        if len(found.dates) > MAX_DAYS:
            raise IcalError(f"more than {MAX_DAYS} holiday dates")
    return found


def _add_event(found: Holidays, event: dict[str, tuple[dict[str, str], str]]) -> None:
    summary = event.get("SUMMARY", ({}, "(no summary)"))[1][:80]
    if event.get("STATUS", ({}, ""))[1].upper() == "CANCELLED":
        return
    if "DTSTART" not in event:
        found.skipped.append(summary)
        return
    params, value = event["DTSTART"]
    start = _date(value)
    days = [start]
    if params.get("VALUE", "").upper() == "DATE" and "DTEND" in event:
        end = _date(event["DTEND"][1])
        days = [start + dt.timedelta(days=n) for n in range(max(1, min((end - start).days, 366)))]
    if "RRULE" in event:
        starts = _yearly(start, event["RRULE"][1])
        if starts is None:
            found.skipped.append(summary)
            return
        days = [s + (d - start) for s in starts for d in days]
    if len(found.dates) + len(days) > MAX_DAYS:
        raise IcalError(f"more than {MAX_DAYS} holiday dates")
    found.dates.update(days)
