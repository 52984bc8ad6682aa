"""Service-desk settings over HTTP on the real server: statuses (pausing, order, guards), ticket numbering, and
contacts of several organizations."""

from __future__ import annotations

import pytest

from tests.support.identity import Browser


@pytest.fixture(scope="module")
def desk(world_app):  # type: ignore[no-untyped-def]
    app, world = world_app
    admin = Browser(app).login(world.people["a-organizationadmin"])
    yield admin
    admin.close()


def _clock(ticket: dict, name: str = "resolution") -> dict:  # type: ignore[type-arg]
    return next(c for c in ticket["sla"] if c["clock"] == name)


def test_a_pending_status_pauses_the_sla_only_when_it_says_so(world_app, desk) -> None:  # type: ignore[no-untyped-def]
    _, world = world_app
    calendar = desk.post("/api/v1/sla-calendars", json={"name": "Always", "always_open": True}).json()
    policy = desk.post("/api/v1/sla-policies", json={"name": "Default", "calendar_id": calendar["id"],
                                                     "targets": {"P3": {"resolution": 86400}}})
    assert policy.status_code == 201, policy.text
    scheduled = desk.post("/api/v1/ticket-statuses", json={"name": "Scheduled visit", "type": "pending",
                                                           "pauses_sla": False, "position": 3})
    assert scheduled.status_code == 201, scheduled.text
    assert scheduled.json()["pauses_sla"] is False
    ticket = desk.post("/api/v1/tickets", json={"subject": "Install printer", "organization_id": world.orgs["a"]}).json()
    moved = desk.patch(f"/api/v1/tickets/{ticket['id']}", json={"status_id": scheduled.json()["id"]}).json()
    assert _clock(moved)["state"] == "running"  # waiting on us: the clock runs

    r = desk.patch(f"/api/v1/ticket-statuses/{scheduled.json()['id']}", json={"pauses_sla": True})
    assert r.status_code == 200 and r.json()["pauses_sla"] is True
    assert _clock(desk.get(f"/api/v1/tickets/{ticket['id']}").json())["state"] == "paused"  # tickets in it pause now
    r = desk.patch(f"/api/v1/ticket-statuses/{scheduled.json()['id']}", json={"pauses_sla": False})
    assert _clock(desk.get(f"/api/v1/tickets/{ticket['id']}").json())["state"] == "running"

    # In use: no type change, no delete; the ticket and its status are untouched.
    r = desk.patch(f"/api/v1/ticket-statuses/{scheduled.json()['id']}", json={"type": "open"})
    assert r.status_code == 409 and "move them" in r.text
    r = desk.delete(f"/api/v1/ticket-statuses/{scheduled.json()['id']}")
    assert r.status_code == 409 and "1 ticket is in this status" in r.text
    assert desk.get(f"/api/v1/tickets/{ticket['id']}").json()["status"] == "Scheduled visit"
    events = {e["action"] for e in desk.get("/api/v1/audit", params={"object_type": "ticket_status"}).json()}
    assert {"ticket_status.created", "ticket_status.updated"} <= events


def test_statuses_are_ordered_renamed_and_guarded(world_app, desk) -> None:  # type: ignore[no-untyped-def]
    statuses = desk.get("/api/v1/ticket-statuses").json()
    new = [s for s in statuses if s["type"] == "new"]
    assert len(new) == 1
    r = desk.delete(f"/api/v1/ticket-statuses/{new[0]['id']}")
    assert r.status_code == 409 and "type new" in r.text  # the last new-type status stays (no ticket uses it or not)
    assert any(s["id"] == new[0]["id"] for s in desk.get("/api/v1/ticket-statuses").json())
    r = desk.patch(f"/api/v1/ticket-statuses/{new[0]['id']}", json={"name": "Open"})
    assert r.status_code == 409 and "exists" in r.text
    r = desk.patch(f"/api/v1/ticket-statuses/{new[0]['id']}", json={"name": "Fresh", "position": 0})
    assert r.status_code == 200 and r.json()["name"] == "Fresh"
    assert desk.get("/api/v1/ticket-statuses").json()[0]["name"] == "Fresh"
    unused = desk.post("/api/v1/ticket-statuses", json={"name": "Parked", "type": "open"}).json()
    assert desk.delete(f"/api/v1/ticket-statuses/{unused['id']}").status_code == 204
    assert desk.get(f"/api/v1/ticket-statuses/{unused['id']}").status_code == 404


