"""Canned responses and macros on the real server: safe rendering, one-click changes in one transaction, the
ticket page's controls, scoping and bad input."""

from __future__ import annotations

import pytest

from tests.support.identity import Browser


@pytest.fixture(scope="module")
def desk(admin):  # type: ignore[no-untyped-def]
    return admin  # tenant A's Organization Admin (conftest)


def _status(browser: Browser, kind: str) -> int:
    return next(s["id"] for s in browser.get("/api/v1/ticket-statuses").json() if s["type"] == kind)


def _ticket(desk: Browser, org: int) -> dict:  # type: ignore[type-arg]
    contact = desk.post("/api/v1/contacts", json={"name": "Ann Smith", "organization_id": org}).json()
    r = desk.post("/api/v1/tickets", json={"subject": "VPN drops", "organization_id": org,
                                           "contact_id": contact["id"]})
    assert r.status_code == 201, r.text
    return r.json()


def test_canned_responses_render_placeholders_in_a_sandbox(world_app, desk) -> None:  # type: ignore[no-untyped-def]
    _, world = world_app
    t = _ticket(desk, world.orgs["a"])
    canned = desk.post("/api/v1/canned-responses", json={
        "title": "Ack", "body": "Hello {{ contact.name }}, we are on {{ ticket.number }} ({{ ticket.nothing }})."})
    assert canned.status_code == 201, canned.text
    r = desk.get(f"/api/v1/tickets/{t['id']}/canned-responses/{canned.json()['id']}")
    assert r.json()["body"] == f"Hello Ann Smith, we are on {t['number']} ()."
    for body in ("{{ ticket.__class__.__mro__ }}", "{{ ''.__class__.__subclasses__() }}", "{% if %}"):
        r = desk.post("/api/v1/canned-responses", json={"title": "Evil", "body": body})
        assert r.status_code == 400 and "body" in r.text, (body, r.text)
    # Rendered text is plain: the page escapes it like any other comment.
    html = desk.post("/api/v1/canned-responses", json={"title": "Html", "body": "<b>{{ ticket.subject }}</b>"}).json()
    box = desk.get(f"/tickets/{t['id']}/reply-text", params={"canned_response_id": html["id"]})
    assert box.status_code == 200 and "&lt;b&gt;VPN drops&lt;/b&gt;" in box.text
    page = desk.get(f"/tickets/{t['id']}").text
    assert 'data-testid="canned-picker"' in page and "Insert canned response" in page


def test_a_macro_changes_fields_and_replies_in_one_click(world_app, desk) -> None:  # type: ignore[no-untyped-def]
    _, world = world_app
    tech = world.people["a-technician"]
    t = _ticket(desk, world.orgs["a"])
    team = desk.post("/api/v1/ticket-teams", json={"name": "Macro team"}).json()
    canned = desk.post("/api/v1/canned-responses", json={
        "title": "Waiting", "body": "{{ ticket.number }} is now {{ ticket.status }}, {{ contact.name }}."}).json()
    macro = desk.post("/api/v1/ticket-macros", json={"name": "Wait for customer", "actions": {
        "status_id": _status(desk, "pending"), "priority": "P2", "assignee_id": tech.user_id, "team_id": team["id"],
        "tags": ["Waiting"], "comment": {"kind": "reply", "canned_response_id": canned["id"]}}})
    assert macro.status_code == 201, macro.text
    r = desk.post(f"/api/v1/tickets/{t['id']}/macros/{macro.json()['id']}")
    assert r.status_code == 200, r.text
    after = r.json()
    assert (after["status_type"], after["priority"], after["assignee_id"], after["team_id"], after["tags"]) == (
        "pending", "P2", tech.user_id, team["id"], ["waiting"])
    assert after["comments"][-1]["body"] == f"{t['number']} is now Waiting on customer, Ann Smith."
    assert after["first_response_at"] is not None
    assert {"status", "priority", "assignee", "team"} <= {x["field"] for x in after["transitions"]}
    events = [e["action"] for e in desk.get("/api/v1/audit", params={"object_type": "ticket"}).json()]
    assert "ticket_macro.applied" in events

    # The page's control does the same.
    other = _ticket(desk, world.orgs["a"])
    r = desk.post(f"/tickets/{other['id']}/macro", data={"macro_id": str(macro.json()["id"])})
    assert r.status_code == 303, r.text[:300]
    assert desk.get(f"/api/v1/tickets/{other['id']}").json()["status_type"] == "pending"
    assert 'data-testid="macro-form"' in desk.get(f"/tickets/{other['id']}").text


