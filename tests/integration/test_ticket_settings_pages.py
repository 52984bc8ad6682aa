"""The service-desk settings pages as an MSP admin uses them: statuses, ticket numbers, SLA calendars with an
iCal upload, and policies with targets written as durations; bad input shows the error and changes nothing."""

from __future__ import annotations

from tests.support.identity import Browser

ICS = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20261225\r\nDTEND;VALUE=DATE:20261226\r\n"
       "SUMMARY:Christmas\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")


def test_statuses_and_numbers_through_the_page(world_app) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    admin = Browser(app).login(world.people["a-organizationadmin"])
    try:
        assert 'href="/settings/service-desk"' in admin.get("/settings").text
        r = admin.post("/settings/service-desk/statuses", data={"name": "Scheduled", "type": "pending", "position": "3",
                                                                "pauses_sla": "on"})
        assert r.status_code == 303
        made = next(s for s in admin.get("/api/v1/ticket-statuses").json() if s["name"] == "Scheduled")
        assert made["pauses_sla"] is True and made["type"] == "pending"
        r = admin.post(f"/settings/service-desk/statuses/{made['id']}", data={"name": "Scheduled visit",
                                                                              "type": "pending", "position": "3"})
        assert r.status_code == 303
        changed = admin.get(f"/api/v1/ticket-statuses/{made['id']}").json()
        assert changed["name"] == "Scheduled visit" and changed["pauses_sla"] is False  # unticked
        r = admin.post("/settings/service-desk/statuses", data={"name": "Scheduled visit", "type": "open"})
        assert r.status_code == 409 and "exists" in r.text
        page = admin.get("/settings/service-desk").text
        assert "Scheduled visit" in page and 'data-testid="next-number"' in page
        r = admin.post("/settings/service-desk/numbering", data={"prefix": "HD-", "next_number": "100"})
        assert r.status_code == 303
        assert admin.get("/api/v1/ticket-numbering").json() == {"prefix": "HD-", "next_number": 100}
        r = admin.post("/settings/service-desk/numbering", data={"prefix": "HD-", "next_number": "abc"})
        assert r.status_code == 400 and "next_number" in r.text
    finally:
        admin.close()


def test_calendars_ical_upload_and_policies_through_the_page(world_app) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    admin = Browser(app).login(world.people["a-organizationadmin"])
    tech = Browser(app).login(world.people["a-limited"])
    try:
        r = admin.post("/settings/sla/calendars", data={"name": "Office", "timezone": "Europe/Berlin",
                                                        "day0": "08:00-12:00, 13:00-17:00", "day4": "08:00-15:00",
                                                        "holidays": "2026-12-24\n2026-12-31"})
        assert r.status_code == 303, r.text[:300]
        url = r.headers["location"].split("?")[0]
        cal = admin.get(f"/api/v1/sla-calendars/{url.rsplit('/', 1)[1]}").json()
        assert cal["weekly"] == {"0": [[480, 720], [780, 1020]], "4": [[480, 900]]}
        assert cal["holidays"] == ["2026-12-24", "2026-12-31"]
        page = admin.get(url).text
        assert "08:00-12:00, 13:00-17:00" in page

        r = admin.post("/settings/sla/calendars", data={"name": "Bad", "day1": "nine to five"})
        assert r.status_code == 400 and "Tuesday" in r.text
        assert [c["name"] for c in admin.get("/api/v1/sla-calendars").json()] == ["Office"]

        r = admin.post(f"{url}/import", data={"_csrf": admin.csrf}, files={"file": ("h.ics", ICS, "text/calendar")})
        assert r.status_code == 200 and "1 new holiday imported" in r.text
        assert "2026-12-25" in admin.get(f"/api/v1/sla-calendars/{cal['id']}").json()["holidays"]
        r = admin.post(f"{url}/import", data={"_csrf": admin.csrf}, files={"file": ("h.ics", b"\xff\xfe junk", "text/calendar")})
        assert r.status_code == 400 and "UTF-8" in r.text

        r = admin.post("/settings/sla/policies", data={"name": "Standard", "calendar_id": str(cal["id"]),
                                                       "warn_percent": "75", "P1_first_response": "30m",
                                                       "P1_resolution": "4h", "P3_resolution": "2d"})
        assert r.status_code == 303
        [pol] = admin.get("/api/v1/sla-policies").json()
        assert pol["targets"] == {"P1": {"first_response": 1800, "resolution": 14400}, "P3": {"resolution": 172800}}
        assert pol["warn_percent"] == 75 and pol["organization_id"] is None
        assert "4h" in admin.get("/settings/sla").text
        r = admin.post("/settings/sla/policies", data={"name": "Broken", "calendar_id": str(cal["id"]),
                                                       "P2_resolution": "soon"})
        assert r.status_code == 400 and "P2 resolution" in r.text
        assert len(admin.get("/api/v1/sla-policies").json()) == 1

        # An organization-limited technician reads the settings but cannot change them.
        assert tech.get("/settings/sla").status_code == 200 and 'data-testid="policy-form"' not in tech.get(
            "/settings/sla").text
        assert tech.post("/settings/sla/calendars", data={"name": "Mine", "always_open": "on"}).status_code == 403
    finally:
        admin.close()
        tech.close()