@pytest.mark.parametrize(("body", "field"), [
    ({"name": "", "type": "open"}, "name"),
    ({"name": "X", "type": "waiting"}, "type"),
    ({"name": "X", "type": "open", "pauses_sla": True}, "pauses_sla"),
    ({"name": "X", "type": "open", "position": 5000}, "position"),
])
def test_bad_statuses_answer_400(world_app, desk, body, field) -> None:  # type: ignore[no-untyped-def]
    before = desk.get("/api/v1/ticket-statuses").json()
    r = desk.post("/api/v1/ticket-statuses", json=body)
    assert r.status_code == 400 and field in r.text, r.text
    assert desk.get("/api/v1/ticket-statuses").json() == before


def test_statuses_and_numbering_are_tenant_wide_settings(world_app) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    limited = Browser(app).login(world.people["a-limited"])
    try:
        r = limited.post("/api/v1/ticket-statuses", json={"name": "Mine", "type": "open"})
        assert r.status_code == 403
        assert limited.put("/api/v1/ticket-numbering", json={"prefix": "L-"}).status_code == 403
        assert limited.get("/api/v1/ticket-statuses").status_code == 200
    finally:
        limited.close()


def test_the_number_prefix_changes_for_new_tickets_and_never_repeats_a_number(world_app, desk) -> None:  # type: ignore[no-untyped-def]
    _, world = world_app
    old = desk.post("/api/v1/tickets", json={"subject": "Before", "organization_id": world.orgs["a"]}).json()
    prefix, number = old["number"][:2], int(old["number"][2:])
    r = desk.put("/api/v1/ticket-numbering", json={"prefix": "SR#", "next_number": 5000})
    assert r.status_code == 200 and r.json() == {"prefix": "SR#", "next_number": 5000}
    new = desk.post("/api/v1/tickets", json={"subject": "After", "organization_id": world.orgs["a"]}).json()
    assert new["number"] == "SR#5000"
    assert desk.get(f"/api/v1/tickets/{old['id']}").json()["number"] == old["number"]
    # Back to the old prefix: only above the numbers it gave.
    r = desk.put("/api/v1/ticket-numbering", json={"prefix": prefix, "next_number": number})
    assert r.status_code == 400 and "next_number" in r.text
    assert desk.get("/api/v1/ticket-numbering").json() == {"prefix": "SR#", "next_number": 5001}
    r = desk.put("/api/v1/ticket-numbering", json={"prefix": "bad prefix!"})
    assert r.status_code == 400 and "prefix" in r.text
    r = desk.put("/api/v1/ticket-numbering", json={"prefix": prefix, "next_number": number + 1})
    assert r.status_code == 200
    assert desk.post("/api/v1/tickets", json={"subject": "Again", "organization_id": world.orgs["a"]}).json()[
        "number"] == f"{prefix}{number + 1}"


