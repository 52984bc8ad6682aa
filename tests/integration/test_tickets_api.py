"""Tickets over HTTP on the real server: open, number, change, comment, transitions, scoping, bad input."""

from __future__ import annotations

import pytest

from tests.support.identity import Browser


@pytest.fixture(scope="module")
def desk(world_app):  # type: ignore[no-untyped-def]
    app, world = world_app
    admin = Browser(app).login(world.people["a-organizationadmin"])
    yield admin
    admin.close()


def _status(browser: Browser, kind: str) -> int:
    return next(s["id"] for s in browser.get("/api/v1/ticket-statuses").json() if s["type"] == kind)


def test_it_opens_numbered_tickets_and_records_every_change(world_app, desk) -> None:  # type: ignore[no-untyped-def]
    _, world = world_app
    contact = desk.post("/api/v1/contacts", json={"name": "Ann Smith", "email": "Ann@Customer-a.test",
                                                  "organization_id": world.orgs["a"]})
    assert contact.status_code == 201 and contact.json()["email"] == "ann@customer-a.test"
    first = desk.post("/api/v1/tickets", json={"subject": "Printer jams", "organization_id": world.orgs["a"],
                                               "contact_id": contact.json()["id"], "tags": ["Printer", "printer"]})
    assert first.status_code == 201, first.text
    second = desk.post("/api/v1/tickets", json={"subject": "VPN down", "organization_id": world.orgs["a"],
                                                "priority": "P1"}).json()
    t = first.json()
    assert t["status_type"] == "new" and t["source"] == "api" and t["tags"] == ["printer"]
    assert int(second["number"].removeprefix("T-")) == int(t["number"].removeprefix("T-")) + 1
    assert t["contact_name"] == "Ann Smith" and t["organization_name"] == "Customer A"

    tech = world.people["a-technician"].user_id
    r = desk.patch(f"/api/v1/tickets/{t['id']}", json={"assignee_id": tech, "priority": "P2",
                                                       "status_id": _status(desk, "open")})
    assert r.status_code == 200, r.text
    assert desk.post(f"/api/v1/tickets/{t['id']}/comments", json={"kind": "note", "body": "checking"}).status_code == 201
    assert desk.get(f"/api/v1/tickets/{t['id']}").json()["first_response_at"] is None  # a note is not a response
    reply = desk.post(f"/api/v1/tickets/{t['id']}/comments", json={"body": "On my way"})
    assert reply.status_code == 201 and reply.json()["kind"] == "reply"
    closed = desk.patch(f"/api/v1/tickets/{t['id']}", json={"status_id": _status(desk, "closed")}).json()
    assert closed["closed_at"] is not None and closed["resolved_at"] is not None
    assert closed["first_response_at"] is not None
    assert [c["body"] for c in closed["comments"]] == ["checking", "On my way"]
    assert [(x["field"], x["new_value"]) for x in closed["transitions"]] == [
        ("status", "New"), ("priority", "P2"), ("assignee", world.people["a-technician"].email), ("status", "Open"),
        ("status", "Closed")]
    listed = [x["id"] for x in desk.get("/api/v1/tickets").json()]
    assert second["id"] in listed and t["id"] not in listed  # closed tickets leave the open view
    assert t["id"] in [x["id"] for x in desk.get("/api/v1/tickets", params={"view": "all"}).json()]
    assert [x["id"] for x in desk.get("/api/v1/tickets", params={"priority": "P1"}).json()] == [second["id"]]
    assert second["id"] in [x["id"] for x in desk.get("/api/v1/tickets", params={"view": "unassigned"}).json()]
    reopened = desk.patch(f"/api/v1/tickets/{t['id']}", json={"status_id": _status(desk, "open")}).json()
    assert reopened["closed_at"] is None and reopened["resolved_at"] is None
    events = [e["action"] for e in desk.get("/api/v1/audit", params={"object_type": "ticket"}).json()]
    assert {"ticket.created", "ticket.updated", "ticket.closed"} <= set(events)
    assert "tickets" in desk.get("/api/schema/openapi.json").json()["paths"]["/api/v1/tickets"]["get"]["tags"]


@pytest.mark.parametrize(("body", "field"), [
    ({"subject": "", "organization_id": 0}, "subject"),
    ({"subject": "x"}, "organization_id"),
    ({"subject": "x", "organization_id": 999999}, "organization_id"),
    ({"subject": "x", "priority": "P9"}, "priority"),
    ({"subject": "x", "assignee_id": 999999}, "assignee_id"),
    ({"subject": "x", "device_ids": [999999]}, "device_ids"),
    ({"subject": "x", "status_id": 999999}, "status_id"),
    ({"subject": "x", "contact_id": 999999}, "contact_id"),
])
def test_bad_tickets_answer_400_naming_the_field(world_app, desk, body, field) -> None:  # type: ignore[no-untyped-def]
    _, world = world_app
    body = {"organization_id": world.orgs["a"], **body} if "organization_id" not in body and field != "organization_id" \
        else body
    r = desk.post("/api/v1/tickets", json=body)
    assert r.status_code == 400 and field in r.text, r.text


