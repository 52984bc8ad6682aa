"""When a maintenance window is open: one-off spans, weekly occurrences, and ones that run past midnight."""

from __future__ import annotations

import datetime as dt

from ninjait.alerts.maintenance import is_open


def at(text: str) -> float:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC).timestamp()


def window(**kw) -> dict:  # type: ignore[no-untyped-def,type-arg]
    return {"starts_at": int(at("2026-11-01T00:00")), "ends_at": None, "weekdays": "", "minute_of_day": 0,
            "duration_minutes": 0, **kw}


def test_a_one_off_window_is_open_for_its_span_only() -> None:
    w = window(starts_at=int(at("2026-11-26T22:00")), ends_at=int(at("2026-11-27T02:00")))
    assert [is_open(w, at(t)) for t in ("2026-11-26T21:59", "2026-11-26T22:00", "2026-11-27T01:59",
                                        "2026-11-27T02:00")] == [False, True, True, False]


def test_a_weekly_window_opens_on_its_days_and_runs_past_midnight() -> None:
    # Thursdays (3) from 23:00 for three hours; 2026-11-26 is a Thursday.
    w = window(weekdays="3", minute_of_day=23 * 60, duration_minutes=180)
    assert is_open(w, at("2026-11-26T23:30")) and is_open(w, at("2026-11-27T01:59"))
    assert not is_open(w, at("2026-11-26T22:59")) and not is_open(w, at("2026-11-27T02:00"))
    assert not is_open(w, at("2026-11-25T23:30"))  # a Wednesday
    assert is_open(w, at("2026-12-03T23:00"))  # the next Thursday


def test_a_weekly_window_respects_its_first_and_last_day() -> None:
    w = window(weekdays="0,1,2,3,4,5,6", minute_of_day=0, duration_minutes=1440,
               starts_at=int(at("2026-12-01T00:00")), ends_at=int(at("2026-12-05T00:00")))
    assert not is_open(w, at("2026-11-30T12:00")) and is_open(w, at("2026-12-02T12:00"))
    assert not is_open(w, at("2026-12-05T00:00"))
