"""Alerts over HTTP on the real server: list and filters, detail, acknowledge/resolve, bulk, pages, scoping."""

from __future__ import annotations

import pytest

from tests.support.alerts import raise_alert
from tests.support.fake_agents import enroll
from tests.support.identity import Browser

APPLIANCE_ENV = {"NINJAIT_NOTIFY_PRIVATE_NETWORKS": "true"}  # the receivers of these tests are on loopback


@pytest.fixture(scope="module")
def alerts(world_app):  # type: ignore[no-untyped-def]
    app, world = world_app
    admin = Browser(app).login(world.people["a-organizationadmin"])
    token = admin.post("/api/v1/enrollment-tokens", json={"site_id": world.sites["a"], "max_uses": 5}).json()["token"]
    with app.client() as client:
        for name in ("mail-01", "web-01"):
            enroll(client, token, name)
    devices = {d["hostname"]: d for d in admin.get("/api/v1/devices").json()}
    ids = {
        "mail": raise_alert(app, world.tenants["a"], devices["mail-01"]["id"], devices["mail-01"]["organization_id"],
                            severity="critical", title="mail-01 is offline"),
        "web": raise_alert(app, world.tenants["a"], devices["web-01"]["id"], devices["web-01"]["organization_id"],
                           severity="warning", title="web-01 disk low"),
    }
    yield admin, ids
    admin.close()


def test_list_detail_and_filters(world_app, alerts) -> None:  # type: ignore[no-untyped-def]
    admin, ids = alerts
    device_id = admin.get(f"/api/v1/alerts/{ids['mail']}").json()["device_id"]
    card = admin.get(f"/devices/{device_id}").text
    assert 'data-testid="device-alerts"' in card and "mail-01 is offline" in card and "web-01 disk low" not in card
    r = admin.get("/api/v1/alerts")
    assert r.status_code == 200 and r.headers["X-Total-Count"] == "2"
    assert [a["title"] for a in r.json()] == ["mail-01 is offline", "web-01 disk low"]  # critical first
    assert [a["id"] for a in admin.get("/api/v1/alerts", params={"severity": "warning"}).json()] == [ids["web"]]
    assert admin.get("/api/v1/alerts/count").json() == {"triggered": 2}
    detail = admin.get(f"/api/v1/alerts/{ids['mail']}").json()
    assert detail["device_hostname"] == "mail-01" and detail["organization_name"] == "Customer A"
    assert [t["kind"] for t in detail["transitions"]] == ["triggered"]
    for bad in ({"state": "closed"}, {"severity": "loud"}, {"max_age_hours": 0}, {"per_page": 0}):
        r = admin.get("/api/v1/alerts", params=bad)
        assert r.status_code == 400, (bad, r.text)
    assert "alerts" in admin.get("/api/schema/openapi.json").json()["paths"]["/api/v1/alerts"]["get"]["tags"]


def test_acknowledge_resolve_and_bulk(world_app, alerts) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    admin, ids = alerts
    tech = Browser(app).login(world.people["a-technician"])
    helpdesk = Browser(app).login(world.people["a-helpdesk"])
    try:
        assert helpdesk.get("/api/v1/alerts").status_code == 200  # Help Desk reads alerts ...
        assert helpdesk.post(f"/api/v1/alerts/{ids['web']}/acknowledge", json={}).status_code == 403  # ... only
        r = tech.post(f"/api/v1/alerts/{ids['web']}/acknowledge", json={"note": "looking"})
        assert r.status_code == 200 and r.json()["state"] == "acknowledged"
        assert tech.post(f"/api/v1/alerts/{ids['web']}/acknowledge", json={}).status_code == 409
        assert tech.post(f"/api/v1/alerts/{ids['web']}/resolve", json={"note": "x" * 2001}).status_code == 400
        r = tech.post("/api/v1/alerts/bulk", json={"ids": [ids["mail"], ids["web"], 999999], "action": "resolve",
                                                   "note": "maintenance done"})
        assert r.status_code == 200
        body = r.json()
        assert set(body["done"]) == {ids["mail"], ids["web"]} and [x["id"] for x in body["refused"]] == [999999]
        assert admin.get("/api/v1/alerts").json() == []
        resolved = admin.get("/api/v1/alerts", params={"state": "resolved"}).json()
        assert {a["resolution_note"] for a in resolved} == {"maintenance done"}
        assert tech.post("/api/v1/alerts/bulk", json={"ids": [], "action": "resolve"}).status_code == 400
        assert tech.post("/api/v1/alerts/bulk", json={"ids": [1], "action": "explode"}).status_code == 400
        page = admin.get("/alerts", params={"state": "resolved"})
        assert page.status_code == 200 and "mail-01 is offline" in page.text
        mail = admin.get(f"/api/v1/alerts/{ids['mail']}").json()["device_id"]
        assert "mail-01 is offline" in admin.get("/alerts", params={"state": "all", "device_id": mail}).text
        assert "web-01 disk low" not in admin.get("/alerts", params={"state": "all", "device_id": mail}).text
        assert "mail-01 is offline" in admin.get(f"/alerts/{ids['mail']}").text
    finally:
        tech.close()
        helpdesk.close()


