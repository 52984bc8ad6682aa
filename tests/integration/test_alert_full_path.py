"""The whole path on the real appliance: a bad CPU sample arrives through the gateway → the check fails →
an alert is raised → its webhook reaches a receiver on loopback → a technician acknowledges → a good
sample → the check recovers → the alert resolves → the resolution's webhook arrives."""

from __future__ import annotations

import time

from tests.support.agent import wait_until
from tests.support.fake_agents import enroll, sample
from tests.support.identity import Browser
from tests.support.receiver import Receiver

APPLIANCE_ENV = {"NINJAIT_NOTIFY_PRIVATE_NETWORKS": "true"}  # the receivers of these tests are on loopback


def test_a_bad_sample_becomes_a_notification_and_a_good_one_resolves_it(world_app) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    admin = Browser(app).login(world.people["a-organizationadmin"])
    tech = Browser(app).login(world.people["a-technician"])
    with Receiver() as receiver:
        try:
            made = admin.post("/api/v1/notification-channels", json={
                "name": "Ops hook", "kind": "webhook", "min_severity": "warning",
                "settings": {"url": f"{receiver.url}/ops", "secret": "full-path-secret"}})
            assert made.status_code == 201, made.text
            check = admin.post("/api/v1/checks", json={"name": "CPU hot", "kind": "cpu", "scope_kind": "tenant",
                                                       "params": {"threshold": 90, "minutes": 0}, "severity": "critical"})
            assert check.status_code == 201, check.text
            token = admin.post("/api/v1/enrollment-tokens", json={"site_id": world.sites["a"]}).json()["token"]
            with app.client() as client:
                agent = enroll(client, token, "render-01")
                sent = time.monotonic()
                assert agent.check_in(client, metrics=[sample(time.time(), 99.0)]).status_code == 200
                hook = wait_until(lambda: receiver.at("/ops"), timeout=60, every=0.1)[0].json()
                took = time.monotonic() - sent
                assert hook["type"] == "alert.triggered" and hook["alert"]["title"] == "CPU hot failed on render-01"
                assert hook["alert"]["severity"] == "critical" and took < 60
                alert_id = hook["alert"]["alert_id"]
                acked = tech.post(f"/api/v1/alerts/{alert_id}/acknowledge", json={"note": "looking at the render job"})
                assert acked.status_code == 200, acked.text

                assert agent.check_in(client, metrics=[sample(time.time(), 5.0)]).status_code == 200
                wait_until(lambda: len(receiver.at("/ops")) >= 2, timeout=60, every=0.1)
            resolved = receiver.at("/ops")[1].json()
            assert resolved["type"] == "alert.resolved" and resolved["alert"]["alert_id"] == alert_id
            detail = admin.get(f"/api/v1/alerts/{alert_id}").json()
            assert detail["state"] == "resolved" and detail["resolution_note"] == "the check passes again"
            assert [t["kind"] for t in detail["transitions"]] == ["triggered", "acknowledged", "resolved"]
            log = admin.get(f"/api/v1/notification-channels/{made.json()['id']}/deliveries").json()
            assert [(d["event"], d["status"]) for d in log] == [("resolved", "sent"), ("triggered", "sent")]
        finally:
            admin.close()
            tech.close()


def test_errors_the_endpoint_logged_become_an_alert_through_an_event_rule(world_app) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    admin = Browser(app).login(world.people["a-organizationadmin"])
    try:
        rule = admin.post("/api/v1/alert-event-rules", json={"name": "Errors in the system log", "event": "agent.event"})
        assert rule.status_code == 201, rule.text
        token = admin.post("/api/v1/enrollment-tokens", json={"site_id": world.sites["a"]}).json()["token"]
        with app.client() as client:
            agent = enroll(client, token, "file-srv")
            logged = [{"ts": time.time() - 5, "level": "error", "source": "smartd",
                       "message": "Device: /dev/sda, 8 Currently unreadable (pending) sectors"},
                      {"ts": time.time() - 1, "level": "critical", "source": "kernel", "message": "EXT4-fs error"}]
            assert agent.check_in(client, events=logged).status_code == 200
            too_many = [{"ts": time.time(), "level": "error", "source": "x", "message": "m"}] * 101
            assert agent.check_in(client, events=too_many).status_code == 400  # the schema bounds a batch
        alerts = wait_until(lambda: [a for a in admin.get("/api/v1/alerts").json() if a["device_hostname"] == "file-srv"],
                            timeout=30, every=0.2)
        [alert] = alerts  # one open alert per device and rule: the second event counts an occurrence
        assert alert["title"] == "Errors in the system log on file-srv" and alert["occurrences"] == 2
        assert alert["message"] == "kernel: EXT4-fs error"
    finally:
        admin.close()
