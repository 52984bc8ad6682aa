"""The recurring-ticket schedule: daily, weekly on weekdays, monthly on day N (the last day of shorter months),
local times through daylight-saving changes, and the catch-up arithmetic."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from ninjait.tickets.recurring import latest_due, next_occurrence

BERLIN = ZoneInfo("Europe/Berlin")


def at(*args: int, zone: ZoneInfo = BERLIN) -> int:
    return int(dt.datetime(*args, tzinfo=zone).timestamp())  # type: ignore[misc]


def schedule(**kw: object) -> dict[str, object]:
    return {"frequency": "daily", "weekdays": [], "day_of_month": 1, "time_of_day": 9 * 60,
            "timezone": "Europe/Berlin", **kw}


def test_daily_keeps_the_local_time_across_the_spring_change() -> None:
    s = schedule()
    assert next_occurrence(s, at(2026, 3, 28, 9, 0)) == at(2026, 3, 29, 9, 0)  # the day clocks go forward
    assert next_occurrence(s, at(2026, 3, 29, 9, 0)) - at(2026, 3, 29, 9, 0) == 86400
    assert next_occurrence(s, at(2026, 3, 28, 9, 0)) - at(2026, 3, 28, 9, 0) == 23 * 3600


def test_a_time_inside_the_spring_gap_is_read_with_the_offset_before_it() -> None:
    s = schedule(time_of_day=2 * 60 + 30)
    # 02:30 does not exist that night: read at +01:00 it is 01:30 UTC (03:30 summer time).
    assert next_occurrence(s, at(2026, 3, 28, 12, 0)) == at(2026, 3, 29, 1, 30, zone=ZoneInfo("UTC"))


def test_weekly_on_some_weekdays() -> None:
    s = schedule(frequency="weekly", weekdays=[0, 3])  # Monday and Thursday
    friday = at(2026, 11, 27, 10, 0)
    assert next_occurrence(s, friday) == at(2026, 11, 30, 9, 0)
    assert next_occurrence(s, at(2026, 11, 30, 9, 0)) == at(2026, 12, 3, 9, 0)


def test_monthly_on_day_31_falls_on_the_last_day_of_shorter_months() -> None:
    s = schedule(frequency="monthly", day_of_month=31)
    assert next_occurrence(s, at(2027, 1, 31, 10, 0)) == at(2027, 2, 28, 9, 0)
    assert next_occurrence(s, at(2028, 1, 31, 10, 0)) == at(2028, 2, 29, 9, 0)
    assert next_occurrence(s, at(2027, 2, 28, 9, 0)) == at(2027, 3, 31, 9, 0)


def test_catch_up_finds_the_latest_missed_occurrence() -> None:
    s = schedule()
    first = at(2026, 11, 2, 9, 0)
    assert latest_due(s, first, first) == (first, at(2026, 11, 3, 9, 0))
    assert latest_due(s, first, at(2026, 11, 5, 10, 0)) == (at(2026, 11, 5, 9, 0), at(2026, 11, 6, 9, 0))
    assert latest_due(s, first, at(2026, 11, 5, 8, 59)) == (at(2026, 11, 4, 9, 0), at(2026, 11, 5, 9, 0))
