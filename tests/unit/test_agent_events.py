"""The agent's reading of the systemd journal and the Windows event log (their JSON output)."""

from __future__ import annotations

import json

from ninjait_agent.events import MAX_EVENTS, parse_journal, parse_windows


def test_journal_lines_become_events_with_levels_and_sources() -> None:
    lines = [json.dumps({"PRIORITY": "3", "MESSAGE": "Failed password for root", "SYSLOG_IDENTIFIER": "sshd",
                         "__REALTIME_TIMESTAMP": "1800000000123456"}),
             json.dumps({"PRIORITY": "2", "MESSAGE": "disk I/O error", "_COMM": "kernel",
                         "__REALTIME_TIMESTAMP": "1800000001000000"}),
             json.dumps({"PRIORITY": "6", "MESSAGE": "just info", "__REALTIME_TIMESTAMP": "1800000002000000"}),
             json.dumps({"PRIORITY": "3", "MESSAGE": [104, 105], "__REALTIME_TIMESTAMP": "1800000003000000"}),
             "-- No entries --", ""]
    events = parse_journal(lines)
    assert [(e.level, e.source, e.message) for e in events] == [("error", "sshd", "Failed password for root"),
                                                                ("critical", "kernel", "disk I/O error")]
    assert events[0].ts == 1800000000.123456


def test_a_log_storm_keeps_the_newest_events_only() -> None:
    lines = [json.dumps({"PRIORITY": "3", "MESSAGE": f"m{i}", "__REALTIME_TIMESTAMP": str(1_800_000_000_000_000 + i)})
             for i in range(MAX_EVENTS + 30)]
    events = parse_journal(lines)
    assert len(events) == MAX_EVENTS and events[-1].message == f"m{MAX_EVENTS + 29}"


def test_windows_event_log_json_one_object_or_a_list() -> None:
    one = json.dumps({"Level": 2, "ProviderName": "Service Control Manager", "Message": "The Spooler service stopped.",
                      "Epoch": 1800000000})
    assert [(e.level, e.source) for e in parse_windows(one)] == [("error", "Service Control Manager")]
    many = json.dumps([{"Level": 1, "ProviderName": "Kernel-Power", "Message": "rebooted", "Epoch": 1},
                       {"Level": 4, "ProviderName": "x", "Message": "info", "Epoch": 2}])
    assert [e.level for e in parse_windows(many)] == ["critical"]
    assert parse_windows("not json") == [] and parse_windows("") == []
