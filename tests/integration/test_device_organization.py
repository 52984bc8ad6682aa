"""Device records, tags, custom fields, static and dynamic groups, saved views and bulk actions,
through the real API; with bad input, organization scope and tenant isolation on every route."""

from __future__ import annotations

import time

import pytest

from tests.support.fake_agents import FakeAgent, enroll, inventory
from tests.support.identity import Browser


@pytest.fixture(scope="module")
def setup(world_app):  # type: ignore[no-untyped-def]
    """Tenant A: four agents (two Windows servers, a Debian laptop, a Windows PC in the other organization),
    a custom field 'contract' (choice) and 'seats' (number); tenant B: one device and one group."""
    app, world = world_app
    admin = Browser(app).login(world.people["a-organizationadmin"])
    other_site = admin.post(f"/api/v1/organizations/{world.orgs['a-other']}/sites", json={"name": "Branch"}).json()
    token = admin.post("/api/v1/enrollment-tokens", json={"site_id": world.sites["a"], "max_uses": 5}).json()["token"]
    other_token = admin.post("/api/v1/enrollment-tokens", json={"site_id": other_site["id"]}).json()["token"]
    agents: dict[str, FakeAgent] = {}
    with app.client() as client:
        for name, os_name, tok in (("srv-1", "Windows Server", token), ("srv-2", "Windows Server", token),
                                   ("laptop-1", "Debian GNU/Linux", token), ("branch-pc", "Windows", other_token)):
            agents[name] = enroll(client, tok, name)
            r = agents[name].check_in(client, inventory=inventory(name, os_name=os_name))
            assert r.status_code == 200, r.text
    ids = {d["hostname"]: d["id"] for d in admin.get("/api/v1/devices").json()}
    assert admin.post("/api/v1/custom-fields", json={"key": "contract", "label": "Contract", "type": "choice",
                                                     "choices": ["gold", "silver"]}).status_code == 201
    assert admin.post("/api/v1/custom-fields", json={"key": "seats", "label": "Seats",
                                                     "type": "number"}).status_code == 201
    b_admin = Browser(app).login(world.people["b-organizationadmin"])
    b_device = b_admin.post("/api/v1/devices", json={"hostname": "b-asset", "site_id": world.sites["b"],
                                                     "tags": ["servers"]}).json()
    b_group = b_admin.post("/api/v1/device-groups", json={"name": "B servers", "kind": "dynamic",
                                                          "rules": {"field": "tag", "op": "is", "value": "servers"}})
    assert b_group.status_code == 201, b_group.text
    yield {"admin": admin, "b_admin": b_admin, "ids": ids, "agents": agents, "other_site": other_site["id"],
           "b_device": b_device["id"], "b_group": b_group.json()["id"], "app": app, "world": world}
    admin.close()
    b_admin.close()


def members(admin: Browser, group_id: int) -> list[str]:
    return sorted(d["hostname"] for d in admin.get("/api/v1/devices", params={"group_id": group_id}).json())