def test_contacts_through_the_pages(world_app) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    admin = Browser(app).login(world.people["a-organizationadmin"])
    limited = Browser(app).login(world.people["a-limited"])
    try:
        r = admin.post("/contacts", data={"name": "Dana Office", "organization_id": str(world.orgs["a"]),
                                          "email": "dana@customer-a.test", "title": "Office manager"})
        assert r.status_code == 303
        url = r.headers["location"].split("?")[0]
        contact_id = int(url.rsplit("/", 1)[1])
        r = admin.post(url, data={"name": "Dana Office", "email": "dana@customer-a.test", "title": "Office manager",
                                  "orgs_shown": "1", "organization_id": str(world.orgs["a"]),
                                  "organization_ids": [str(world.orgs["a"]), str(world.orgs["a-other"])]})
        assert r.status_code == 303
        assert admin.get(f"/api/v1/contacts/{contact_id}").json()["organization_ids"] == sorted(
            [world.orgs["a"], world.orgs["a-other"]])
        listing = admin.get("/contacts", params={"q": "dana"}).text
        assert "Dana Office" in listing and "Other customer A" in listing
        assert "Dana Office" not in admin.get("/contacts", params={"q": "zzz"}).text
        form = admin.get("/tickets/new", params={"contact_id": str(contact_id),
                                                 "organization_id": str(world.orgs["a"])}).text
        assert f'<option value="{contact_id}" selected>' in form
        r = admin.post("/tickets", data={"subject": "Printer", "organization_id": str(world.orgs["a-other"]),
                                         "priority": "P3", "contact_id": str(contact_id)})
        assert r.status_code == 303
        assert "Printer" in admin.get(url).text  # the contact's tickets

        # The limited technician sees only organization a, edits the phone, and cannot move or delete her.
        page = limited.get(url).text
        assert "Other customer A" not in page and 'name="orgs_shown"' not in page
        r = limited.post(url, data={"name": "Dana Office", "email": "dana@customer-a.test", "phone": "+1 555 0100"})
        assert r.status_code == 303
        assert admin.get(f"/api/v1/contacts/{contact_id}").json()["organization_ids"] == sorted(
            [world.orgs["a"], world.orgs["a-other"]])
        assert limited.post(f"{url}/delete").status_code == 403
        r = admin.post("/contacts", data={"name": "", "organization_id": str(world.orgs["a"])})
        assert r.status_code == 400 and "name must be" in r.text
    finally:
        admin.close()
        limited.close()


def test_ticket_fields_on_the_settings_page_the_new_ticket_form_and_the_ticket(world_app) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    admin = Browser(app).login(world.people["a-organizationadmin"])
    try:
        r = admin.post("/settings/ticket-fields", data={"key": "visit_date", "label": "Visit date", "type": "date"})
        assert r.status_code == 303
        assert "Visit date" in admin.get("/settings/ticket-fields").text
        assert "Visit date" not in admin.get("/settings/custom-fields").text
        form = admin.get("/tickets/new").text
        assert 'name="cf_visit_date"' in form and 'type="date"' in form
        r = admin.post("/tickets", data={"subject": "Install printer", "organization_id": str(world.orgs["a"]),
                                         "priority": "P3", "cf_visit_date": "31.12."})
        assert r.status_code == 400 and "YYYY-MM-DD" in r.text and 'value="31.12."' in r.text  # the input is kept
        r = admin.post("/tickets", data={"subject": "Install printer", "organization_id": str(world.orgs["a"]),
                                         "priority": "P3", "cf_visit_date": "2026-12-01"})
        assert r.status_code == 303
        url = r.headers["location"].split("?")[0]
        assert admin.get(f"/api/v1{url}").json()["custom_fields"] == {"visit_date": "2026-12-01"}
        assert admin.post(f"{url}/fields", data={"cf_visit_date": "2026-12-03"}).status_code == 303
        assert 'value="2026-12-03"' in admin.get(url).text
        assert admin.post(f"{url}/fields", data={"cf_visit_date": ""}).status_code == 303
        assert admin.get(f"/api/v1{url}").json()["custom_fields"] == {}
    finally:
        admin.close()
