"""Holiday dates read from iCalendar files as public-holiday feeds and Outlook export them."""

from __future__ import annotations

import datetime as dt

import pytest

from ninjait.tickets import ical

FEED = """BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//Example//Holidays//EN\r
BEGIN:VEVENT\r
UID:1@example\r
DTSTART;VALUE=DATE:20261225\r
DTEND;VALUE=DATE:20261227\r
SUMMARY:Christmas Day and\r
  Boxing Day\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:2@example\r
DTSTART;VALUE=DATE:20260101\r
DTEND;VALUE=DATE:20260102\r
RRULE:FREQ=YEARLY;COUNT=3\r
SUMMARY:New Year\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:3@example\r
DTSTART:20261103T090000Z\r
DTEND:20261103T100000Z\r
SUMMARY:Company offsite (timed)\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:4@example\r
DTSTART;VALUE=DATE:20261126\r
RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=4TH\r
SUMMARY:Thanksgiving\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:5@example\r
DTSTART;VALUE=DATE:20260704\r
STATUS:CANCELLED\r
SUMMARY:Cancelled\r
END:VEVENT\r
END:VCALENDAR\r
"""


def test_a_holiday_feed_becomes_dates() -> None:
    found = ical.holidays(FEED)
    assert {dt.date(2026, 12, 25), dt.date(2026, 12, 26)} <= found.dates
    assert dt.date(2026, 12, 27) not in found.dates  # DTEND is exclusive
    assert {dt.date(2026, 1, 1), dt.date(2027, 1, 1), dt.date(2028, 1, 1)} <= found.dates
    assert dt.date(2029, 1, 1) not in found.dates  # COUNT=3
    assert dt.date(2026, 11, 3) in found.dates
    assert dt.date(2026, 7, 4) not in found.dates
    assert found.skipped == ["Thanksgiving"]  # a weekday rule is not guessed at
    assert dt.date(2026, 11, 26) not in found.dates


@pytest.mark.parametrize("text", ["", "hello", "BEGIN:VEVENT\nEND:VEVENT",
                                  "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART;VALUE=DATE:2026XX01\nEND:VEVENT\nEND:VCALENDAR",
                                  "BEGIN:VCALENDAR\nBEGIN:VEVENT\nno colon here\nEND:VEVENT\nEND:VCALENDAR"])
def test_what_is_not_a_calendar_is_refused_with_a_reason(text: str) -> None:
    with pytest.raises(ical.IcalError):
        ical.holidays(text)


def test_a_huge_file_is_refused() -> None:
    with pytest.raises(ical.IcalError, match="larger"):
        ical.holidays("BEGIN:VCALENDAR\n" + "X" * (ical.MAX_BYTES + 1))


@pytest.mark.parametrize("rule", ["FREQ=YEARLY;INTERVAL=0;COUNT=2000000000", "FREQ=YEARLY;INTERVAL=x",
                                  "FREQ=YEARLY;COUNT=-5", "FREQ=YEARLY;COUNT=abc"])
def test_hostile_recurrence_rules_are_refused_quickly(rule: str) -> None:
    text = (f"BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART;VALUE=DATE:20260101\nDTEND;VALUE=DATE:20270101\nRRULE:{rule}\n"
            "SUMMARY:x\nEND:VEVENT\nEND:VCALENDAR\n")
    with pytest.raises(ical.IcalError):
        ical.holidays(text)


def test_a_year_long_event_repeated_is_bounded() -> None:
    text = ("BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART;VALUE=DATE:20260101\nDTEND;VALUE=DATE:20270101\n"
            "RRULE:FREQ=YEARLY;COUNT=50\nSUMMARY:x\nEND:VEVENT\nEND:VCALENDAR\n")
    with pytest.raises(ical.IcalError, match="more than"):
        ical.holidays(text)