def test_dynamic_group_membership_follows_rules_tags_custom_fields_and_inventory(setup) -> None:  # type: ignore[no-untyped-def]
    admin, ids, app = setup["admin"], setup["ids"], setup["app"]
    rules = {"all": [{"field": "os", "op": "contains", "value": "windows"},
                     {"any": [{"field": "tag", "op": "is", "value": "Critical"},
                              {"field": "custom.contract", "op": "is", "value": "gold"}]}]}
    preview = admin.post("/api/v1/device-groups/preview", json={"rules": rules}).json()
    assert preview == {"count": 0, "sample": []}
    group = admin.post("/api/v1/device-groups", json={"name": "Critical Windows", "kind": "dynamic",
                                                      "rules": rules}).json()
    assert group["members"] == 0 and group["rules"]["all"][1]["any"][0]["value"] == "critical"
    # A tag brings srv-1 in; a custom field brings branch-pc in; the Linux laptop stays out whatever it holds.
    assert admin.patch(f"/api/v1/devices/{ids['srv-1']}", json={"tags": ["critical"]}).status_code == 200
    assert admin.patch(f"/api/v1/devices/{ids['branch-pc']}",
                       json={"custom_fields": {"contract": "gold"}}).status_code == 200
    assert admin.patch(f"/api/v1/devices/{ids['laptop-1']}",
                       json={"tags": ["critical"], "custom_fields": {"contract": "gold"}}).status_code == 200
    assert members(admin, group["id"]) == ["branch-pc", "srv-1"]
    assert admin.post("/api/v1/device-groups/preview", json={"rules": rules}).json()["count"] == 2
    # The inventory changes at the next check-in: branch-pc becomes Linux and leaves the group.
    with app.client() as client:
        r = setup["agents"]["branch-pc"].check_in(client, inventory=inventory("branch-pc", os_name="Ubuntu"))
        assert r.status_code == 200
    assert members(admin, group["id"]) == ["srv-1"]
    # New rules re-evaluate every device at once.
    updated = admin.put(f"/api/v1/device-groups/{group['id']}",
                        json={"name": "Critical Windows", "rules": {"field": "hostname", "op": "starts_with",
                                                                     "value": "SRV-"}}).json()
    assert updated["members"] == 2 and members(admin, group["id"]) == ["srv-1", "srv-2"]
    # Numbers and "not".
    numbers = admin.post("/api/v1/device-groups", json={"name": "Big non-servers", "kind": "dynamic", "rules": {
        "all": [{"field": "ram_gb", "op": "gte", "value": 8}, {"not": {"field": "hostname", "op": "contains",
                                                                        "value": "srv"}}]}}).json()
    assert members(admin, numbers["id"]) == ["branch-pc", "laptop-1"]
    detail = admin.get(f"/api/v1/devices/{ids['srv-1']}").json()
    assert {"id": group["id"], "name": "Critical Windows", "kind": "dynamic"} in detail["groups"]


def test_static_groups_take_members_by_hand_through_bulk_actions(setup) -> None:  # type: ignore[no-untyped-def]
    admin, ids = setup["admin"], setup["ids"]
    group = admin.post("/api/v1/device-groups", json={"name": "Pilot ring", "kind": "static"}).json()
    r = admin.post("/api/v1/devices/bulk", json={"ids": [ids["srv-2"], ids["laptop-1"], setup["b_device"]],
                                                 "action": "add_to_group", "group_id": group["id"]})
    assert r.status_code == 200, r.text
    assert sorted(r.json()["succeeded"]) == sorted([ids["srv-2"], ids["laptop-1"]])
    assert r.json()["refused"] == [{"id": setup["b_device"], "reason": "device not found"}]
    assert members(admin, group["id"]) == ["laptop-1", "srv-2"]
    dynamic = next(g for g in admin.get("/api/v1/device-groups").json() if g["kind"] == "dynamic")
    r = admin.post("/api/v1/devices/bulk", json={"ids": [ids["srv-2"]], "action": "add_to_group",
                                                 "group_id": dynamic["id"]})
    assert r.status_code == 400 and "dynamic" in r.json()["detail"]
    assert admin.post("/api/v1/device-groups", json={"name": "pilot RING", "kind": "static"}).status_code == 409


def test_device_records_create_replace_change_delete(setup, world_app) -> None:  # type: ignore[no-untyped-def]
    admin, world = setup["admin"], setup["world"]
    created = admin.post("/api/v1/devices", json={
        "hostname": "printer-3f", "site_id": world.sites["a"], "purchase_date": "2024-03-01",
        "warranty_end": "2027-03-01", "owner": "Front desk", "tags": ["Printers", "printers"],
        "custom_fields": {"seats": "12.0", "contract": "silver"}})
    assert created.status_code == 201, created.text
    device = created.json()
    assert device["tags"] == ["printers"] and device["custom_fields"] == {"contract": "silver", "seats": "12"}
    assert device["status"] == "new" and device["agent_status"] is None and device["owner"] == "Front desk"
    replaced = admin.put(f"/api/v1/devices/{device['id']}", json={"hostname": "printer-3f",
                                                                  "site_id": world.sites["a"], "notes": "toner"})
    assert replaced.status_code == 200
    assert replaced.json()["tags"] == [] and replaced.json()["custom_fields"] == {}
    assert replaced.json()["owner"] == "" and replaced.json()["notes"] == "toner"
    moved = admin.patch(f"/api/v1/devices/{device['id']}", json={"site_id": setup["other_site"]}).json()
    assert moved["organization_id"] == world.orgs["a-other"] and moved["notes"] == "toner"
    audit = [e for e in admin.get("/api/v1/audit", params={"object_type": "device"}).json()
             if e["object_id"] == str(device["id"])]
    assert [e["action"] for e in audit][-3:] == ["device.updated", "device.updated", "device.created"]
    assert audit[0]["summary"]["changes"]["site_id"]["to"] == setup["other_site"]
    assert admin.delete(f"/api/v1/devices/{device['id']}").status_code == 204
    assert admin.get(f"/api/v1/devices/{device['id']}").status_code == 404


