"""Walks every route the app registers, so a new route is covered without editing this file.

* without a session: 401 (API) or a redirect to the login page (pages);
* as a Read-Only user: 403 on every state-changing route that needs a permission;
* as an admin of another tenant: 404 on every route that names an object.

Self-service routes (declared ``authenticated`` or ``stage``: your own password, MFA, sessions,
tokens, sign-out) act only on the caller's own account and are open to every signed-in user.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

import pytest

from ninjait.identity.permissions import APPLIANCE_WIDE
from ninjait.settings import Settings
from tests.support.alerts import raise_alert
from tests.support.identity import Browser

PARAM = re.compile(r"\{(\w+):(\w+)\}")
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def route_table() -> list[tuple[str, str, dict[str, Any]]]:
    from ninjait.app import create_app
    from ninjait.core import runtime as rt_mod

    runtime = rt_mod.start(Settings(data_dir=Path(tempfile.mkdtemp()) / "data"))
    try:
        app = create_app(runtime)
        table = []
        for route in app.routes:
            for handler in getattr(route, "route_handlers", ()):
                for method in sorted(getattr(handler, "http_methods", ())):
                    if method in ("OPTIONS", "HEAD"):
                        continue
                    table.append((method, route.path, dict(handler.opt)))
        return table
    finally:
        rt_mod.stop()


ROUTES = route_table()
PROTECTED = [(m, p, o) for m, p, o in ROUTES if not o.get("public")]


BACKUP = "ninjait-backup-20250101T000000Z-manual.tar.gz"
# Service desk set-up (tickets/desk_api.py, desk_views.py): any id will do where no object is reached.
DESK_IDS = {"team_id": 1, "queue_id": 1, "routing_rule_id": 1, "canned_response_id": 1, "macro_id": 1,
            "recurring_id": 1}
REQUIRED_QUERY = {"/metrics": "?metric=cpu_percent"}  # routes whose required query would answer 400 first


def fill(path: str, values: dict[str, Any]) -> str:
    def one(m: re.Match[str]) -> str:
        name = m.group(1)
        assert name in values, f"route {path}: add an object for parameter {name!r} to this test"
        return str(values[name])

    query = next((q for suffix, q in REQUIRED_QUERY.items() if path.endswith(suffix)), "")
    return PARAM.sub(one, path) + query


def body_for(method: str, path: str) -> dict[str, Any]:
    if method not in UNSAFE:
        return {}
    if path.endswith("/commands"):
        return {"json": {"kind": "refresh_inventory"}}
    if path.endswith("/agent/update"):
        return {"json": {}}  # the latest build: valid, so only the access rules can refuse it
    if path.startswith("/api/v1/devices") and method in ("PUT", "POST") and not path.endswith("/bulk"):
        return {"json": {"hostname": "changed-by-an-intruder", "site_id": 1}}
    if path.startswith("/api/v1/devices") and method == "PATCH":
        return {"json": {"hostname": "changed-by-an-intruder"}}
    if path.endswith("/time-entries") or path.endswith("/stopwatch"):
        return {"json": {"minutes": 5} if path.endswith("/time-entries") else {}}  # valid: only access may refuse
    if path.startswith("/api/v1/recurring-tickets/") and method == "PUT":  # valid, in the intruder's own tenant
        return {"json": {"name": "x", "organization_id": 1, "frequency": "daily", "template": {"subject": "x"}}}
    if path.startswith("/api/v1/canned-responses/") and method == "PUT":
        return {"json": {"title": "Changed by an intruder", "body": "x"}}
    if path.endswith("/attachments"):
        return {"files": {"file": ("a.txt", b"intruder")}}  # multipart: only access may refuse
    if path.endswith("/merge") and path.startswith("/api/"):
        return {"json": {"into_id": 1}}
    if path.endswith("/links") and path.startswith("/api/"):
        return {"json": {"other_id": 1}}
    if path.endswith("/ccs") and path.startswith("/api/"):
        return {"json": {"emails": ["intruder@example.com"]}}
    if path.startswith("/api/v1/kb/articles") and method == "PATCH":
        return {"json": {"title": "Changed by an intruder"}}
    if path.endswith("/articles") and method == "POST":
        return {"json": {"article_id": 1}}
    if path.endswith("/portal") and path.startswith("/api/") and method == "PUT":
        return {"json": {"enabled": False}}
    if path.startswith(("/api/v1/custom-fields", "/api/v1/ticket-fields")) and method == "PUT":
        return {"json": {"label": "Changed by an intruder"}}
    if path.startswith("/api/"):
        return {"json": {"name": "Changed by an intruder"}}  # a field every other object's body accepts
    return {"data": {"name": "Changed by an intruder", "address": "x", "notes": "x"}}


def test_the_route_table_is_not_empty() -> None:
    assert len(PROTECTED) > 40
    assert any(p.startswith("/api/v1/users") for _, p, _ in PROTECTED)


@pytest.mark.parametrize(("method", "path"), [(m, p) for m, p, _ in PROTECTED])
def test_it_refuses_requests_without_a_session(world_app, method: str, path: str) -> None:  # type: ignore[no-untyped-def]
    app, _ = world_app
    url = fill(path, {"org_id": 1, "site_id": 1, "user_id": 1, "role_id": 1, "token_id": 1, "handle": "x" * 16,
                      "device_id": 1, "command_id": 1, "enrollment_token_id": 1, "action": "approve",
                      "backup_name": BACKUP, "alert_id": 1, "channel_id": 1, "group_id": 1, "field_id": 1,
                      "view_id": 1, "window_id": 1, "policy_id": 1, "rotation_id": 1,
                      "kind": "policies", "item_id": 1, "action_id": 1,
                      "incident_id": 1, "check_id": 1, "rule_id": 1, "entry_id": 1, "ticket_id": 1, "contact_id": 1, "calendar_id": 1,
                      "sla_policy_id": 1, "status_id": 1, "mailbox_id": 1, "domain": "customer-a.test",
                      "slug": "msp-a", "article_id": 1, "category_id": 1, "linked_id": 1, "attachment_id": 1, **DESK_IDS})
    with app.client() as client:
        r = client.request(method, url, **body_for(method, path))
    if path.startswith("/api/"):
        assert r.status_code == 401, (method, url, r.status_code)
    else:
        assert r.status_code in (303, 401), (method, url, r.status_code)
        if r.status_code == 303:
            login = "/portal/msp-a/login" if path.startswith("/portal/") else "/login?next="
            assert r.headers["location"].startswith(login)


@pytest.fixture(scope="module")
def read_only(world_app):  # type: ignore[no-untyped-def]
    app, world = world_app
    browser = Browser(app).login(world.people["a-readonly"])
    yield browser
    browser.close()


@pytest.mark.parametrize(("method", "path"),
                         [(m, p) for m, p, o in PROTECTED if m in UNSAFE and o.get("permission")])
def test_read_only_users_cannot_change_anything(world_app, read_only, method: str, path: str) -> None:  # type: ignore[no-untyped-def]
    _, world = world_app
    url = fill(path, {"org_id": world.orgs["a"], "site_id": world.sites["a"],
                      "user_id": world.people["a-technician"].user_id, "role_id": 5, "token_id": 1,
                      "handle": "x" * 16, "device_id": 1, "command_id": 1, "enrollment_token_id": 1,
                      "action": "approve", "backup_name": BACKUP, "alert_id": 1, "channel_id": 1, "group_id": 1, "field_id": 1,
                      "view_id": 1, "window_id": 1, "policy_id": 1, "rotation_id": 1,
                      "kind": "policies", "item_id": 1, "action_id": 1,
                      "incident_id": 1, "check_id": 1, "rule_id": 1, "entry_id": 1, "ticket_id": 1, "contact_id": 1, "calendar_id": 1,
                      "sla_policy_id": 1, "status_id": 1, "mailbox_id": 1, "domain": "customer-a.test",
                      "slug": "msp-a", "article_id": 1, "category_id": 1, "linked_id": 1, "attachment_id": 1, **DESK_IDS})
    r = read_only.request(method, url, **body_for(method, path))
    assert r.status_code == 403, (method, url, r.status_code, r.text[:200])


@pytest.fixture(scope="module")
def objects_of_a(world_app):  # type: ignore[no-untyped-def]
    """Ids of tenant A's objects, including a custom role, an API token and a session."""
    app, world = world_app
    admin = Browser(app).login(world.people["a-organizationadmin"])
    role = admin.post("/api/v1/roles", json={"name": "Auditors", "permissions": ["audit.read"]}).json()
    token = admin.post("/api/v1/me/tokens", json={"name": "ci", "permissions": ["devices.read"]}).json()
    session = admin.get("/api/v1/me/sessions").json()[0]
    enrollment = admin.post("/api/v1/enrollment-tokens", json={"site_id": world.sites["a"]}).json()
    with app.client() as client:
        enrolled = client.post("/agent/v1/enroll", json={"token": enrollment["token"], "hostname": "pc-a",
                                                         "platform": "linux", "agent_version": "test"})
    assert enrolled.status_code == 200, enrolled.text
    device = max(admin.get("/api/v1/devices").json(), key=lambda d: d["id"])
    command = admin.post(f"/api/v1/devices/{device['id']}/commands", json={"kind": "refresh_inventory"}).json()
    group = admin.post("/api/v1/device-groups", json={"name": "Tenant A servers", "kind": "static"}).json()
    custom_field = admin.post("/api/v1/custom-fields", json={"key": "contract", "label": "Contract",
                                                             "type": "text"}).json()
    view = admin.post("/api/v1/device-views", json={"name": "Online", "query": "status=online"}).json()
    alert_id = raise_alert(app, world.tenants["a"], device["id"], device["organization_id"])
    raise_alert(app, world.tenants["a"], device["id"], device["organization_id"], subject="disk:C")  # an incident
    channel = admin.post("/api/v1/notification-channels", json={
        "name": "On call", "kind": "webhook", "settings": {"url": "http://127.0.0.1:9/unused", "secret": "k" * 16}})
    assert channel.status_code == 201, channel.text
    window = admin.post("/api/v1/maintenance-windows", json={"name": "Patch night", "scope": "tenant",
                                                             "starts_at": 1_800_000_000, "ends_at": 1_800_003_600})
    assert window.status_code == 201, window.text
    rotation = admin.post("/api/v1/oncall-rotations", json={
        "name": "Weekly", "user_ids": [world.people["a-technician"].user_id], "starts_at": 1_800_000_000}).json()
    policy = admin.post("/api/v1/escalation-policies", json={
        "name": "Critical", "steps": [{"after_minutes": 0, "rotation_id": rotation["id"]}]}).json()
    action = admin.post("/api/v1/alert-actions", json={"name": "Heal", "on_event": "triggered", "interpreter": "sh",
                                                       "script": "true"}).json()
    check = admin.post("/api/v1/checks", json={"name": "CPU", "kind": "cpu", "scope_kind": "tenant",
                                               "params": {"threshold": 90}}).json()
    event_rule = admin.post("/api/v1/alert-event-rules", json={"name": "Revoked", "event": "agent.revoked"}).json()
    contact = admin.post("/api/v1/contacts", json={"name": "Ann", "organization_id": world.orgs["a"]}).json()
    calendar = admin.post("/api/v1/sla-calendars", json={"name": "24x7", "always_open": True}).json()
    sla_policy = admin.post("/api/v1/sla-policies", json={"name": "Standard", "calendar_id": calendar["id"],
                                                         "targets": {"P3": {"resolution": 86400}}}).json()
    status = admin.post("/api/v1/ticket-statuses", json={"name": "Scheduled", "type": "pending"}).json()
    mailbox = admin.post("/api/v1/mailboxes", json={"name": "Support", "address": "support@msp-a.test", "kind": "smtp",
                                                    "organization_id": world.orgs["a"]}).json()
    admin.put("/api/v1/mail-domains", json={"domain": "customer-a.test", "organization_id": world.orgs["a"]})
    kb_category = admin.post("/api/v1/kb/categories", json={"name": "How-to"}).json()
    article = admin.post("/api/v1/kb/articles", json={"title": "Reset a password", "visibility": "public",
                                                      "category_id": kb_category["id"]}).json()
    ticket = admin.post("/api/v1/tickets", json={"subject": "Printer", "organization_id": world.orgs["a"],
                                                 "contact_id": contact["id"], "calendar_id": calendar["id"], "sla_policy_id": sla_policy["id"]}).json()
    team = admin.post("/api/v1/ticket-teams", json={"name": "Desk A"}).json()
    canned = admin.post("/api/v1/canned-responses", json={"title": "Ack", "body": "Hi"}).json()
    desk_ids = {"team_id": team["id"],
                "queue_id": admin.post("/api/v1/ticket-queues", json={"name": "Queue A"}).json()["id"],
                "routing_rule_id": admin.post("/api/v1/routing-rules", json={
                    "name": "Rule A", "conditions": {"keywords": ["never-matches-anything"]},
                    "actions": {"tags": ["a"]}}).json()["id"],
                "canned_response_id": canned["id"],
                "macro_id": admin.post("/api/v1/ticket-macros", json={
                    "name": "Macro A", "actions": {"priority": "P1"}}).json()["id"],
                "recurring_id": admin.post("/api/v1/recurring-tickets", json={
                    "name": "Recurring A", "organization_id": world.orgs["a"], "frequency": "daily",
                    "template": {"subject": "Check"}}).json()["id"]}
    linked = admin.post("/api/v1/tickets", json={"subject": "Printer toner", "organization_id": world.orgs["a"]}).json()
    assert admin.post(f"/api/v1/tickets/{ticket['id']}/links", json={"other_id": linked["id"]}).status_code == 201
    attachment = admin.post(f"/api/v1/tickets/{ticket['id']}/attachments", files={"file": ("a.txt", b"tenant A")}).json()
    yield {"org_id": world.orgs["a"], "site_id": world.sites["a"], "user_id": world.people["a-technician"].user_id,
           "role_id": role["id"], "token_id": token["id"], "handle": session["id"], "device_id": device["id"],
           "command_id": command["id"], "enrollment_token_id": enrollment["id"], "action": "approve",
           "backup_name": BACKUP, "group_id": group["id"], "field_id": custom_field["id"], "view_id": view["id"],
           "alert_id": alert_id, "channel_id": channel.json()["id"], "window_id": window.json()["id"],
           "policy_id": policy["id"], "rotation_id": rotation["id"], "kind": "policies", "item_id": policy["id"],
           "action_id": action["id"], "incident_id": admin.get("/api/v1/incidents").json()[0]["id"],
           "check_id": check["id"], "rule_id": event_rule["id"], "ticket_id": ticket["id"],
           "contact_id": contact["id"], "calendar_id": calendar["id"], "sla_policy_id": sla_policy["id"],
           "status_id": status["id"], "mailbox_id": mailbox["id"], "domain": "customer-a.test", "slug": "msp-a",
           "article_id": article["id"], "category_id": kb_category["id"],
           "entry_id": admin.post(f"/api/v1/tickets/{ticket['id']}/time-entries", json={"minutes": 10}).json()["id"],
           "linked_id": linked["id"], "attachment_id": attachment["id"],
           **desk_ids}
    admin.close()