def test_the_pages_acknowledge_and_resolve_with_forms(world_app, alerts) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    admin, _ = alerts
    device = next(d for d in admin.get("/api/v1/devices").json() if d["hostname"] == "mail-01")
    alert_id = raise_alert(app, world.tenants["a"], device["id"], device["organization_id"], rule="form.rule",
                           title="from the form")
    assert 'data-testid="open-alerts"' in admin.get("/alerts").text  # the header's counter
    r = admin.post(f"/alerts/{alert_id}/acknowledge", data={"note": "mine"})
    assert r.status_code == 303 and r.headers["location"].endswith("msg=alert-acknowledged")
    r = admin.post("/alerts/bulk", data={"ids": [str(alert_id)], "action": "resolve", "note": "fixed"})
    assert r.status_code == 303 and r.headers["location"].endswith("msg=alert-bulk-done")
    detail = admin.get(f"/api/v1/alerts/{alert_id}").json()
    assert [(t["kind"], t["note"]) for t in detail["transitions"]] == [
        ("triggered", ""), ("acknowledged", "mine"), ("resolved", "fixed")]
    assert admin.post(f"/alerts/{alert_id}/resolve", data={}).status_code == 409


def test_notification_channels_over_http_and_their_pages(world_app, alerts) -> None:  # type: ignore[no-untyped-def]
    from tests.support.receiver import Receiver

    app, world = world_app
    admin, _ = alerts
    kinds = {k["kind"]: k for k in admin.get("/api/v1/notification-channel-kinds").json()}
    assert set(kinds) == {"email", "webhook", "slack", "teams", "discord", "pagerduty", "ntfy"}
    assert {f["name"]: f["kind"] for f in kinds["webhook"]["fields"]} == {"url": "url", "secret": "secret"}
    with Receiver() as receiver:
        made = admin.post("/api/v1/notification-channels", json={
            "name": "Ops Slack", "kind": "slack", "settings": {"url": f"{receiver.url}/slack"}, "min_severity": "critical"})
        assert made.status_code == 201, made.text
        channel_id = made.json()["id"]
        assert admin.post("/api/v1/notification-channels", json={
            "name": "Ops Slack", "kind": "slack", "settings": {"url": f"{receiver.url}/x"}}).status_code == 409
        assert admin.post("/api/v1/notification-channels", json={
            "name": "Bad", "kind": "slack", "settings": {}}).status_code == 400
        tested = admin.post(f"/api/v1/notification-channels/{channel_id}/test")
        assert tested.status_code == 200 and tested.json()["status"] == "sent"
        assert receiver.at("/slack")[0].json()["text"].startswith("Test: [INFO]")
        log = admin.get(f"/api/v1/notification-channels/{channel_id}/deliveries").json()
        assert [(d["event"], d["status"], d["response_code"]) for d in log] == [("test", "sent", 200)]
        changed = admin.request("PUT", f"/api/v1/notification-channels/{channel_id}", json={"renotify_minutes": 15})
        assert changed.status_code == 200 and changed.json()["renotify_minutes"] == 15
        assert changed.json()["config"] == {"url": f"{receiver.url}/slack"}
        page = admin.get(f"/settings/notifications/{channel_id}")
        assert page.status_code == 200 and "Ops Slack" in page.text and 'data-testid="deliveries"' in page.text
        form = admin.get("/settings/notifications", params={"kind": "pagerduty"})
        assert 'name="setting_routing_key"' in form.text and 'type="password"' in form.text
        created = admin.post("/settings/notifications", data={
            "kind": "ntfy", "name": "Phone", "setting_server": receiver.url, "setting_topic": "t",
            "min_severity": "warning", "renotify_minutes": "0", "enabled": "on"})
        assert created.status_code == 303 and "channel-created" in created.headers["location"]
        tech = Browser(app).login(world.people["a-technician"])
        try:  # technicians hold alerts.write everywhere in tenant A: they may manage channels too
            assert tech.get("/api/v1/notification-channels").status_code == 200
        finally:
            tech.close()
        assert admin.delete(f"/api/v1/notification-channels/{channel_id}").status_code == 204
        assert admin.get(f"/api/v1/notification-channels/{channel_id}").status_code == 404