def test_a_deleted_device_cannot_check_in_again(setup) -> None:  # type: ignore[no-untyped-def]
    admin, app = setup["admin"], setup["app"]
    token = admin.post("/api/v1/enrollment-tokens", json={"site_id": setup["world"].sites["a"]}).json()["token"]
    with app.client() as client:
        agent = enroll(client, token, "doomed")
        assert agent.check_in(client, inventory=inventory("doomed")).status_code == 200
        doomed = admin.get("/api/v1/devices", params={"q": "doomed"}).json()[0]
        assert admin.delete(f"/api/v1/devices/{doomed['id']}").status_code == 204
        assert agent.check_in(client).status_code == 401


def test_bad_input_is_refused_with_a_reason_and_nothing_changes(setup) -> None:  # type: ignore[no-untyped-def]
    admin, ids, world = setup["admin"], setup["ids"], setup["world"]
    before = admin.get(f"/api/v1/devices/{ids['srv-2']}").json()
    for body, needle in (
        ({"colour": "red"}, "colour"),
        ({"purchase_date": "2024-02-30"}, "purchase_date"),
        ({"purchase_date": "2025-01-01", "warranty_end": "2024-01-01"}, "warranty_end"),
        ({"tags": ["ok", "no<script>"]}, "tag"),
        ({"tags": ["ok"], "custom_fields": {"contract": "platinum"}}, "contract"),
        ({"tags": ["ok"], "custom_fields": {"seats": "many"}}, "seats"),
        ({"tags": ["ok"], "custom_fields": {"nope": 1}}, "nope"),
        ({"hostname": ""}, "hostname"),
        ({"site_id": 999999}, "site_id"),
        ({"site_id": world.sites["b"]}, "site_id"),
    ):
        r = admin.patch(f"/api/v1/devices/{ids['srv-2']}", json=body)
        assert r.status_code == 400, (body, r.status_code, r.text)
        assert needle in r.text, (body, r.text)
    after = admin.get(f"/api/v1/devices/{ids['srv-2']}").json()
    assert after == before
    for rules, needle in (
        ({"field": "shoe_size", "op": "is", "value": "9"}, "rules.field"),
        ({"all": [{"field": "os", "op": "gt", "value": "x"}]}, "rules.all[0].op"),
        ({"all": [{"field": "ram_gb", "op": "gt", "value": "lots"}]}, "rules.all[0].value"),
        ({"any": []}, "rules.any"),
        ({"field": "custom.missing", "op": "is", "value": "x"}, "custom"),
        ({"field": "os", "op": "is", "value": "x", "extra": 1}, "extra"),
        ({"any": [{"field": "site", "op": "is", "value": world.sites["a"]},
                  {"field": "site", "op": "is", "value": world.sites["b"]}]}, "rules.any[1].value: no site"),
        ({"not": {"field": "organization", "op": "is", "value": world.orgs["b"]}}, "rules.not.value"),
    ):
        r = admin.post("/api/v1/device-groups", json={"name": "Bad", "kind": "dynamic", "rules": rules})
        assert r.status_code == 400 and needle in r.json()["detail"], (rules, r.text)
    assert admin.post("/api/v1/device-groups", json={"name": "Bad", "kind": "static",
                                                     "rules": {"field": "os", "op": "is", "value": "x"}}).status_code == 400
    assert not [g for g in admin.get("/api/v1/device-groups").json() if g["name"] == "Bad"]
    for params in ({"tag": "!!"}, {"group_id": 999999}, {"custom": "contract"}, {"custom": "nope=1"},
                   {"custom": "seats=many"}):
        assert admin.get("/api/v1/devices", params=params).status_code == 400, params
    assert admin.post("/api/v1/custom-fields", json={"key": "Bad Key", "label": "x", "type": "text"}).status_code == 400
    assert admin.post("/api/v1/custom-fields", json={"key": "tier", "label": "x", "type": "choice"}).status_code == 400
    assert admin.post("/api/v1/custom-fields", json={"key": "seats", "label": "x", "type": "text"}).status_code == 409
    r = admin.post("/api/v1/devices/bulk", json={"ids": [ids["srv-2"]], "action": "queue_command",
                                                 "command": {"kind": "run_script", "payload": {}}})
    assert r.status_code == 400 and "script" in r.text
    assert admin.post("/api/v1/devices/bulk", json={"ids": [], "action": "add_tag", "tag": "x"}).status_code == 400
    assert admin.post("/api/v1/device-views", json={"name": "x", "query": "password=1"}).status_code == 400