def test_a_contact_of_two_organizations_requests_tickets_for_both(world_app, desk) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    r = desk.post("/api/v1/contacts", json={"name": "Pat Accountant", "email": "pat@books.test", "title": "CFO",
                                           "organization_id": world.orgs["a"],
                                           "organization_ids": [world.orgs["a-other"]]})
    assert r.status_code == 201, r.text
    pat = r.json()
    assert pat["organization_ids"] == sorted([world.orgs["a"], world.orgs["a-other"]]) and pat["title"] == "CFO"
    for org in ("a", "a-other"):
        t = desk.post("/api/v1/tickets", json={"subject": f"Invoice {org}", "organization_id": world.orgs[org],
                                               "contact_id": pat["id"]})
        assert t.status_code == 201 and t.json()["contact_name"] == "Pat Accountant"
    found = desk.get("/api/v1/contacts", params={"organization_id": world.orgs["a-other"], "q": "ACCOUNT"}).json()
    assert [c["id"] for c in found] == [pat["id"]]
    assert desk.get("/api/v1/contacts", params={"q": "nobody-like-this"}).json() == []

    limited = Browser(app).login(world.people["a-limited"])  # a Technician of organization a only
    try:
        seen = limited.get(f"/api/v1/contacts/{pat['id']}").json()
        assert seen["organization_ids"] == [world.orgs["a"]]  # the other customer is not shown
        r = limited.patch(f"/api/v1/contacts/{pat['id']}", json={"organization_ids": [world.orgs["a"]]})
        assert r.status_code in (400, 403)
        assert limited.delete(f"/api/v1/contacts/{pat['id']}").status_code == 403
        assert limited.patch(f"/api/v1/contacts/{pat['id']}", json={"phone": "+1 555"}).json()["phone"] == "+1 555"
    finally:
        limited.close()
    after = desk.get(f"/api/v1/contacts/{pat['id']}").json()
    assert after["organization_ids"] == sorted([world.orgs["a"], world.orgs["a-other"]])

    r = desk.patch(f"/api/v1/contacts/{pat['id']}", json={"organization_ids": [world.orgs["a-other"]]})
    assert r.status_code == 200 and r.json()["organization_id"] == world.orgs["a-other"]
    r = desk.post("/api/v1/tickets", json={"subject": "No longer", "organization_id": world.orgs["a"],
                                           "contact_id": pat["id"]})
    assert r.status_code == 400 and "contact_id" in r.text


def test_contacts_refuse_organizations_of_another_tenant(world_app, desk) -> None:  # type: ignore[no-untyped-def]
    _, world = world_app
    r = desk.post("/api/v1/contacts", json={"name": "Eve", "organization_id": world.orgs["a"],
                                           "organization_ids": [world.orgs["b"]]})
    assert r.status_code == 400 and "organization_ids" in r.text
    assert desk.get("/api/v1/contacts", params={"q": "Eve"}).json() == []


HOLIDAYS = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20261225\r\n"
            "DTEND;VALUE=DATE:20261227\r\nSUMMARY:Christmas\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\n"
            "DTSTART;VALUE=DATE:20261126\r\nRRULE:FREQ=YEARLY;BYDAY=4TH\r\nSUMMARY:Thanksgiving\r\nEND:VEVENT\r\n"
            "END:VCALENDAR\r\n")


def test_calendars_and_policies_are_edited_and_holidays_imported_from_ical(world_app, desk) -> None:  # type: ignore[no-untyped-def]
    cal = desk.post("/api/v1/sla-calendars", json={"name": "Office", "timezone": "Europe/Berlin",
                                                  "weekly": {"0": [[540, 1020]]}, "holidays": ["2026-01-01"]}).json()
    r = desk.patch(f"/api/v1/sla-calendars/{cal['id']}", json={"weekly": {"0": [[480, 720], [780, 1020]]}})
    assert r.status_code == 200 and r.json()["weekly"] == {"0": [[480, 720], [780, 1020]]}
    assert r.json()["holidays"] == ["2026-01-01"] and r.json()["timezone"] == "Europe/Berlin"
    r = desk.patch(f"/api/v1/sla-calendars/{cal['id']}", json={"timezone": "Mars/Olympus"})
    assert r.status_code == 400 and "timezone" in r.text

    r = desk.post(f"/api/v1/sla-calendars/{cal['id']}/holidays/import", content=HOLIDAYS.encode(),
                  headers={"Content-Type": "text/calendar"})
    assert r.status_code == 200, r.text
    assert r.json()["added"] == 2 and r.json()["skipped"] == ["Thanksgiving"]
    assert r.json()["calendar"]["holidays"] == ["2026-01-01", "2026-12-25", "2026-12-26"]
    r = desk.post(f"/api/v1/sla-calendars/{cal['id']}/holidays/import", params={"replace": "true"},
                  content=HOLIDAYS.encode(), headers={"Content-Type": "text/calendar"})
    assert r.json()["calendar"]["holidays"] == ["2026-12-25", "2026-12-26"]
    r = desk.post(f"/api/v1/sla-calendars/{cal['id']}/holidays/import", content=b"not a calendar",
                  headers={"Content-Type": "text/calendar"})
    assert r.status_code == 400 and "iCalendar" in r.text
    assert desk.get(f"/api/v1/sla-calendars/{cal['id']}").json()["holidays"] == ["2026-12-25", "2026-12-26"]

    pol = desk.post("/api/v1/sla-policies", json={"name": "Gold", "calendar_id": cal["id"],
                                                  "targets": {"P1": {"resolution": 3600}}}).json()
    r = desk.patch(f"/api/v1/sla-policies/{pol['id']}", json={"warn_percent": 50, "priority": "P1"})
    assert r.status_code == 200 and r.json()["warn_percent"] == 50 and r.json()["name"] == "Gold"
    r = desk.patch(f"/api/v1/sla-policies/{pol['id']}", json={"calendar_id": 999999})
    assert r.status_code == 400 and "calendar_id" in r.text
    assert desk.get(f"/api/v1/sla-policies/{pol['id']}").json()["calendar_id"] == cal["id"]
    actions = {e["action"] for e in desk.get("/api/v1/audit").json()}
    assert {"sla_calendar.updated", "sla_policy.updated"} <= actions