@pytest.fixture(scope="module")
def intruder(world_app):  # type: ignore[no-untyped-def]
    app, world = world_app
    browser = Browser(app).login(world.people["b-organizationadmin"])
    yield browser
    browser.close()


OBJECT_ROUTES = [(m, p, o.get("permission") in APPLIANCE_WIDE) for m, p, o in PROTECTED
                 if PARAM.search(p) and not o.get("portal")]
PORTAL_ROUTES = [(m, p) for m, p, o in PROTECTED if o.get("portal")]
STAFF_ROUTES = [(m, p) for m, p, o in PROTECTED if not o.get("portal")]


@pytest.mark.parametrize(("method", "path", "appliance_wide"), OBJECT_ROUTES)
def test_another_tenant_gets_404_for_every_object(world_app, objects_of_a, intruder, method: str,  # type: ignore[no-untyped-def]
                                                 path: str, appliance_wide: bool) -> None:
    """Appliance-wide objects (backups) belong to no tenant: a tenant admin lacks the permission (403)."""
    url = fill(path, objects_of_a)
    r = intruder.request(method, url, **body_for(method, path))
    assert r.status_code == (403 if appliance_wide else 404), (method, url, r.status_code, r.text[:200])


def test_tenant_a_objects_survived_the_intruder(world_app, objects_of_a) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    admin = Browser(app).login(world.people["a-organizationadmin"])
    try:
        org = admin.get(f"/api/v1/organizations/{objects_of_a['org_id']}").json()
        assert org["name"] == "Customer A"
        assert admin.get(f"/api/v1/roles/{objects_of_a['role_id']}").json()["name"] == "Auditors"
        tokens = admin.get("/api/v1/me/tokens").json()
        assert any(t["id"] == objects_of_a["token_id"] and t["revoked_at"] is None for t in tokens)
        names = [u["email"] for u in admin.get("/api/v1/users").json()]
        assert world.people["a-technician"].email in names
        device = admin.get(f"/api/v1/devices/{objects_of_a['device_id']}").json()
        assert device["agent_status"] == "active" and device["hostname"] == "pc-a"
        command = admin.get(f"/api/v1/commands/{objects_of_a['command_id']}").json()
        assert command["status"] == "queued"
        assert admin.get(f"/api/v1/enrollment-tokens/{objects_of_a['enrollment_token_id']}").json()["state"] == "used up"
        assert admin.get(f"/api/v1/alerts/{objects_of_a['alert_id']}").json()["state"] == "triggered"
        assert admin.get(f"/api/v1/maintenance-windows/{objects_of_a['window_id']}").json()["name"] == "Patch night"
        assert admin.get(f"/api/v1/escalation-policies/{objects_of_a['policy_id']}").json()["name"] == "Critical"
        assert admin.get(f"/api/v1/oncall-rotations/{objects_of_a['rotation_id']}").json()["name"] == "Weekly"
        assert admin.get(f"/api/v1/alert-actions/{objects_of_a['action_id']}").json()["name"] == "Heal"
        assert len(admin.get(f"/api/v1/incidents/{objects_of_a['incident_id']}").json()["alerts"]) == 2
        channel = admin.get(f"/api/v1/notification-channels/{objects_of_a['channel_id']}").json()
        assert channel["name"] == "On call" and admin.get(
            f"/api/v1/notification-channels/{objects_of_a['channel_id']}/deliveries").json() == []
        assert admin.get(f"/api/v1/device-groups/{objects_of_a['group_id']}").json()["name"] == "Tenant A servers"
        assert admin.get(f"/api/v1/custom-fields/{objects_of_a['field_id']}").json()["label"] == "Contract"
        assert admin.get(f"/api/v1/device-views/{objects_of_a['view_id']}").json()["name"] == "Online"
        assert admin.get(f"/api/v1/checks/{objects_of_a['check_id']}").json()["name"] == "CPU"
        assert admin.get(f"/api/v1/alert-event-rules/{objects_of_a['rule_id']}").json()["name"] == "Revoked"
        ticket = admin.get(f"/api/v1/tickets/{objects_of_a['ticket_id']}").json()
        assert ticket["subject"] == "Printer" and ticket["comments"] == [] and ticket["status_type"] == "new"
        assert admin.get(f"/api/v1/contacts/{objects_of_a['contact_id']}").json()["name"] == "Ann"
        assert admin.get(f"/api/v1/sla-calendars/{objects_of_a['calendar_id']}").json()["name"] == "24x7"
        assert admin.get(f"/api/v1/sla-policies/{objects_of_a['sla_policy_id']}").json()["name"] == "Standard"
        assert admin.get(f"/api/v1/tickets/{objects_of_a['ticket_id']}/time-entries").json()["total_minutes"] == 10
        assert admin.get(f"/api/v1/ticket-statuses/{objects_of_a['status_id']}").json()["name"] == "Scheduled"
        assert admin.get(f"/api/v1/mailboxes/{objects_of_a['mailbox_id']}").json()["address"] == "support@msp-a.test"
        assert admin.get(f"/api/v1/kb/articles/{objects_of_a['article_id']}").json()["title"] == "Reset a password"
        assert [c["name"] for c in admin.get("/api/v1/kb/categories").json()] == ["How-to"]
        assert admin.get("/api/v1/mail-domains").json() == [{"domain": "customer-a.test",
                                                            "organization_id": objects_of_a["org_id"]}]
        assert [x["id"] for x in ticket["links"]] == [objects_of_a["linked_id"]] and ticket["merged_into"] is None
        assert ticket["ccs"] == []
        assert admin.get(f"/api/v1/ticket-attachments/{objects_of_a['attachment_id']}").content == b"tenant A"
        for path, key in (("ticket-teams", "team_id"), ("ticket-queues", "queue_id"), ("routing-rules", "routing_rule_id"),
                          ("canned-responses", "canned_response_id"), ("ticket-macros", "macro_id"),
                          ("recurring-tickets", "recurring_id")):
            assert admin.get(f"/api/v1/{path}/{objects_of_a[key]}").status_code == 200, path
        recurring = admin.get(f"/api/v1/recurring-tickets/{objects_of_a['recurring_id']}").json()
        assert recurring["paused"] is False and recurring["last_ticket_id"] is None and recurring["name"] == "Recurring A"
        assert admin.get(f"/api/v1/ticket-macros/{objects_of_a['macro_id']}").json()["actions"]["priority"] == "P1"
    finally:
        admin.close()