def test_filters_by_tag_group_and_custom_field(setup) -> None:  # type: ignore[no-untyped-def]
    admin, ids = setup["admin"], setup["ids"]
    r = admin.post("/api/v1/devices/bulk", json={"ids": [ids["srv-1"], ids["srv-2"]], "action": "add_tag",
                                                 "tag": "Servers"})
    assert sorted(r.json()["succeeded"]) == sorted([ids["srv-1"], ids["srv-2"]])
    servers = admin.get("/api/v1/devices", params={"tag": "servers"})
    assert sorted(d["hostname"] for d in servers.json()) == ["srv-1", "srv-2"]
    assert all("servers" in d["tags"] for d in servers.json())
    admin.patch(f"/api/v1/devices/{ids['srv-2']}", json={"custom_fields": {"seats": 40}})
    assert [d["hostname"] for d in admin.get("/api/v1/devices", params={"custom": "seats=40.0"}).json()] == ["srv-2"]
    counts = {t["tag"]: t["devices"] for t in admin.get("/api/v1/device-tags").json()}
    assert counts["servers"] == 2
    r = admin.post("/api/v1/devices/bulk", json={"ids": [ids["srv-1"]], "action": "remove_tag", "tag": "servers"})
    assert r.json()["succeeded"] == [ids["srv-1"]]
    assert [d["hostname"] for d in admin.get("/api/v1/devices", params={"tag": "servers"}).json()] == ["srv-2"]
    html = admin.get("/devices", params={"tag": "servers"})
    assert html.status_code == 200 and "srv-2" in html.text and ">srv-1<" not in html.text


def test_bulk_move_and_commands_later_are_checked_per_device(setup, world_app) -> None:  # type: ignore[no-untyped-def]
    app, world = setup["app"], setup["world"]
    admin, ids = setup["admin"], setup["ids"]
    limited = Browser(app).login(world.people["a-limited"])
    try:
        r = limited.post("/api/v1/devices/bulk", json={"ids": [ids["srv-1"], ids["branch-pc"]], "action": "add_tag",
                                                       "tag": "seen-by-limited"})
        assert r.json()["succeeded"] == [ids["srv-1"]]
        assert r.json()["refused"] == [{"id": ids["branch-pc"], "reason": "device not found"}]
        # Moving into another organization needs devices.write there too.
        r = limited.post("/api/v1/devices/bulk", json={"ids": [ids["srv-1"]], "action": "move_to_site",
                                                       "site_id": setup["other_site"]})
        assert r.status_code in (400, 403), r.text
        assert limited.patch(f"/api/v1/devices/{ids['srv-1']}", json={"site_id": setup["other_site"]}).status_code \
            in (400, 403)
        assert limited.patch(f"/api/v1/devices/{ids['branch-pc']}", json={"owner": "x"}).status_code == 404
        assert limited.post("/api/v1/device-groups", json={"name": "Mine", "kind": "static"}).status_code == 403
        assert limited.post("/api/v1/custom-fields", json={"key": "mine", "label": "Mine",
                                                           "type": "text"}).status_code == 403
        assert "branch-pc" not in str(limited.post("/api/v1/device-groups/preview", json={
            "rules": {"field": "hostname", "op": "contains", "value": "-"}}).json())
    finally:
        limited.close()
    later = int(time.time()) + 3600
    r = admin.post("/api/v1/devices/bulk", json={"ids": [ids["srv-1"], ids["laptop-1"]], "action": "queue_command",
                                                 "command": {"kind": "refresh_inventory", "not_before": later}})
    assert sorted(r.json()["succeeded"]) == sorted([ids["srv-1"], ids["laptop-1"]]), r.text
    command = admin.get(f"/api/v1/commands/{r.json()['commands'][str(ids['srv-1'])]}").json()
    assert command["not_before"] == later and command["status"] == "queued"
    assert command["expires_at"] >= later + 3600
    with app.client() as client:  # not due yet: the agent does not get it
        reply = setup["agents"]["srv-1"].check_in(client)
        assert reply.json().get("commands", []) == []
    assert admin.get(f"/api/v1/commands/{command['id']}").json()["status"] == "queued"
    now = admin.post(f"/api/v1/devices/{ids['srv-1']}/commands", json={"kind": "refresh_inventory"}).json()
    due = admin.post(f"/api/v1/devices/{ids['srv-1']}/commands",  # a not-before time already past: due at once
                     json={"kind": "refresh_inventory", "not_before": int(time.time()) - 60}).json()
    with app.client() as client:
        delivered = [c["id"] for c in setup["agents"]["srv-1"].check_in(client).json().get("commands", [])]
    assert delivered == [now["uid"], due["uid"]]
    assert admin.post(f"/api/v1/devices/{ids['srv-1']}/commands", json={
        "kind": "refresh_inventory", "not_before": int(time.time()) + 40 * 86400}).status_code == 400
    r = admin.post("/api/v1/devices/bulk", json={"ids": [ids["srv-1"]], "action": "move_to_site",
                                                 "site_id": setup["other_site"]})
    assert r.json()["succeeded"] == [ids["srv-1"]]
    assert admin.get(f"/api/v1/devices/{ids['srv-1']}").json()["organization_id"] == world.orgs["a-other"]


