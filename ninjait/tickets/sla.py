"""SLA arithmetic: business time in a calendar, clocks that pause, due times from the budget left.

Pure functions of their arguments (``now`` is always passed in), so tests drive the clock through weekends,
holidays, pauses and daylight-saving changes without waiting.

A calendar is a time zone (IANA name), weekly opening ranges in local wall-clock minutes per weekday
(Monday = 0; several ranges a day; 1440 means midnight at the end of the day) and holiday dates; or 24×7.
Local times are turned into instants through ``zoneinfo``, so a range 08:00–18:00 is ten real hours on any
day, and a whole day 00:00–24:00 is 23 hours on the day clocks go forward (25 on the day they go back).
A wall-clock time that does not exist (inside the spring gap) is read with the offset before the change.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

MAX_SCAN_DAYS = 3 * 366  # a calendar with no opening hours in three years is a configuration error


class CalendarError(ValueError):
    pass


@dataclass(frozen=True)
class Calendar:
    timezone: str = "UTC"
    # weekday (0 = Monday) -> ranges of local minutes [start, end)
    weekly: Mapping[int, Sequence[tuple[int, int]]] = field(default_factory=dict)
    holidays: frozenset[dt.date] = frozenset()
    always_open: bool = False  # 24×7: every second counts, holidays included

    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def office_hours(timezone: str, start: str = "09:00", end: str = "17:00", days: Sequence[int] = (0, 1, 2, 3, 4),
                 holidays: Sequence[dt.date] = ()) -> Calendar:
    """The common case: one range on the given weekdays."""
    minutes = (_minute(start), _minute(end))
    return Calendar(timezone, {d: [minutes] for d in days}, frozenset(holidays))


def _minute(hhmm: str) -> int:
    hours, _, minutes = hhmm.partition(":")
    return int(hours) * 60 + int(minutes or 0)


def _instant(zone: ZoneInfo, day: dt.date, minute: int) -> float:
    local = dt.datetime.combine(day, dt.time()) + dt.timedelta(minutes=minute)
    if minute == 1440:  # end of day = next day's midnight, itself a local time
        local = dt.datetime.combine(day + dt.timedelta(days=1), dt.time())
    return local.replace(tzinfo=zone).timestamp()


def open_intervals(cal: Calendar, start: float) -> Iterator[tuple[float, float]]:
    """Business intervals [a, b) from ``start`` on, in order, the first clipped to start."""
    if cal.always_open:
        yield start, float("inf")
        return
    zone = cal.zone()
    day = dt.datetime.fromtimestamp(start, zone).date() - dt.timedelta(days=1)  # a range may run past midnight
    for _ in range(MAX_SCAN_DAYS):
        if day not in cal.holidays:
            for lo, hi in sorted(cal.weekly.get(day.weekday(), ())):
                a, b = _instant(zone, day, lo), _instant(zone, day, hi)
                if b > start:
                    yield max(a, start), b
        day += dt.timedelta(days=1)
    raise CalendarError("the calendar has no business hours in the next three years")


def business_seconds(cal: Calendar, start: float, end: float) -> float:
    """Business time in [start, end)."""
    if end <= start:
        return 0.0
    total = 0.0
    for a, b in open_intervals(cal, start):
        if a >= end:
            break
        total += min(b, end) - a
    return total


def add_business_seconds(cal: Calendar, start: float, seconds: float) -> float:
    """The instant at which ``seconds`` of business time have passed since ``start``."""
    left = max(0.0, seconds)
    for a, b in open_intervals(cal, start):
        if b - a >= left:
            return a + left
        left -= b - a
    raise CalendarError("unreachable")  # open_intervals raises first


def paused_seconds(cal: Calendar, start: float, now: float, pauses: Sequence[tuple[float, float | None]]) -> float:
    """Business time spent in pauses (an open pause, end None, runs until now), counted from ``start``."""
    return sum(business_seconds(cal, max(p0, start), min(now if p1 is None else p1, now)) for p0, p1 in pauses)


@dataclass(frozen=True)
class ClockState:
    state: str               # running, warning, paused, breached, met
    elapsed: float           # business seconds used, pauses excluded
    target: float
    due_at: float | None     # None while paused or once stopped
    percent: float

    @property
    def remaining(self) -> float:
        return self.target - self.elapsed


def clock(cal: Calendar, target: float, start: float, now: float, pauses: Sequence[tuple[float, float | None]] = (),
          stopped_at: float | None = None, warn_percent: float = 80) -> ClockState:
    """One SLA clock: started at ``start``, met when stopped (first reply, resolution) within ``target``
    business seconds. Paused time does not count; the due time is recomputed from the budget left."""
    until = now if stopped_at is None else min(stopped_at, now)
    elapsed = business_seconds(cal, start, until) - paused_seconds(cal, start, until, pauses)
    percent = 100.0 * elapsed / target if target > 0 else 100.0
    if stopped_at is not None and stopped_at <= now:
        return ClockState("met" if elapsed <= target else "breached", elapsed, target, None, percent)
    if elapsed >= target:
        return ClockState("breached", elapsed, target, None, percent)
    if any(p1 is None or p1 > now >= p0 for p0, p1 in pauses if p0 <= now):
        return ClockState("paused", elapsed, target, None, percent)
    due = add_business_seconds(cal, now, target - elapsed)
    return ClockState("warning" if percent >= warn_percent else "running", elapsed, target, due, percent)