def test_ticket_custom_fields_are_typed_required_for_people_and_kept_apart_from_device_fields(world_app, desk) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    r = desk.post("/api/v1/ticket-fields", json={"key": "impact", "label": "Impact", "type": "choice",
                                                "choices": ["one user", "site", "company"], "required": True})
    assert r.status_code == 201, r.text
    impact = r.json()
    desk.post("/api/v1/ticket-fields", json={"key": "po_number", "label": "PO number", "type": "text"})
    assert desk.post("/api/v1/ticket-fields", json={"key": "impact", "label": "x", "type": "text"}).status_code == 409
    assert desk.post("/api/v1/custom-fields", json={"key": "impact", "label": "x", "type": "text"}).status_code == 409
    assert "impact" not in [f["key"] for f in desk.get("/api/v1/custom-fields").json()]  # device fields stay apart
    assert desk.get(f"/api/v1/custom-fields/{impact['id']}").status_code == 404

    r = desk.post("/api/v1/tickets", json={"subject": "Server room hot", "organization_id": world.orgs["a"]})
    assert r.status_code == 400 and "custom_fields.impact" in r.text  # required for people
    r = desk.post("/api/v1/tickets", json={"subject": "Server room hot", "organization_id": world.orgs["a"],
                                           "custom_fields": {"impact": "everyone"}})
    assert r.status_code == 400 and "must be one of" in r.text
    r = desk.post("/api/v1/tickets", json={"subject": "Server room hot", "organization_id": world.orgs["a"],
                                           "custom_fields": {"impact": "site", "po_number": "PO-7"}})
    assert r.status_code == 201, r.text
    t = r.json()
    assert t["custom_fields"] == {"impact": "site", "po_number": "PO-7"}
    changed = desk.patch(f"/api/v1/tickets/{t['id']}", json={"custom_fields": {"po_number": None,
                                                                               "impact": "company"}}).json()
    assert changed["custom_fields"] == {"impact": "company"}
    r = desk.patch(f"/api/v1/tickets/{t['id']}", json={"custom_fields": {"nope": "x"}})
    assert r.status_code == 400 and "nope" in r.text
    r = desk.put(f"/api/v1/ticket-fields/{impact['id']}", json={"label": "Impact", "choices": ["one user", "site"],
                                                               "required": True})
    assert r.status_code == 409 and "tickets hold" in r.text  # a ticket holds "company"

    limited = Browser(app).login(world.people["a-limited"])
    try:
        r = limited.post("/api/v1/ticket-fields", json={"key": "mine", "label": "Mine", "type": "text"})
        assert r.status_code == 403
    finally:
        limited.close()
    assert desk.delete(f"/api/v1/ticket-fields/{impact['id']}").status_code == 204
    assert desk.get(f"/api/v1/tickets/{t['id']}").json()["custom_fields"] == {}
