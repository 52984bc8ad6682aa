import logging

import pytest

from ninjait.core.events import EventBus


def test_it_delivers_to_exact_prefix_and_catch_all_subscribers() -> None:
    bus = EventBus()
    seen: list[str] = []
    bus.subscribe("device.created", lambda e: seen.append("exact"))
    bus.subscribe("device.*", lambda e: seen.append("prefix"))
    bus.subscribe("*", lambda e: seen.append("all"))
    bus.subscribe("ticket.*", lambda e: seen.append("other"))
    event = bus.emit("device.created", tenant_id=7, hostname="pc-1")
    assert seen == ["exact", "prefix", "all"]
    assert event.tenant_id == 7 and event.data == {"hostname": "pc-1"}


def test_a_failing_subscriber_does_not_stop_the_others(caplog: pytest.LogCaptureFixture) -> None:
    bus = EventBus()
    seen: list[str] = []

    def broken(event: object) -> None:
        raise RuntimeError("boom")

    bus.subscribe("x.y", broken)
    bus.subscribe("x.y", lambda e: seen.append("ok"))
    with caplog.at_level(logging.ERROR):
        bus.emit("x.y", tenant_id=None)
    assert seen == ["ok"]
    assert "event subscriber failed" in caplog.text


def test_unsubscribe_stops_delivery() -> None:
    bus = EventBus()
    seen: list[int] = []
    stop = bus.subscribe("a.b", lambda e: seen.append(1))
    bus.emit("a.b", None)
    stop()
    bus.emit("a.b", None)
    assert seen == [1]