def test_saved_views_belong_to_their_user(setup) -> None:  # type: ignore[no-untyped-def]
    app, world, admin = setup["app"], setup["world"], setup["admin"]
    view = admin.post("/api/v1/device-views", json={"name": "Servers", "query": "?sort=-last_seen&tag=servers"})
    assert view.status_code == 201 and view.json()["query"] == "tag=servers&sort=-last_seen"
    again = admin.post("/api/v1/device-views", json={"name": "Servers", "query": "tag=servers"}).json()
    assert again["id"] == view.json()["id"] and again["query"] == "tag=servers"
    tech = Browser(app).login(world.people["a-technician"])
    try:
        assert tech.get("/api/v1/device-views").json() == []
        assert tech.get(f"/api/v1/device-views/{again['id']}").status_code == 404
        assert tech.delete(f"/api/v1/device-views/{again['id']}").status_code == 404
    finally:
        tech.close()
    page = admin.get("/devices")
    assert "Servers" in page.text and "/devices?tag=servers" in page.text
    assert admin.delete(f"/api/v1/device-views/{again['id']}").status_code == 204


def test_another_tenant_reaches_nothing(setup) -> None:  # type: ignore[no-untyped-def]
    admin, b_admin, ids = setup["admin"], setup["b_admin"], setup["ids"]
    group = admin.post("/api/v1/device-groups", json={"name": "A only", "kind": "static"}).json()
    field = admin.get("/api/v1/custom-fields").json()[0]
    view = admin.post("/api/v1/device-views", json={"name": "Mine", "query": "status=online"}).json()
    device = ids["srv-2"]
    for method, url, body in (
        ("GET", f"/api/v1/devices/{device}", None),
        ("PUT", f"/api/v1/devices/{device}", {"hostname": "x", "site_id": setup["world"].sites["b"]}),
        ("PATCH", f"/api/v1/devices/{device}", {"owner": "intruder"}),
        ("DELETE", f"/api/v1/devices/{device}", None),
        ("GET", f"/api/v1/device-groups/{group['id']}", None),
        ("PUT", f"/api/v1/device-groups/{group['id']}", {"name": "taken"}),
        ("DELETE", f"/api/v1/device-groups/{group['id']}", None),
        ("GET", f"/api/v1/custom-fields/{field['id']}", None),
        ("PUT", f"/api/v1/custom-fields/{field['id']}", {"label": "taken"}),
        ("DELETE", f"/api/v1/custom-fields/{field['id']}", None),
        ("GET", f"/api/v1/device-views/{view['id']}", None),
        ("DELETE", f"/api/v1/device-views/{view['id']}", None),
    ):
        r = b_admin.request(method, url, **({"json": body} if body is not None else {}))
        assert r.status_code == 404, (method, url, r.status_code, r.text)
    r = b_admin.post("/api/v1/devices/bulk", json={"ids": [device], "action": "add_tag", "tag": "pwned"})
    assert r.json() == {"action": "add_tag", "succeeded": [], "refused": [{"id": device, "reason": "device not found"}],
                        "commands": {}}
    assert b_admin.post("/api/v1/devices/bulk", json={"ids": [setup["b_device"]], "action": "add_to_group",
                                                      "group_id": group["id"]}).status_code == 404
    assert b_admin.get("/api/v1/devices", params={"group_id": group["id"]}).status_code == 400
    assert [d["hostname"] for d in b_admin.get("/api/v1/devices", params={"tag": "servers"}).json()] == ["b-asset"]
    assert [g["name"] for g in b_admin.get("/api/v1/device-groups").json()] == ["B servers"]
    assert b_admin.get("/api/v1/custom-fields").json() == []
    # Tenant B's dynamic group never holds tenant A's devices, though they carry the same tag.
    assert [d["hostname"] for d in b_admin.get("/api/v1/devices", params={"group_id": setup["b_group"]}).json()] == \
        ["b-asset"]
    after = admin.get(f"/api/v1/devices/{device}").json()
    assert after["owner"] != "intruder" and "pwned" not in after["tags"]