def test_maintenance_windows_over_http_and_their_page(world_app, alerts) -> None:  # type: ignore[no-untyped-def]
    import time

    _, world = world_app
    admin, _ = alerts
    now = int(time.time())
    made = admin.post("/api/v1/maintenance-windows", json={
        "name": "Thursday patching", "scope": "organization", "scope_id": world.orgs["a"], "starts_at": now - 86400,
        "weekdays": [0, 1, 2, 3, 4, 5, 6], "minute_of_day": 0, "duration_minutes": 1440})
    assert made.status_code == 201, made.text
    assert made.json()["open_now"] is True and made.json()["weekdays"] == [0, 1, 2, 3, 4, 5, 6]
    assert admin.post("/api/v1/maintenance-windows", json={"name": "x", "scope": "tenant", "starts_at": now,
                                                           "ends_at": now - 1}).status_code == 400
    page = admin.get("/alerts/maintenance")
    assert page.status_code == 200 and "Thursday patching" in page.text and 'data-testid="window-open"' in page.text
    form = admin.post("/alerts/maintenance", data={"name": "Move", "scope": "tenant", "starts_at": "2030-01-01T20:00",
                                                   "ends_at": "2030-01-02T04:00"})
    assert form.status_code == 303 and "window-created" in form.headers["location"]
    bad = admin.post("/alerts/maintenance", data={"name": "Move", "scope": "tenant", "starts_at": "soon"})
    assert bad.status_code == 400 and "2026-12-24T22:00" in bad.text
    assert {w["name"] for w in admin.get("/api/v1/maintenance-windows").json()} == {"Thursday patching", "Move"}
    assert admin.delete(f"/api/v1/maintenance-windows/{made.json()['id']}").status_code == 204


def test_escalation_policies_and_rotations_over_http_and_their_page(world_app, alerts) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    admin, ids = alerts
    tech = world.people["a-technician"].user_id
    rotation = admin.post("/api/v1/oncall-rotations", json={"name": "Nights", "user_ids": [tech],
                                                           "starts_at": 1_700_000_000})
    assert rotation.status_code == 201 and rotation.json()["on_call_user_id"] == tech
    policy = admin.post("/api/v1/escalation-policies", json={
        "name": "Wake someone", "min_severity": "warning", "ack_target_minutes": 5,
        "steps": [{"after_minutes": 0, "rotation_id": rotation.json()["id"]}]})
    assert policy.status_code == 201, policy.text
    assert policy.json()["steps"] == [{"after_minutes": 0, "rotation_id": rotation.json()["id"]}]
    two_targets = admin.post("/api/v1/escalation-policies", json={
        "name": "Bad", "steps": [{"after_minutes": 0, "user_id": tech, "rotation_id": rotation.json()["id"]}]})
    assert two_targets.status_code == 400 and "exactly one" in two_targets.text
    foreign = admin.post("/api/v1/oncall-rotations", json={"name": "B", "user_ids": [world.people["b-technician"].user_id],
                                                          "starts_at": 0})
    assert foreign.status_code == 400  # another tenant's user
    page = admin.get("/alerts/escalation")
    assert page.status_code == 200 and "Wake someone" in page.text and 'data-testid="on-call"' in page.text
    assert admin.delete(f"/api/v1/escalation-policies/{policy.json()['id']}").status_code == 204
    detail = admin.get(f"/api/v1/alerts/{ids['mail']}").json()
    assert detail["acknowledgement"] == []  # raised before any policy existed


def test_alert_actions_over_http_and_the_page(world_app, alerts) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    admin, _ = alerts
    made = admin.post("/api/v1/alert-actions", json={"name": "Clear temp", "rule": "check:3", "on_event": "triggered",
                                                     "interpreter": "powershell", "script": "Remove-Item $env:TEMP\\* -Recurse"})
    assert made.status_code == 201 and made.json()["min_severity"] == "info"
    assert admin.post("/api/v1/alert-actions", json={"name": "x", "on_event": "later", "interpreter": "sh",
                                                     "script": "true"}).status_code == 400
    tech = Browser(app).login(world.people["a-helpdesk"])
    try:
        assert tech.post("/api/v1/alert-actions", json={"name": "y", "on_event": "triggered", "interpreter": "sh",
                                                        "script": "true"}).status_code == 403
    finally:
        tech.close()
    page = admin.get("/alerts/escalation")
    assert "Clear temp" in page.text and 'data-testid="action-form"' in page.text
    form = admin.post("/alerts/escalation/actions", data={"name": "Reboot spooler", "on_event": "resolved",
                                                          "interpreter": "cmd", "script": "net start spooler",
                                                          "timeout_seconds": "60"})
    assert form.status_code == 303
    assert {a["name"] for a in admin.get("/api/v1/alert-actions").json()} == {"Clear temp", "Reboot spooler"}
    assert admin.post(f"/alerts/escalation/actions/{made.json()['id']}/delete").status_code == 303
    assert admin.get(f"/api/v1/alert-actions/{made.json()['id']}").status_code == 404


def test_event_rules_over_http_and_the_page(world_app, alerts) -> None:  # type: ignore[no-untyped-def]
    admin, _ = alerts
    made = admin.post("/api/v1/alert-event-rules", json={"name": "Device removed", "event": "device.deleted",
                                                         "severity": "info"})
    assert made.status_code == 201 and made.json()["clear_event"] == ""
    assert admin.post("/api/v1/alert-event-rules", json={"name": "Loop", "event": "alert.triggered"}).status_code == 400
    form = admin.post("/alerts/escalation/event-rules", data={"name": "Revoked agent", "event": "agent.revoked",
                                                              "clear_event": "agent.approved", "severity": "critical"})
    assert form.status_code == 303
    page = admin.get("/alerts/escalation").text
    assert "Device removed" in page and "agent.approved" in page
    assert admin.delete(f"/api/v1/alert-event-rules/{made.json()['id']}").status_code == 204
