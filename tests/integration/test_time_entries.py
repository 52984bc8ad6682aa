"""Time on tickets: manual entries, the stopwatch (one per person, kept on the server), totals, the timesheet,
deleting one's own, scoping and bad input. The service runs in this process with a passed-in clock; one
test goes over HTTP on the real server."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from ninjait.core import runtime as rt_mod
from ninjait.core.errors import Conflict, Forbidden, Invalid, NotFound
from ninjait.identity.principal import Actor, Principal
from ninjait.settings import Settings
from ninjait.tickets import service, time_entries
from tests.support import alert_world
from tests.support.identity import Browser

T0 = int(dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC).timestamp())  # a Monday, 09:00 UTC


@pytest.fixture
def rt(settings: Settings):  # type: ignore[no-untyped-def]
    runtime = alert_world.start(settings)
    runtime.users = runtime.db.write(lambda c: [c.value(  # type: ignore[attr-defined]
        "INSERT INTO users (tenant_id, email, name, password_hash, created_at, updated_at) "
        "VALUES (?, ?, ?, 'x', 0, 0) RETURNING id", (tenant, f"{name}@msp.test", name))
        for tenant, name in ((1, "ann"), (1, "bob"), (2, "eve"))])
    yield runtime
    rt_mod.stop()


def person(rt, index: int, tenant: int = 1, orgs: dict[int, frozenset[str]] | None = None) -> tuple[Principal, Actor]:  # type: ignore[no-untyped-def]
    user_id = rt.users[index]
    perms = frozenset({"tickets.read", "tickets.write"})
    p = Principal(user_id=user_id, tenant_id=tenant, email=f"u{user_id}", name="u", is_super_admin=False,
                  everywhere=frozenset() if orgs else perms, per_org=orgs or {})
    return p, Actor(user_id=user_id, email=f"u{user_id}")


def ticket(rt, org: int = 1, tenant: int = 1) -> int:  # type: ignore[no-untyped-def]
    return int(service.create_ticket(rt, alert_world.admin(tenant), Actor(user_id=None, email="t"),
                                     {"subject": "Slow PC", "organization_id": org})["id"])


def test_entries_and_the_stopwatch_add_up(rt) -> None:  # type: ignore[no-untyped-def]
    ann, ann_actor = person(rt, 0)
    t = ticket(rt)
    time_entries.add_entry(rt, ann, ann_actor, t, {"minutes": 30, "work_type": "phone", "note": "called"}, now=T0)
    time_entries.add_entry(rt, ann, ann_actor, t, {"minutes": 15, "billable": False}, now=T0 + 3600)
    running = time_entries.start_timer(rt, ann, ann_actor, t, "onsite", now=T0 + 7200)
    assert running["running"] is True
    with pytest.raises(Conflict):  # one stopwatch per person
        time_entries.start_timer(rt, ann, ann_actor, ticket(rt), now=T0 + 7260)
    so_far = time_entries.for_ticket(rt, ann, t, now=T0 + 7200 + 600)
    assert (so_far["total_minutes"], so_far["billable_minutes"]) == (55, 40)  # the running one counts 10 so far
    stopped = time_entries.stop_timer(rt, ann, ann_actor, "replaced the disk", now=T0 + 7200 + 25 * 60 + 20)
    assert (stopped["minutes"], stopped["running"], stopped["work_type"]) == (25, False, "onsite")
    totals = time_entries.for_ticket(rt, ann, t)
    assert (totals["total_minutes"], totals["billable_minutes"]) == (70, 55)
    with pytest.raises(Conflict):
        time_entries.stop_timer(rt, ann, ann_actor, now=T0 + 9000)  # nothing runs now

    sheet = time_entries.timesheet(rt, ann, ann.user_id, dt.date(2026, 11, 23))
    assert sheet["days"]["2026-11-23"] == 70 and sheet["total_minutes"] == 70 and len(sheet["days"]) == 7
    assert time_entries.timesheet(rt, ann, rt.users[1], dt.date(2026, 11, 23))["total_minutes"] == 0


def test_people_delete_only_their_own_time_and_see_only_their_organizations(rt) -> None:  # type: ignore[no-untyped-def]
    ann, ann_actor = person(rt, 0)
    bob, bob_actor = person(rt, 1)
    t = ticket(rt)
    entry = time_entries.add_entry(rt, ann, ann_actor, t, {"minutes": 10})
    with pytest.raises(Forbidden):
        time_entries.delete_entry(rt, bob, bob_actor, entry["id"])
    time_entries.delete_entry(rt, ann, ann_actor, entry["id"])
    assert time_entries.for_ticket(rt, ann, t)["entries"] == []

    globex = ticket(rt, org=2)
    acme_only, acme_actor = person(rt, 1, orgs={1: frozenset({"tickets.read", "tickets.write"})})
    for call in (lambda: time_entries.add_entry(rt, acme_only, acme_actor, globex, {"minutes": 5}),
                 lambda: time_entries.start_timer(rt, acme_only, acme_actor, globex),
                 lambda: time_entries.for_ticket(rt, acme_only, globex)):
        with pytest.raises(NotFound):
            call()
    eve, eve_actor = person(rt, 2, tenant=2)
    with pytest.raises(NotFound):
        time_entries.add_entry(rt, eve, eve_actor, t, {"minutes": 5})

    for bad, field in (({"minutes": 0}, "minutes"), ({"minutes": 2000}, "minutes"),
                       ({"minutes": 5, "work_type": "napping"}, "work_type"), ({"minutes": 5, "note": "x" * 2001}, "note"),
                       ({"minutes": 5, "started_at": 5}, "started_at")):
        with pytest.raises(Invalid) as caught:
            time_entries.add_entry(rt, ann, ann_actor, t, bad)
        assert caught.value.field == field, bad


def test_time_over_http_and_on_the_ticket_page(world_app) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    tech = Browser(app).login(world.people["a-technician"])
    outsider = Browser(app).login(world.people["b-organizationadmin"])
    try:
        t = tech.post("/api/v1/tickets", json={"subject": "Mail", "organization_id": world.orgs["a"]}).json()
        logged = tech.post(f"/api/v1/tickets/{t['id']}/time-entries", json={"minutes": 20, "note": "rules"})
        assert logged.status_code == 201, logged.text
        assert tech.post(f"/api/v1/tickets/{t['id']}/time-entries", json={"minutes": 0}).status_code == 400
        started = tech.post(f"/api/v1/tickets/{t['id']}/stopwatch", json={})
        assert started.status_code == 201 and started.json()["running"] is True
        assert tech.post(f"/api/v1/tickets/{t['id']}/stopwatch", json={}).status_code == 409
        page = tech.get(f"/tickets/{t['id']}").text
        assert 'data-testid="ticket-time"' in page and "Stop the stopwatch" in page
        stopped = tech.post("/api/v1/stopwatch/stop", json={"note": "done"})
        assert stopped.status_code == 200 and stopped.json()["minutes"] >= 1
        totals = tech.get(f"/api/v1/tickets/{t['id']}/time-entries").json()
        assert totals["total_minutes"] == 20 + stopped.json()["minutes"] and len(totals["entries"]) == 2
        sheet = tech.get("/api/v1/timesheet").json()
        assert sheet["total_minutes"] >= 20 and len(sheet["days"]) == 7
        assert tech.get("/api/v1/timesheet", params={"from": "yesterday"}).status_code == 400
        form = tech.post(f"/tickets/{t['id']}/time", data={"minutes": "15", "work_type": "remote", "billable": "on"})
        assert form.status_code == 303 and "time-logged" in form.headers["location"]
        assert outsider.get(f"/api/v1/tickets/{t['id']}/time-entries").status_code == 404
        assert outsider.delete(f"/api/v1/time-entries/{logged.json()['id']}").status_code == 404
        assert tech.delete(f"/api/v1/time-entries/{logged.json()['id']}").status_code == 204
    finally:
        tech.close()
        outsider.close()
