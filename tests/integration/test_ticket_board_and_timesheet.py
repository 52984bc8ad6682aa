"""The "breaching soon" view, the board and the timesheet page on the real server."""

from __future__ import annotations

import datetime as dt

from tests.support.identity import Browser


def test_breaching_soon_lists_the_tickets_due_first_and_the_board_groups_by_status(world_app) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    admin = Browser(app).login(world.people["a-organizationadmin"])
    limited = Browser(app).login(world.people["a-limited"])
    try:
        cal = admin.post("/api/v1/sla-calendars", json={"name": "24x7", "always_open": True}).json()
        admin.post("/api/v1/sla-policies", json={"name": "Default", "calendar_id": cal["id"], "targets": {
            "P1": {"resolution": 3 * 3600}, "P2": {"resolution": 2 * 3600}, "P3": {"resolution": 5 * 86400}}})
        made = {}
        for name, priority, org in (("soon", "P1", "a"), ("sooner", "P2", "a"), ("later", "P3", "a"),
                                    ("elsewhere", "P2", "a-other")):
            made[name] = admin.post("/api/v1/tickets", json={"subject": f"Ticket {name}", "priority": priority,
                                                             "organization_id": world.orgs[org]}).json()
        r = admin.get("/api/v1/tickets", params={"view": "breaching"})
        assert r.status_code == 200
        ids = [t["id"] for t in r.json()]
        # Both P2 tickets are due in two hours (created a moment apart), the P1 in three; five days is calm.
        assert sorted(ids[:2]) == sorted([made["sooner"]["id"], made["elsewhere"]["id"]]) and ids[2] == made["soon"]["id"]
        assert made["later"]["id"] not in ids and r.headers["x-total-count"] == "3"
        assert [t["id"] for t in limited.get("/api/v1/tickets", params={"view": "breaching"}).json()] == [
            made["sooner"]["id"], made["soon"]["id"]]  # another organization's ticket is not shown
        assert "Ticket later" not in admin.get("/tickets", params={"view": "breaching"}).text
        assert "Ticket sooner" in admin.get("/tickets", params={"view": "breaching"}).text

        board = admin.get("/tickets/board").text
        assert 'data-status="New"' in board and "Ticket later" in board and 'data-status="Closed"' not in board
        pending = next(s["id"] for s in admin.get("/api/v1/ticket-statuses").json() if s["type"] == "pending")
        r = admin.post(f"/tickets/{made['later']['id']}", data={"status_id": str(pending), "back": "board"})
        assert r.status_code == 303 and r.headers["location"].startswith("/tickets/board")
        assert admin.get(f"/api/v1/tickets/{made['later']['id']}").json()["status_id"] == pending
        assert "Ticket elsewhere" not in limited.get("/tickets/board").text
    finally:
        admin.close()
        limited.close()


def test_the_timesheet_page_shows_a_week_and_a_day(world_app) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    tech = Browser(app).login(world.people["a-technician"])
    manager = Browser(app).login(world.people["a-organizationadmin"])
    try:
        ticket = tech.post("/api/v1/tickets", json={"subject": "Backup job failing",
                                                    "organization_id": world.orgs["a"]}).json()
        r = tech.post(f"/api/v1/tickets/{ticket['id']}/time-entries", json={"minutes": 95, "note": "fixed the job"})
        assert r.status_code == 201, r.text
        today = dt.datetime.fromtimestamp(r.json()["started_at"], dt.UTC).date()
        week = tech.get("/timesheet").text
        assert "Backup job failing" in week and "fixed the job" in week and "Total 1h 35m" in week
        day = tech.get("/timesheet", params={"span": "day", "from": today.isoformat()}).text
        assert "Total 1h 35m" in day and day.count('data-testid="day-total"') == 1
        earlier = tech.get("/timesheet", params={"from": (today - dt.timedelta(days=14)).isoformat()}).text
        assert "Total 0h 00m" in earlier
        assert "from is a date" in tech.get("/timesheet", params={"from": "yesterday"}).text
        other = world.people["a-technician"].user_id
        assert "Backup job failing" in manager.get("/timesheet", params={"user_id": str(other)}).text
    finally:
        tech.close()
        manager.close()


def test_a_due_date_is_set_changed_recorded_and_cleared(world_app) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    admin = Browser(app).login(world.people["a-organizationadmin"])
    try:
        due = int(dt.datetime(2030, 3, 1, 12, tzinfo=dt.UTC).timestamp())
        t = admin.post("/api/v1/tickets", json={"subject": "New laptop for Sam", "organization_id": world.orgs["a"],
                                                "due_at": due}).json()
        assert t["due_at"] == due
        r = admin.post("/api/v1/tickets", json={"subject": "x", "organization_id": world.orgs["a"], "due_at": 12})
        assert r.status_code == 400 and "due_at" in r.text
        r = admin.post(f"/tickets/{t['id']}", data={"status_id": str(t["status_id"]), "due_date": "2030-03-05"})
        assert r.status_code == 303
        after = admin.get(f"/api/v1/tickets/{t['id']}").json()
        assert after["due_at"] == int(dt.datetime(2030, 3, 5, 23, 59, 59, tzinfo=dt.UTC).timestamp())
        assert ("due", "2030-03-01 12:00 UTC", "2030-03-05 23:59 UTC") in [
            (x["field"], x["old_value"], x["new_value"]) for x in after["transitions"]]
        r = admin.post(f"/tickets/{t['id']}", data={"status_id": str(t["status_id"]), "due_date": "March"})
        assert r.status_code == 400 and "due_at" in r.text
        cleared = admin.patch(f"/api/v1/tickets/{t['id']}", json={"due_at": 0}).json()
        assert cleared["due_at"] is None
    finally:
        admin.close()
