"""The client portal in a real browser: a technician turns on a contact's access and e-mails a sign-in link; the
contact follows the link, opens a ticket, sees the technician's public answer (never the internal note), and
replies."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.support.appliance import Appliance
from tests.support.identity import Browser, World
from tests.support.smtp import Mailbox


def test_a_contact_signs_in_by_link_opens_a_ticket_and_replies(new_page: Callable[..., Page],
                                                               world_app: tuple[Appliance, World], mailbox: Mailbox,
                                                               allow_console_error: Callable[[str], None],
                                                               output_dir: Path) -> None:
    app, world = world_app
    allow_console_error(r"status of 400 .*/portal/msp-a/link/")  # the spent link, on purpose at the end
    staff = Browser(app).login(world.people["a-organizationadmin"])
    contact = staff.post("/api/v1/contacts", json={"name": "Gina Green", "email": "gina@customer-a.test",
                                                  "organization_id": world.orgs["a"]}).json()
    assert staff.put(f"/api/v1/contacts/{contact['id']}/portal", json={"enabled": True}).status_code == 200
    assert staff.put("/api/v1/portal-branding", json={"title": "Acme IT help", "accent": "#d63939"}).status_code == 200
    assert staff.post(f"/api/v1/contacts/{contact['id']}/portal/invite").status_code == 202
    sent = mailbox.wait_for(lambda m: "gina@customer-a.test" in m["To"] and "Sign in" in m["Subject"])
    link = re.search(r"https://\S+/portal/msp-a/link/\S+", sent.get_content()).group(0)  # type: ignore[union-attr]

    page = new_page()
    page.goto("/" + link.split("/", 3)[3])  # the link's path on this appliance
    expect(page.get_by_test_id("portal-title")).to_have_text("Acme IT help")
    page.get_by_test_id("use-link").click()
    expect(page.get_by_test_id("portal-user")).to_have_text("Gina Green")
    page.get_by_test_id("portal-new-ticket").click()
    page.get_by_label("Subject").fill("Cannot print invoices")
    page.get_by_label("What happened?").fill("The accounting printer shows error 79.")
    page.get_by_role("button", name="Open ticket").click()
    expect(page.get_by_test_id("portal-ticket-status")).to_have_text("New")
    ticket_id = int(page.url.rsplit("/", 1)[1].split("?")[0])

    staff.post(f"/api/v1/tickets/{ticket_id}/comments", json={"kind": "note", "body": "Printer is out of warranty"})
    staff.post(f"/api/v1/tickets/{ticket_id}/comments", json={"body": "We will replace the fuser tomorrow."})
    page.reload()
    conversation = page.get_by_test_id("portal-conversation")
    expect(conversation).to_contain_text("We will replace the fuser tomorrow.")
    expect(conversation).not_to_contain_text("out of warranty")
    page.get_by_label("Your message").fill("Thank you, someone will be there from 8.")
    page.get_by_role("button", name="Send").click()
    expect(conversation).to_contain_text("someone will be there from 8")
    page.screenshot(path=output_dir / "portal-ticket.png", full_page=True)

    detail = staff.get(f"/api/v1/tickets/{ticket_id}").json()
    assert detail["source"] == "portal" and detail["contact_id"] == contact["id"]
    assert detail["comments"][-1]["kind"] == "customer"
    # The link worked once.
    again = new_page()
    again.goto("/" + link.split("/", 3)[3])
    again.get_by_test_id("use-link").click()
    expect(again.get_by_test_id("error")).to_contain_text("used, expired or unknown")
    staff.close()
