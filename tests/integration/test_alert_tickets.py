"""Alert -> ticket: the tenant setting over HTTP, then alerts raised in the appliance's database with the
tickets subscriber on the raising process's bus (as the appliance wires it)."""

from __future__ import annotations

from types import SimpleNamespace

from ninjait.alerts import service as alerts
from ninjait.core.db import open_database
from ninjait.core.events import EventBus
from ninjait.settings import Settings
from ninjait.tickets import alert_tickets
from tests.support.fake_agents import enroll
from tests.support.identity import Browser


def test_alerts_open_add_to_and_resolve_tickets(world_app) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    admin = Browser(app).login(world.people["a-organizationadmin"])
    limited = Browser(app).login(world.people["a-limited"])
    token = admin.post("/api/v1/enrollment-tokens", json={"site_id": world.sites["a"]}).json()["token"]
    with app.client() as client:
        enroll(client, token, "db-01")
    device = next(d for d in admin.get("/api/v1/devices").json() if d["hostname"] == "db-01")
    db = open_database(Settings(data_dir=app.data_dir, database_url=app.env.get("NINJAIT_DATABASE_URL", "")))
    rt = SimpleNamespace(db=db, bus=EventBus())
    alert_tickets.subscribe(rt)  # type: ignore[arg-type]

    def condition(severity: str) -> alerts.Condition:
        return alerts.Condition(tenant_id=world.tenants["a"], rule="disk.full", subject=f"device:{device['id']}",
                                source="event", severity=severity, title="db-01 disk full",
                                organization_id=device["organization_id"], device_id=device["id"])

    try:
        alerts.trigger(rt, condition("critical"))  # type: ignore[arg-type]
        assert admin.get("/api/v1/tickets", params={"view": "all"}).json() == []  # off by default
        alerts.clear(rt, world.tenants["a"], "disk.full", f"device:{device['id']}")  # type: ignore[arg-type]

        assert limited.put("/api/v1/ticket-alert-settings", json={"min_severity": "warning"}).status_code == 403
        r = admin.put("/api/v1/ticket-alert-settings", json={"min_severity": "loud"})
        assert r.status_code == 400 and "min_severity" in r.text
        r = admin.put("/api/v1/ticket-alert-settings", json={"min_severity": "warning", "resolve_with_alert": True})
        assert r.status_code == 200 and r.json() == {"min_severity": "warning", "resolve_with_alert": True}

        first, _ = alerts.trigger(rt, condition("critical"))  # type: ignore[arg-type]
        [ticket] = admin.get("/api/v1/tickets").json()
        assert (ticket["priority"], ticket["source"], ticket["alert_id"]) == ("P1", "alert", first["id"])
        assert ticket["organization_id"] == device["organization_id"] and ticket["subject"] == "db-01 disk full"
        detail = admin.get(f"/api/v1/tickets/{ticket['id']}").json()
        assert [d["id"] for d in detail["devices"]] == [device["id"]]

        # The condition comes back before anyone resolved the ticket by hand: a note, not a new ticket.
        admin.patch(f"/api/v1/tickets/{ticket['id']}", json={"status_id": next(
            s["id"] for s in admin.get("/api/v1/ticket-statuses").json() if s["type"] == "open")})
        rt.db.write(lambda c: c.execute("UPDATE alerts SET state = 'resolved' WHERE id = ?", (first["id"],)))  # by hand
        second, _ = alerts.trigger(rt, condition("warning"))  # type: ignore[arg-type]
        assert second["id"] != first["id"]
        tickets = admin.get("/api/v1/tickets").json()
        assert [t["id"] for t in tickets] == [ticket["id"]]
        notes = admin.get(f"/api/v1/tickets/{ticket['id']}").json()["comments"]
        assert notes[-1]["kind"] == "note" and f"Alert {second['id']}" in notes[-1]["body"]

        alerts.clear(rt, world.tenants["a"], "disk.full", f"device:{device['id']}")  # type: ignore[arg-type]
        done = admin.get(f"/api/v1/tickets/{ticket['id']}").json()
        assert done["status_type"] == "resolved" and "resolved" in done["comments"][-1]["body"]

        alerts.trigger(rt, condition("info"))  # type: ignore[arg-type]  # below the chosen severity
        assert admin.get("/api/v1/tickets").json() == []
    finally:
        db.close()
        admin.close()
        limited.close()


def test_the_appliance_opens_and_resolves_the_ticket_itself(world_app) -> None:  # type: ignore[no-untyped-def]
    """The whole path in the appliance's process (wiring.py): bad sample → check fails → alert → ticket;
    good sample → alert resolves → ticket resolved."""
    import time

    from tests.support.agent import wait_until
    from tests.support.fake_agents import sample

    app, world = world_app
    admin = Browser(app).login(world.people["b-organizationadmin"])  # tenant B: untouched by the test above
    try:
        assert admin.put("/api/v1/ticket-alert-settings", json={"min_severity": "critical"}).status_code == 200
        check = admin.post("/api/v1/checks", json={"name": "CPU hot", "kind": "cpu", "scope_kind": "tenant",
                                                   "params": {"threshold": 90, "minutes": 0}, "severity": "critical"})
        assert check.status_code == 201, check.text
        token = admin.post("/api/v1/enrollment-tokens", json={"site_id": world.sites["b"]}).json()["token"]
        with app.client() as client:
            agent = enroll(client, token, "render-01")
            assert agent.check_in(client, metrics=[sample(time.time(), 99.0)]).status_code == 200
            [ticket] = wait_until(lambda: admin.get("/api/v1/tickets").json(), timeout=60, every=0.1)
            assert ticket["subject"] == "CPU hot failed on render-01" and ticket["priority"] == "P1"
            assert agent.check_in(client, metrics=[sample(time.time(), 5.0)]).status_code == 200
            wait_until(lambda: admin.get(f"/api/v1/tickets/{ticket['id']}").json()["status_type"] == "resolved",
                       timeout=60, every=0.1)
    finally:
        admin.close()