def test_a_bad_macro_changes_nothing(world_app, desk) -> None:  # type: ignore[no-untyped-def]
    _, world = world_app
    t = _ticket(desk, world.orgs["a"])
    canned = desk.post("/api/v1/canned-responses", json={"title": "Soon gone", "body": "Bye"}).json()
    macro = desk.post("/api/v1/ticket-macros", json={"name": "Close with bye", "actions": {
        "status_id": _status(desk, "closed"), "priority": "P1", "tags": ["bye"],
        "comment": {"kind": "reply", "canned_response_id": canned["id"]}}}).json()
    assert desk.delete(f"/api/v1/canned-responses/{canned['id']}").status_code == 204
    before = desk.get(f"/api/v1/tickets/{t['id']}").json()
    r = desk.post(f"/api/v1/tickets/{t['id']}/macros/{macro['id']}")
    assert r.status_code == 400 and "canned_response_id" in r.text, r.text
    after = desk.get(f"/api/v1/tickets/{t['id']}").json()
    # The status, priority and tags were written before the reply failed: all rolled back with it.
    for key in ("status_id", "priority", "tags", "closed_at", "comments", "transitions", "updated_at"):
        assert after[key] == before[key], key
    assert "ticket.closed" not in [e["action"] for e in desk.get("/api/v1/audit", params={
        "object_type": "ticket", "object_id": t["id"]}).json()]


def test_macro_bad_input_scoping_and_other_tenants(world_app, desk) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    for body, field in (({"name": "x", "actions": {}}, "actions"),
                        ({"name": "x", "actions": {"status_id": 999999}}, "actions.status_id"),
                        ({"name": "x", "actions": {"comment": {"canned_response_id": 999999}}},
                         "actions.comment.canned_response_id"),
                        ({"name": "x", "actions": {"comment": {"body": "{{ x.__class__.y }}"}}}, "body")):
        r = desk.post("/api/v1/ticket-macros", json=body)
        assert r.status_code == 400 and field in r.text, (body, r.text)
    mine = _ticket(desk, world.orgs["a"])
    theirs = _ticket(desk, world.orgs["a-other"])
    canned = desk.post("/api/v1/canned-responses", json={"title": "Hi", "body": "Hi"}).json()
    macro = desk.post("/api/v1/ticket-macros", json={"name": "P1 it", "actions": {"priority": "P1"}}).json()
    assign = desk.post("/api/v1/ticket-macros", json={"name": "Take", "actions": {
        "assignee_id": world.people["a-technician"].user_id}}).json()
    limited = Browser(app).login(world.people["a-limited"])
    helpdesk = Browser(app).login(world.people["a-readonly"])
    intruder = Browser(app).login(world.people["b-organizationadmin"])
    try:
        assert limited.post(f"/api/v1/tickets/{theirs['id']}/macros/{macro['id']}").status_code == 404
        assert limited.get(f"/api/v1/tickets/{theirs['id']}/canned-responses/{canned['id']}").status_code == 404
        assert limited.post(f"/api/v1/tickets/{mine['id']}/macros/{macro['id']}").json()["priority"] == "P1"
        assert helpdesk.post(f"/api/v1/tickets/{mine['id']}/macros/{macro['id']}").status_code == 403
        assert limited.post("/api/v1/ticket-macros", json={"name": "x", "actions": {"priority": "P1"}}).status_code == 403
        assert intruder.get("/api/v1/ticket-macros").json() == []
        assert intruder.get("/api/v1/canned-responses").json() == []
        own = intruder.post("/api/v1/tickets", json={"subject": "B", "organization_id": world.orgs["b"]}).json()
        assert intruder.post(f"/api/v1/tickets/{own['id']}/macros/{macro['id']}").status_code == 404
        assert intruder.get(f"/api/v1/tickets/{own['id']}/canned-responses/{canned['id']}").status_code == 404
        assert intruder.post(f"/api/v1/tickets/{mine['id']}/macros/{macro['id']}").status_code == 404
    finally:
        limited.close()
        helpdesk.close()
        intruder.close()
    assert assign["actions"]["assignee_id"] == world.people["a-technician"].user_id
