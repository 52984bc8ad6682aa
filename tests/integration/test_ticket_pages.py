"""The ticket pages as a technician uses them: open a ticket with the form, reply, change status and assignee,
filter the list; organization-limited technicians and bad input."""

from __future__ import annotations

from tests.support.identity import Browser


def test_open_reply_and_close_through_the_pages(world_app) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    tech = Browser(app).login(world.people["a-technician"])
    limited = Browser(app).login(world.people["a-limited"])
    try:
        assert 'href="/tickets"' in tech.get("/").text  # the navigation entry
        form = tech.get("/tickets/new")
        assert form.status_code == 200 and 'name="subject"' in form.text
        r = tech.post("/tickets", data={"subject": "", "organization_id": str(world.orgs["a-other"])})
        assert r.status_code == 400 and "subject is required" in r.text
        r = tech.post("/tickets", data={"subject": "Outlook crashes", "organization_id": str(world.orgs["a-other"]),
                                        "priority": "P2", "description": "Since this morning"})
        assert r.status_code == 303, r.text[:300]
        url = r.headers["location"].split("?")[0]
        page = tech.get(url)
        assert page.status_code == 200 and "Outlook crashes" in page.text and "Since this morning" in page.text

        assert tech.post(f"{url}/comments", data={"body": "Reinstalled Office", "kind": "reply"}).status_code == 303
        assert tech.post(f"{url}/comments", data={"body": " "}).status_code == 400
        statuses = {s["type"]: s["id"] for s in tech.get("/api/v1/ticket-statuses").json()}
        r = tech.post(url, data={"status_id": str(statuses["closed"]), "priority": "P2",
                                 "assignee_id": str(world.people["a-technician"].user_id)})
        assert r.status_code == 303
        page = tech.get(url).text
        assert "Reinstalled Office" in page and "Open → Closed" not in page and "New → Closed" in page
        ticket_id = int(url.rsplit("/", 1)[1])
        detail = tech.get(f"/api/v1/tickets/{ticket_id}").json()
        assert detail["status_type"] == "closed" and detail["assignee_id"] == world.people["a-technician"].user_id

        listing = tech.get("/tickets", params={"view": "all", "priority": "P2"}).text
        assert "Outlook crashes" in listing
        assert "Outlook crashes" not in tech.get("/tickets").text  # closed: not in the open view
        assert tech.get("/tickets", params={"view": "sideways"}).status_code == 200  # the error is shown, not raised
        assert limited.get(url).status_code == 404  # another organization's ticket
        assert "Outlook crashes" not in limited.get("/tickets", params={"view": "all"}).text
        assert limited.post(f"{url}/comments", data={"body": "hi"}).status_code == 404
    finally:
        tech.close()
        limited.close()