def test_bad_changes_and_comments_answer_400(world_app, desk) -> None:  # type: ignore[no-untyped-def]
    _, world = world_app
    t = desk.post("/api/v1/tickets", json={"subject": "Mail", "organization_id": world.orgs["a"]}).json()
    for body, field in (({"priority": "P0"}, "priority"), ({"subject": " "}, "subject"),
                        ({"status_id": 999999}, "status_id"), ({"device_ids": [999999]}, "device_ids")):
        r = desk.patch(f"/api/v1/tickets/{t['id']}", json=body)
        assert r.status_code == 400 and field in r.text, (body, r.text)
    r = desk.post(f"/api/v1/tickets/{t['id']}/comments", json={"body": "  "})
    assert r.status_code == 400 and "body" in r.text
    assert desk.get("/api/v1/tickets", params={"view": "everything"}).status_code == 400
    r = desk.post("/api/v1/contacts", json={"name": "Bob", "email": "not-mail", "organization_id": world.orgs["a"]})
    assert r.status_code == 400 and "email" in r.text
    assert desk.get(f"/api/v1/tickets/{t['id']}").json()["transitions"][-1]["new_value"] == "New"  # nothing half-written


def test_organization_limited_technicians_see_only_their_organizations(world_app, desk) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    mine = desk.post("/api/v1/tickets", json={"subject": "Mine", "organization_id": world.orgs["a"]}).json()
    other = desk.post("/api/v1/tickets", json={"subject": "Theirs", "organization_id": world.orgs["a-other"]}).json()
    contact = desk.post("/api/v1/contacts", json={"name": "Zed", "organization_id": world.orgs["a-other"]}).json()
    limited = Browser(app).login(world.people["a-limited"])
    helpdesk = Browser(app).login(world.people["a-readonly"])
    try:
        seen = [x["id"] for x in limited.get("/api/v1/tickets", params={"view": "all"}).json()]
        assert mine["id"] in seen and other["id"] not in seen
        assert limited.get(f"/api/v1/tickets/{other['id']}").status_code == 404
        assert limited.patch(f"/api/v1/tickets/{other['id']}", json={"priority": "P1"}).status_code == 404
        assert limited.post(f"/api/v1/tickets/{other['id']}/comments", json={"body": "hi"}).status_code == 404
        assert limited.get(f"/api/v1/contacts/{contact['id']}").status_code == 404
        assert contact["id"] not in [c["id"] for c in limited.get("/api/v1/contacts").json()]
        r = limited.post("/api/v1/tickets", json={"subject": "x", "organization_id": world.orgs["a-other"]})
        assert r.status_code == 400 and "organization_id" in r.text
        assert limited.post(f"/api/v1/tickets/{mine['id']}/comments", json={"body": "hi"}).status_code == 201
        assert helpdesk.patch(f"/api/v1/tickets/{mine['id']}", json={"priority": "P1"}).status_code == 403
    finally:
        limited.close()
        helpdesk.close()


def test_another_tenant_cannot_reach_tickets_or_contacts(world_app, desk) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    t = desk.post("/api/v1/tickets", json={"subject": "Secret", "organization_id": world.orgs["a"]}).json()
    contact = desk.post("/api/v1/contacts", json={"name": "Sue", "organization_id": world.orgs["a"]}).json()
    intruder = Browser(app).login(world.people["b-organizationadmin"])
    try:
        assert t["id"] not in [x["id"] for x in intruder.get("/api/v1/tickets", params={"view": "all"}).json()]
        for method, url, body in (("GET", f"/api/v1/tickets/{t['id']}", None),
                                  ("PATCH", f"/api/v1/tickets/{t['id']}", {"subject": "mine now"}),
                                  ("POST", f"/api/v1/tickets/{t['id']}/comments", {"body": "hi"}),
                                  ("GET", f"/api/v1/contacts/{contact['id']}", None),
                                  ("PATCH", f"/api/v1/contacts/{contact['id']}", {"name": "x"}),
                                  ("DELETE", f"/api/v1/contacts/{contact['id']}", None)):
            r = intruder.request(method, url, **({"json": body} if body else {}))
            assert r.status_code == 404, (method, url, r.status_code)
        r = intruder.post("/api/v1/tickets", json={"subject": "x", "organization_id": world.orgs["a"]})
        assert r.status_code == 400 and "organization_id" in r.text
        r = intruder.post("/api/v1/tickets", json={"subject": "x", "organization_id": world.orgs["b"],
                                                   "contact_id": contact["id"]})
        assert r.status_code == 400 and "contact_id" in r.text
        own = intruder.post("/api/v1/tickets", json={"subject": "B's", "organization_id": world.orgs["b"]}).json()
        assert own["number"] == "T-1001"  # each tenant counts its own
    finally:
        intruder.close()
    assert desk.get(f"/api/v1/tickets/{t['id']}").json()["subject"] == "Secret"
