"""Online / overdue / offline from the server's own clock, with the edges that trouble other RMMs."""

from __future__ import annotations

import time

import pytest

from ninjait.core import runtime as rt_mod
from ninjait.monitoring import service
from ninjait.settings import Settings


@pytest.fixture
def rt(settings: Settings):  # type: ignore[no-untyped-def]
    runtime = rt_mod.start(settings.replace(agent_interval=30))
    runtime.db.write(lambda c: (
        c.execute("INSERT INTO tenants (id, name, slug, created_at, offline_after_minutes) VALUES (1, 'T', 't', 0, 5)"),
        c.execute("INSERT INTO organizations (id, tenant_id, name, created_at) VALUES (1, 1, 'O', 0)"),
        c.execute("INSERT INTO sites (id, tenant_id, organization_id, name, created_at) VALUES (1, 1, 1, 'S', 0)")))
    events: list = []  # type: ignore[type-arg]
    runtime.bus.subscribe("device.status_changed", events.append)
    runtime.events = events  # type: ignore[attr-defined]
    yield runtime
    rt_mod.stop()


def device(rt, last_seen: float | None, status: str = "online") -> int:  # type: ignore[no-untyped-def]
    return rt.db.write(lambda c: c.value(
        "INSERT INTO devices (tenant_id, organization_id, site_id, hostname, created_at, last_seen_at, status) "
        "VALUES (1, 1, 1, 'pc', 0, ?, ?) RETURNING id", (int(last_seen) if last_seen else None, status)))


def status(rt, device_id: int) -> str:  # type: ignore[no-untyped-def]
    with rt.db.read() as c:
        return c.value("SELECT status FROM devices WHERE id = ?", (device_id,))


def test_thresholds(rt) -> None:  # type: ignore[no-untyped-def]
    now = time.time()
    rt.started_at = now - 3600
    fresh, late, gone, never = device(rt, now - 60), device(rt, now - 120), device(rt, now - 400), device(rt, None, "new")
    service.evaluate_statuses(rt, now)
    assert [status(rt, d) for d in (fresh, late, gone, never)] == ["online", "overdue", "offline", "new"]
    changed = {e.data["object_id"]: e.data["summary"] for e in rt.events}
    assert changed == {late: {"hostname": "pc", "from": "online", "to": "overdue"},
                       gone: {"hostname": "pc", "from": "online", "to": "offline"}}
    service.evaluate_statuses(rt, now)  # nothing changes twice
    assert len(rt.events) == 2


def test_the_edge_is_two_intervals_plus_grace(rt) -> None:  # type: ignore[no-untyped-def]
    assert service.status_for(1000, 1000 + 90, 30, 300) == "online"
    assert service.status_for(1000, 1000 + 91, 30, 300) == "overdue"
    assert service.status_for(1000, 1000 + 300, 30, 300) == "overdue"
    assert service.status_for(1000, 1000 + 301, 30, 300) == "offline"


def test_an_agent_clock_far_off_does_not_matter(rt) -> None:  # type: ignore[no-untyped-def]
    # last_seen is the server's receive time; the agent's own clock never enters the decision.
    now = time.time()
    rt.started_at = now - 3600
    d = device(rt, now - 10)
    service.evaluate_statuses(rt, now)
    assert status(rt, d) == "online"


def test_after_an_appliance_restart_nobody_is_called_offline_at_once(rt) -> None:  # type: ignore[no-untyped-def]
    now = time.time()
    rt.started_at = now - 20  # we were down for ten minutes and just came back
    d = device(rt, now - 600)
    service.evaluate_statuses(rt, now)
    assert status(rt, d) == "online" and rt.events == []
    service.evaluate_statuses(rt, now + 301)  # the agents had their chance; this one did not come back
    assert status(rt, d) == "offline"


def test_a_per_tenant_offline_threshold(rt) -> None:  # type: ignore[no-untyped-def]
    rt.db.write(lambda c: c.execute("UPDATE tenants SET offline_after_minutes = 60 WHERE id = 1"))
    now = time.time()
    rt.started_at = now - 7200
    d = device(rt, now - 1800)
    service.evaluate_statuses(rt, now)
    assert status(rt, d) == "overdue"
