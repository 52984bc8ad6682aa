"""A device's activity timeline through the real gateway: inventory diffs and events, API and page, isolation."""

from __future__ import annotations

from tests.support.fake_agents import enroll, inventory
from tests.support.identity import Browser


def test_inventory_changes_and_events_make_the_timeline(world_app) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    admin = Browser(app).login(world.people["a-organizationadmin"])
    outsider = Browser(app).login(world.people["b-organizationadmin"])
    try:
        token = admin.post("/api/v1/enrollment-tokens", json={"site_id": world.sites["a"]}).json()["token"]
        with app.client() as client:
            agent = enroll(client, token, "timeline-pc")
            first = inventory("timeline-pc", ip="10.2.0.1", software=("firefox", "vim"))
            assert agent.check_in(client, inventory=first).status_code == 200
            second = inventory("timeline-pc", ip="10.2.0.99", software=("firefox", "7zip"))
            second["software"][0]["version"] = "2"
            assert agent.check_in(client, inventory=second).status_code == 200
            assert agent.check_in(client, inventory=second).status_code == 200  # the same: nothing new
        device_id = next(d["id"] for d in admin.get("/api/v1/devices", params={"q": "timeline-pc"}).json())
        queued = admin.post(f"/api/v1/devices/{device_id}/commands", json={"kind": "refresh_inventory"})
        assert queued.status_code == 201, queued.text

        r = admin.get(f"/api/v1/devices/{device_id}/activity")
        assert r.status_code == 200 and "X-Next-Before" not in r.headers
        entries = r.json()
        inventory_kinds = [e["kind"] for e in entries if e["source"] == "inventory"]
        assert sorted(inventory_kinds) == ["inventory", "network", "software"]
        software = next(e for e in entries if e["kind"] == "software")
        assert software["details"]["installed"] == [{"name": "7zip", "version": "1"}]
        assert software["details"]["removed"] == [{"name": "vim", "version": "1"}]
        assert software["details"]["updated"] == [{"name": "firefox", "from": "1", "to": "2"}]
        network = next(e for e in entries if e["kind"] == "network")
        assert network["details"]["interfaces"][0]["added"] == ["10.2.0.99"]
        assert any(e["source"] == "event" and e["kind"] == "command.queued" for e in entries)
        assert [e["at_ms"] for e in entries] == sorted((e["at_ms"] for e in entries), reverse=True)

        only_events = admin.get(f"/api/v1/devices/{device_id}/activity", params={"kind": "events"}).json()
        assert only_events and all(e["source"] == "event" for e in only_events)
        paged = admin.get(f"/api/v1/devices/{device_id}/activity", params={"limit": 1})
        assert len(paged.json()) == 1 and paged.headers["X-Next-Before"] == str(paged.json()[0]["at_ms"])

        for bad in ({"kind": "everything"}, {"limit": 0}, {"limit": 501}, {"before": -1}):
            r = admin.get(f"/api/v1/devices/{device_id}/activity", params=bad)
            assert r.status_code == 400 and next(iter(bad)) in r.text, (bad, r.text)

        # The device page shows the tabs; the software filter and the timeline partial answer htmx.
        html = admin.get(f"/devices/{device_id}").text
        assert 'data-testid="device-tabs"' in html and "Software: 1 installed, 1 removed, 1 updated" in html
        filtered = admin.get(f"/devices/{device_id}/software", params={"q": "7zi"})
        assert filtered.status_code == 200 and "7zip" in filtered.text and "firefox" not in filtered.text
        assert "Nothing installed matches" in admin.get(f"/devices/{device_id}/software", params={"q": "nope"}).text
        assert "Software:" in admin.get(f"/devices/{device_id}/activity").text

        # Another tenant's administrator learns nothing, not even that the device exists.
        for path in (f"/api/v1/devices/{device_id}/activity", f"/devices/{device_id}/activity",
                     f"/devices/{device_id}/software"):
            assert outsider.get(path).status_code == 404, path
    finally:
        admin.close()
        outsider.close()
