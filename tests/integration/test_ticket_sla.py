"""SLA on the real server: calendars and policies over HTTP, policy matching, pauses, and the periodic
task's warnings and breaches driven with an explicit clock (run as a second writer, like the task does)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from ninjait.core.db import open_database
from ninjait.core.events import EventBus
from ninjait.settings import Settings
from ninjait.tickets import sla_policies
from tests.support.identity import Browser


@pytest.fixture(scope="module")
def desk(world_app):  # type: ignore[no-untyped-def]
    app, world = world_app
    admin = Browser(app).login(world.people["a-organizationadmin"])
    yield admin
    admin.close()


def advance(app, now: float) -> list[Any]:  # type: ignore[no-untyped-def]
    db = open_database(Settings(data_dir=app.data_dir, database_url=app.env.get("NINJAIT_DATABASE_URL", "")))
    bus, seen = EventBus(), []
    bus.subscribe("ticket.*", seen.append)
    try:
        sla_policies.advance(SimpleNamespace(db=db, bus=bus), now=now)  # type: ignore[arg-type]
        return [(e.name, e.data["summary"]["clock"], e.data["object_id"]) for e in seen]
    finally:
        db.close()


def test_policies_clocks_pauses_warnings_and_breaches(world_app, desk) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    cal = desk.post("/api/v1/sla-calendars", json={"name": "Always", "always_open": True})
    assert cal.status_code == 201, cal.text
    default = desk.post("/api/v1/sla-policies", json={
        "name": "Default", "calendar_id": cal.json()["id"], "warn_percent": 50,
        "targets": {"P1": {"first_response": 600, "resolution": 3600}}}).json()
    special = desk.post("/api/v1/sla-policies", json={
        "name": "Other customer P1", "calendar_id": cal.json()["id"], "organization_id": world.orgs["a-other"],
        "priority": "P1", "targets": {"P1": {"resolution": 60}}}).json()
    t = desk.post("/api/v1/tickets", json={"subject": "Server down", "organization_id": world.orgs["a"],
                                           "priority": "P1"}).json()
    assert t["sla_policy_id"] == default["id"]
    assert [(c["clock"], c["state"]) for c in t["sla"]] == [("first_response", "running"), ("resolution", "running")]
    other = desk.post("/api/v1/tickets", json={"subject": "x", "organization_id": world.orgs["a-other"],
                                               "priority": "P1"}).json()
    assert other["sla_policy_id"] == special["id"]
    lower = desk.patch(f"/api/v1/tickets/{other['id']}", json={"priority": "P2"}).json()
    assert lower["sla_policy_id"] == default["id"] and lower["sla"] == []  # the default has no P2 targets

    created = t["created_at"]
    assert ("ticket.sla_warning", "first_response", t["id"]) in advance(app, created + 400)
    assert advance(app, created + 400) == []  # published once
    pending = next(s["id"] for s in desk.get("/api/v1/ticket-statuses").json() if s["type"] == "pending")
    paused = desk.patch(f"/api/v1/tickets/{t['id']}", json={"status_id": pending}).json()
    assert {c["clock"]: c["state"] for c in paused["sla"]}["resolution"] == "paused"
    events = advance(app, created + 10_000)
    assert ("ticket.sla_breached", "first_response", t["id"]) in events  # never paused
    assert not any(clock == "resolution" and tid == t["id"] for _, clock, tid in events)  # paused: no breach
    sla_moves = [(x["field"], x["new_value"]) for x in desk.get(f"/api/v1/tickets/{t['id']}").json()["transitions"]
                 if x["field"] == "sla"]
    assert sla_moves == [("sla", "first response warning"), ("sla", "first response breached")]  # on the timeline
    assert "SLA: first response breached" in desk.get(f"/tickets/{t['id']}").text


def test_sla_bad_input_and_tenant_wide_rules(world_app, desk) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    for body, field in (({"name": "x", "timezone": "Mars/Base"}, "timezone"),
                        ({"name": "x", "weekly": {"0": [[600, 500]]}}, "weekly"),
                        ({"name": "x"}, "weekly"),
                        ({"name": "x", "always_open": True, "holidays": ["25.12."]}, "holidays")):
        r = desk.post("/api/v1/sla-calendars", json=body)
        assert r.status_code == 400 and field in r.text, (body, r.text)
    cal = desk.post("/api/v1/sla-calendars", json={"name": "Office", "timezone": "Europe/Berlin",
                                                   "weekly": {"0": [[540, 1020]]}, "holidays": ["2026-12-25"]}).json()
    assert cal["weekly"] == {"0": [[540, 1020]]} and cal["holidays"] == ["2026-12-25"]
    for body, field in (({"name": "x", "calendar_id": 999999, "targets": {"P1": {"resolution": 60}}}, "calendar_id"),
                        ({"name": "x", "calendar_id": cal["id"], "targets": {"P7": {"resolution": 60}}}, "targets"),
                        ({"name": "x", "calendar_id": cal["id"], "targets": {"P1": {"lunch": 60}}}, "targets"),
                        ({"name": "x", "calendar_id": cal["id"], "targets": {}}, "targets"),
                        ({"name": "x", "calendar_id": cal["id"], "targets": {"P1": {"resolution": 60}},
                          "warn_percent": 100}, "warn_percent")):
        r = desk.post("/api/v1/sla-policies", json=body)
        assert r.status_code == 400 and field in r.text, (body, r.text)
    policy = desk.post("/api/v1/sla-policies", json={"name": "Office", "calendar_id": cal["id"],
                                                     "targets": {"P4": {"resolution": 60}}}).json()
    assert desk.delete(f"/api/v1/sla-calendars/{cal['id']}").status_code == 409
    limited = Browser(app).login(world.people["a-limited"])
    intruder = Browser(app).login(world.people["b-organizationadmin"])
    try:
        assert limited.post("/api/v1/sla-calendars", json={"name": "x", "always_open": True}).status_code == 403
        for url in (f"/api/v1/sla-calendars/{cal['id']}", f"/api/v1/sla-policies/{policy['id']}"):
            assert intruder.get(url).status_code == 404 and intruder.delete(url).status_code == 404
        r = intruder.post("/api/v1/sla-policies", json={"name": "x", "calendar_id": cal["id"],
                                                        "targets": {"P1": {"resolution": 60}}})
        assert r.status_code == 400 and "calendar_id" in r.text
    finally:
        limited.close()
        intruder.close()
    assert desk.delete(f"/api/v1/sla-policies/{policy['id']}").status_code == 204
    assert desk.delete(f"/api/v1/sla-calendars/{cal['id']}").status_code == 204