def _portal_client(app, world, tenant: str):  # type: ignore[no-untyped-def]
    """A contact of `tenant`'s first organization signed in to that tenant's portal (cookie session)."""
    admin = Browser(app).login(world.people[f"{tenant}-organizationadmin"])
    try:
        contact = admin.post("/api/v1/contacts", json={"name": "Portal Pat", "email": f"pat@customer-{tenant}.test",
                                                      "organization_id": world.orgs[tenant]}).json()
        r = admin.put(f"/api/v1/contacts/{contact['id']}/portal", json={"enabled": True, "sees_organization": True,
                                                                        "password": "Portal-Pass-2026-long"})
        assert r.status_code == 200, r.text
    finally:
        admin.close()
    client = app.client(follow_redirects=False)
    r = client.post(f"/portal/msp-{tenant}/login", data={"email": f"pat@customer-{tenant}.test",
                                                          "password": "Portal-Pass-2026-long"})
    assert r.status_code == 303 and r.headers["location"] == f"/portal/msp-{tenant}", r.text[:300]
    assert client.get(f"/portal/msp-{tenant}").status_code == 200
    return client


@pytest.fixture(scope="module")
def portal_a(world_app):  # type: ignore[no-untyped-def]
    app, world = world_app
    client = _portal_client(app, world, "a")
    yield client
    client.close()


