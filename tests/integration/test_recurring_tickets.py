"""Recurring tickets on the real server: schedules over HTTP, the periodic task driven with an explicit clock
(run as a second writer, like the task does), exactly once per occurrence, catch-up, pause/resume, run now,
scoping."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from ninjait.core.db import open_database
from ninjait.core.events import EventBus
from ninjait.settings import Settings
from ninjait.tickets import recurring, routing_store
from tests.support.identity import PASSWORD, Browser

DAY = 86400


@pytest.fixture(scope="module")
def desk(admin):  # type: ignore[no-untyped-def]
    return admin  # tenant A's Organization Admin (conftest)


def run_task(app, now: float) -> tuple[list[int], list[str]]:  # type: ignore[no-untyped-def]
    """One run of the periodic task at ``now``: the tickets it opened and the events it published."""
    db = open_database(Settings(data_dir=app.data_dir, database_url=app.env.get("NINJAIT_DATABASE_URL", "")))
    bus, seen = EventBus(), []
    bus.subscribe("*", lambda e: seen.append(e.name))
    try:
        return recurring.run_due(SimpleNamespace(db=db, bus=bus), now=now), seen
    finally:
        db.close()


def _daily(desk: Browser, org: int, name: str, **template: Any) -> dict[str, Any]:
    r = desk.post("/api/v1/recurring-tickets", json={
        "name": name, "organization_id": org, "frequency": "daily", "time_of_day": 9 * 60, "timezone": "UTC",
        "template": {"subject": f"{name} check", "priority": "P4", **template}})
    assert r.status_code == 201, r.text
    return r.json()


def test_each_occurrence_opens_exactly_one_ticket_and_catch_up_opens_one(world_app, desk) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    desk.post("/api/v1/routing-rules", json={"name": "Recurring work", "conditions": {"sources": ["recurring"]},
                                             "actions": {"tags": ["scheduled"]}})
    schedule = _daily(desk, world.orgs["a"], "Backups", category="maintenance")
    first = schedule["next_at"]
    assert first % DAY == 9 * 3600 and schedule["paused"] is False

    assert run_task(app, first - 1)[0] == []  # not due yet
    opened, events = run_task(app, first)
    assert len(opened) == 1 and "ticket.created" in events
    assert run_task(app, first + 60)[0] == []  # the task ran again: nothing twice
    ticket = desk.get(f"/api/v1/tickets/{opened[0]}").json()
    assert (ticket["subject"], ticket["source"], ticket["priority"], ticket["category"], ticket["tags"]) == (
        "Backups check", "recurring", "P4", "maintenance", ["scheduled"])
    assert ticket["transitions"][0]["actor"] == "recurring: Backups"

    # Down for three days: one ticket for the latest missed occurrence, then the schedule goes on from there.
    later = first + 3 * DAY + 3600
    opened, _ = run_task(app, later)
    assert len(opened) == 1
    state = desk.get(f"/api/v1/recurring-tickets/{schedule['id']}").json()
    assert (state["last_occurrence"], state["next_at"], state["last_ticket_id"]) == (
        first + 3 * DAY, first + 4 * DAY, opened[0])
    assert run_task(app, later)[0] == []
    assert len(run_task(app, first + 4 * DAY)[0]) == 1


def test_two_workers_claiming_one_occurrence_open_one_ticket(world_app, desk) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    schedule = _daily(desk, world.orgs["a"], "Race")
    due = schedule["next_at"]
    db = open_database(Settings(data_dir=app.data_dir, database_url=app.env.get("NINJAIT_DATABASE_URL", "")))
    try:
        # Both read the same due row; only the first conditional update moves the schedule.
        claims = [db.write(lambda c: routing_store.claim_occurrence(c, schedule["id"], due, due, due + DAY))
                  for _ in range(2)]
    finally:
        db.close()
    assert claims == [True, False]
    assert run_task(app, due + 60)[0] == []  # the occurrence is taken


def test_pause_resume_run_now_and_a_stale_template(world_app, desk) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    schedule = _daily(desk, world.orgs["a"], "Patch review")
    paused = desk.post(f"/api/v1/recurring-tickets/{schedule['id']}/pause")
    assert paused.status_code == 200 and paused.json()["paused"] is True
    run_task(app, schedule["next_at"] + 10 * DAY)
    assert desk.get(f"/api/v1/recurring-tickets/{schedule['id']}").json()["last_ticket_id"] is None
    resumed = desk.post(f"/api/v1/recurring-tickets/{schedule['id']}/resume").json()
    # From now: the next 09:00, not the ten days of the pause.
    assert resumed["paused"] is False and resumed["next_at"] in (schedule["next_at"], schedule["next_at"] + DAY)

    now = desk.post(f"/api/v1/recurring-tickets/{schedule['id']}/run")
    assert now.status_code == 201 and now.json()["source"] == "recurring"
    after = desk.get(f"/api/v1/recurring-tickets/{schedule['id']}").json()
    assert after["next_at"] == resumed["next_at"] and after["last_ticket_id"] == now.json()["id"]

    # The template's assignee was disabled since: the occurrence is skipped (and audited), not retried forever.
    user = desk.post("/api/v1/users", json={"email": "gone.rt@msp-a.test", "password": PASSWORD,
                                            "roles": [{"role": "Technician"}]}).json()
    stale = _daily(desk, world.orgs["a"], "Stale", assignee_id=user["id"])
    desk.patch(f"/api/v1/users/{user['id']}", json={"disabled": True})
    opened, events = run_task(app, stale["next_at"])
    assert "ticket_recurring.failed" in events
    assert desk.get(f"/api/v1/recurring-tickets/{stale['id']}").json()["next_at"] == stale["next_at"] + DAY


def test_recurring_bad_input_scoping_and_other_tenants(world_app, desk) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    base = {"name": "x", "organization_id": world.orgs["a"], "frequency": "daily", "template": {"subject": "x"}}
    for change, field in (({"frequency": "hourly"}, "frequency"), ({"frequency": "weekly"}, "weekdays"),
                          ({"timezone": "Mars/Base"}, "timezone"), ({"time_of_day": 1440}, "time_of_day"),
                          ({"organization_id": 999999}, "organization_id"),
                          ({"template": {"subject": "x", "device_ids": [999999]}}, "template.device_ids")):
        r = desk.post("/api/v1/recurring-tickets", json={**base, **change})
        assert r.status_code == 400 and field in r.text, (change, r.text)
    theirs = _daily(desk, world.orgs["a-other"], "Other org")
    limited = Browser(app).login(world.people["a-limited"])
    intruder = Browser(app).login(world.people["b-organizationadmin"])
    try:
        assert theirs["id"] not in [r["id"] for r in limited.get("/api/v1/recurring-tickets").json()]
        assert limited.get(f"/api/v1/recurring-tickets/{theirs['id']}").status_code == 404
        assert limited.post(f"/api/v1/recurring-tickets/{theirs['id']}/run").status_code == 404
        r = limited.post("/api/v1/recurring-tickets", json={**base, "organization_id": world.orgs["a-other"]})
        assert r.status_code == 400 and "organization_id" in r.text
        assert limited.post("/api/v1/recurring-tickets", json=base).status_code == 201
        assert intruder.get("/api/v1/recurring-tickets").json() == []
        for method, suffix in (("GET", ""), ("PUT", ""), ("DELETE", ""), ("POST", "/pause"), ("POST", "/resume"),
                               ("POST", "/run")):
            r = intruder.request(method, f"/api/v1/recurring-tickets/{theirs['id']}{suffix}",
                                 **({"json": {**base, "organization_id": world.orgs["b"]}} if method == "PUT" else {}))
            assert r.status_code == 404, (method, suffix, r.status_code)
    finally:
        limited.close()
        intruder.close()
    assert desk.get(f"/api/v1/recurring-tickets/{theirs['id']}").json()["paused"] is False


def test_the_set_up_page_creates_and_runs_a_schedule(world_app, desk) -> None:  # type: ignore[no-untyped-def]
    _, world = world_app
    page = desk.get("/tickets/desk")
    assert page.status_code == 200 and 'data-testid="recurring-form"' in page.text
    r = desk.post("/tickets/desk/recurring", data={
        "name": "Monthly maintenance", "organization_id": str(world.orgs["a"]), "frequency": "monthly",
        "day_of_month": "31", "time_of_day": "07:30", "timezone": "Europe/Berlin", "subject": "Maintenance",
        "priority": "P3"})
    assert r.status_code == 303, r.text[:300]
    made = next(s for s in desk.get("/api/v1/recurring-tickets").json() if s["name"] == "Monthly maintenance")
    assert (made["frequency"], made["day_of_month"], made["time_of_day"]) == ("monthly", 31, 450)
    r = desk.post(f"/tickets/desk/recurring/{made['id']}/run")
    assert r.status_code == 303 and r.headers["location"].startswith("/tickets/")
    assert "Monthly maintenance" in desk.get("/tickets/desk").text
    r = desk.post("/tickets/desk/recurring", data={"name": "Bad", "organization_id": str(world.orgs["a"]),
                                                   "frequency": "weekly", "subject": "x"})
    assert r.status_code == 400 and "weekdays" in r.text