def test_the_pages_register_edit_and_configure(setup) -> None:  # type: ignore[no-untyped-def]
    admin, world, ids = setup["admin"], setup["world"], setup["ids"]
    form = {"_csrf": admin.csrf}
    r = admin.post("/devices/new", data={**form, "site_id": world.sites["a"], "hostname": "switch-core",
                                         "tags": "network, Core"})
    assert r.status_code == 303, r.text[:300]
    switch = admin.get("/api/v1/devices", params={"q": "switch-core"}).json()[0]
    assert switch["tags"] == ["core", "network"] and switch["status"] == "new"
    r = admin.post("/settings/custom-fields", data={**form, "key": "rack", "label": "Rack", "type": "text"})
    assert r.status_code == 303
    rack = next(f for f in admin.get("/api/v1/custom-fields").json() if f["key"] == "rack")
    assert admin.post(f"/settings/custom-fields/{rack['id']}", data={**form, "label": "Rack position",
                                                                     "required": "on"}).status_code == 303
    assert admin.get(f"/api/v1/custom-fields/{rack['id']}").json() | {"created_at": 0} == {
        **rack, "label": "Rack position", "required": True, "created_at": 0}
    r = admin.post(f"/devices/{switch['id']}/details", data={**form, "owner": "Network team", "cf_rack": "B2",
                                                             "warranty_end": "2029-01-31", "tags": "network"})
    assert r.status_code == 303, r.text[:300]
    detail = admin.get(f"/api/v1/devices/{switch['id']}").json()
    assert detail["owner"] == "Network team" and detail["custom_fields"]["rack"] == "B2"
    assert detail["tags"] == ["network"] and detail["warranty_end"] == "2029-01-31"
    bad = admin.post(f"/devices/{switch['id']}/details", data={**form, "cf_rack": ""})
    assert bad.status_code == 400 and "Rack position is required" in bad.text
    page = admin.get(f"/devices/{switch['id']}")
    assert "Network team" in page.text and "Rack position" in page.text
    r = admin.post("/settings/device-groups", data={**form, "name": "Network gear", "kind": "dynamic",
                                                    "rules": '{"field": "tag", "op": "is", "value": "network"}'})
    assert r.status_code == 303, r.text[:300]
    bad = admin.post("/settings/device-groups", data={**form, "name": "Broken", "kind": "dynamic", "rules": "{nope"})
    assert bad.status_code == 400 and "not valid JSON" in bad.text
    preview = admin.post("/settings/device-groups/preview", data={**form, "rules": '{"field": "tag", "op": "is", '
                                                                                   '"value": "network"}'})
    assert "<strong>1</strong> device match now: switch-core" in preview.text
    outcome = admin.post("/devices/bulk", data={**form, "ids": [str(ids["srv-2"]), str(switch["id"])],
                                                "action": "refresh_inventory"}, headers={"HX-Request": "true"})
    assert "1 device done, 1 refused" in " ".join(outcome.text.split())
    assert "this device has no active agent" in outcome.text