@pytest.fixture(scope="module")
def portal_b(world_app):  # type: ignore[no-untyped-def]
    app, world = world_app
    client = _portal_client(app, world, "b")
    yield client
    client.close()


@pytest.mark.parametrize(("method", "path"), STAFF_ROUTES)
def test_a_portal_contact_reaches_no_staff_route(world_app, objects_of_a, portal_a, method: str, path: str) -> None:  # type: ignore[no-untyped-def]
    r = portal_a.request(method, fill(path, objects_of_a), **body_for(method, path))
    if path.startswith("/api/"):
        assert r.status_code == 401, (method, path, r.status_code)
    else:
        assert r.status_code in (303, 401), (method, path, r.status_code)
        assert r.status_code == 401 or r.headers["location"].startswith("/login?next="), (method, path)


@pytest.mark.parametrize(("method", "path"), PORTAL_ROUTES)
def test_another_tenants_portal_contact_gets_nothing(world_app, objects_of_a, portal_b, method: str, path: str) -> None:  # type: ignore[no-untyped-def]
    """Tenant B's contact asking for tenant A's portal (and its tickets): back to A's sign-in page."""
    r = portal_b.request(method, fill(path, objects_of_a), **body_for(method, path))
    assert r.status_code == 303 and r.headers["location"] == "/portal/msp-a/login", (method, path, r.status_code)


@pytest.mark.parametrize(("method", "path"), PORTAL_ROUTES)
def test_a_staff_session_opens_no_portal_page(world_app, objects_of_a, method: str, path: str) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    staff = Browser(app).login(world.people["a-organizationadmin"])
    try:
        r = staff.request(method, fill(path, objects_of_a), **body_for(method, path))
    finally:
        staff.close()
    assert r.status_code == 303 and r.headers["location"] == "/portal/msp-a/login", (method, path, r.status_code)
