"""SLA business-time arithmetic, driven by explicit instants: weekends, holidays, pauses, DST changes."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from ninjait.tickets.sla import Calendar, CalendarError, add_business_seconds, business_seconds, clock, office_hours

BERLIN = ZoneInfo("Europe/Berlin")
HOUR = 3600.0


def at(text: str) -> float:
    """A Berlin wall-clock time, e.g. '2026-03-06 16:00'."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=BERLIN).timestamp()


def utc(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M")


OFFICE = office_hours("Europe/Berlin", "09:00", "17:00")


def test_it_skips_the_weekend() -> None:
    due = add_business_seconds(OFFICE, at("2026-03-06 16:00"), 4 * HOUR)  # Friday 16:00, 4 business hours
    assert due == at("2026-03-09 12:00")  # Monday noon
    assert business_seconds(OFFICE, at("2026-03-06 16:00"), due) == 4 * HOUR


def test_it_skips_holidays() -> None:
    cal = office_hours("Europe/Berlin", holidays=[dt.date(2026, 3, 9)])
    assert add_business_seconds(cal, at("2026-03-06 16:00"), 4 * HOUR) == at("2026-03-10 12:00")


def test_time_outside_opening_hours_starts_at_the_next_opening() -> None:
    assert add_business_seconds(OFFICE, at("2026-03-07 10:00"), HOUR) == at("2026-03-09 10:00")  # Saturday
    assert add_business_seconds(OFFICE, at("2026-03-09 07:00"), 0) == at("2026-03-09 09:00")


def test_several_ranges_a_day() -> None:
    cal = Calendar("Europe/Berlin", {0: [(13 * 60, 17 * 60), (8 * 60, 12 * 60)]})
    assert add_business_seconds(cal, at("2026-03-09 11:00"), 2 * HOUR) == at("2026-03-09 14:00")


def test_dst_spring_forward_keeps_wall_clock_hours() -> None:
    # Berlin moves from UTC+1 to UTC+2 on Sunday 29 March 2026.
    due = add_business_seconds(OFFICE, at("2026-03-27 16:00"), 4 * HOUR)
    assert utc(due) == "2026-03-30 10:00"  # Monday 12:00 CEST; 12:00 CET would be 11:00 UTC
    assert due - at("2026-03-27 16:00") == 67 * HOUR  # real time between: one hour fewer than the calendar days
    whole_days = Calendar("Europe/Berlin", {d: [(0, 1440)] for d in range(7)})
    assert business_seconds(whole_days, at("2026-03-29 00:00"), at("2026-03-30 00:00")) == 23 * HOUR
    assert business_seconds(whole_days, at("2026-10-25 00:00"), at("2026-10-26 00:00")) == 25 * HOUR


def test_always_open_counts_every_second() -> None:
    cal = Calendar(always_open=True)
    assert add_business_seconds(cal, 1000.0, HOUR) == 1000.0 + HOUR
    assert business_seconds(cal, 0.0, 2 * HOUR) == 2 * HOUR


def test_a_calendar_without_hours_is_refused() -> None:
    with pytest.raises(CalendarError):
        add_business_seconds(Calendar("Europe/Berlin"), at("2026-03-09 09:00"), HOUR)


def test_pauses_do_not_count_and_the_due_time_moves() -> None:
    start = at("2026-03-09 09:00")
    running = clock(OFFICE, 4 * HOUR, start, at("2026-03-09 10:00"))
    assert running.state == "running" and running.due_at == at("2026-03-09 13:00")
    paused = clock(OFFICE, 4 * HOUR, start, at("2026-03-09 12:00"), pauses=[(at("2026-03-09 10:00"), None)])
    assert paused.state == "paused" and paused.due_at is None and paused.elapsed == HOUR
    resumed = clock(OFFICE, 4 * HOUR, start, at("2026-03-09 14:00"),
                    pauses=[(at("2026-03-09 10:00"), at("2026-03-09 14:00"))])
    assert resumed.state == "running" and resumed.elapsed == HOUR and resumed.due_at == at("2026-03-09 17:00")


def test_a_pause_over_the_weekend_is_not_subtracted_twice() -> None:
    state = clock(OFFICE, 8 * HOUR, at("2026-03-06 16:00"), at("2026-03-09 11:00"),
                  pauses=[(at("2026-03-06 16:30"), at("2026-03-09 10:00"))])
    assert state.elapsed == 1.5 * HOUR


def test_warning_breach_and_met() -> None:
    start = at("2026-03-09 09:00")
    assert clock(OFFICE, 4 * HOUR, start, at("2026-03-09 12:00"), warn_percent=80).state == "running"  # 75 %
    warning = clock(OFFICE, 4 * HOUR, start, at("2026-03-09 12:30"), warn_percent=80)
    assert warning.state == "warning" and warning.percent == 87.5 and warning.remaining == 0.5 * HOUR
    assert clock(OFFICE, 4 * HOUR, start, at("2026-03-09 13:00")).state == "breached"
    assert clock(OFFICE, 4 * HOUR, start, at("2026-03-10 09:00"), stopped_at=at("2026-03-09 12:00")).state == "met"
    late = clock(OFFICE, 4 * HOUR, start, at("2026-03-10 09:00"), stopped_at=at("2026-03-09 16:00"))
    assert late.state == "breached" and late.elapsed == 7 * HOUR


def test_the_list_shows_the_most_urgent_clock() -> None:
    from ninjait.tickets.views import sla_badge

    def c(state: str, target: int, elapsed: int, due: int | None = 1) -> dict[str, object]:
        return {"clock": "x", "state": state, "target": target, "elapsed": elapsed, "due_at": due, "percent": 0}

    assert sla_badge([], 0) == ("", "")
    assert sla_badge([c("met", 60, 10, None)], 0) == ("met", "green")
    assert sla_badge([c("running", 7200, 0), c("breached", 60, 90, None)], 0) == ("overdue", "red")
    assert sla_badge([c("paused", 7200, 60, None)], 0) == ("paused", "secondary")
    assert sla_badge([c("running", 7200, 0), c("warning", 3600, 3000)], 0) == ("10m left", "yellow")
    assert sla_badge([c("running", 2 * 86400, 0)], 0) == ("2d 0h left", "blue")
