"""The e-mail channel over HTTP on the real server: a mailbox configured through the API and fetched from a real
Dovecot with "fetch now", its log, the pages, and a reply whose e-mail cannot go out shown failed on the ticket
(this appliance has no SMTP server)."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from tests.support.dovecot import Dovecot
from tests.support.identity import Browser


@pytest.fixture(scope="module")
def imap():  # type: ignore[no-untyped-def]
    with Dovecot() as server:
        yield server


def test_a_mailbox_over_the_api_and_the_pages(world_app, imap) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    admin = Browser(app).login(world.people["a-organizationadmin"])
    try:
        r = admin.post("/api/v1/mailboxes", json={
            "name": "Support", "address": "Support@MSP-A.test", "organization_id": world.orgs["a"],
            "imap_host": "127.0.0.1", "imap_port": imap.port, "imap_verify": False, "imap_username": imap.user,
            "password": imap.password})
        assert r.status_code == 201, r.text
        box = r.json()
        assert box["address"] == "support@msp-a.test" and box["password_set"] and "password" not in box
        assert admin.post("/api/v1/mailboxes", json={"name": "x", "address": "not-mail", "organization_id": 1,
                                                     "kind": "smtp"}).status_code == 400
        assert admin.put("/api/v1/mail-domains", json={"domain": "customer-a.test",
                                                       "organization_id": world.orgs["a-other"]}).status_code == 200

        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = "Fay <fay@customer-a.test>", "support@msp-a.test", "Scanner offline"
        msg["Message-ID"] = "<scan@customer-a.test>"
        msg.set_content("The scanner on floor 2 is offline.")
        imap.deliver(bytes(msg))
        r = admin.post(f"/api/v1/mailboxes/{box['id']}/fetch")
        assert r.status_code == 200, r.text
        [taken] = r.json()
        assert taken["outcome"] == "created" and taken["sender"] == "fay@customer-a.test"
        ticket = admin.get(f"/api/v1/tickets/{taken['ticket_id']}").json()
        assert ticket["organization_id"] == world.orgs["a-other"] and ticket["source"] == "email"
        assert admin.get(f"/api/v1/mailboxes/{box['id']}/log").json()[0]["outcome"] == "created"

        reply = admin.post(f"/api/v1/tickets/{ticket['id']}/comments", json={"body": "Restarted it."})
        assert reply.status_code == 201
        emails = admin.get(f"/api/v1/tickets/{ticket['id']}").json()["emails"]
        assert len(emails) == 1 and emails[0]["recipients"] == ["Fay <fay@customer-a.test>"]
        assert emails[0]["message_id"].startswith("<") and emails[0]["message_id"].endswith("@msp-a.test>")
        page = admin.get(f"/tickets/{ticket['id']}").text
        assert 'data-testid="ticket-emails"' in page and "fay@customer-a.test" in page

        listing = admin.get("/settings/mailboxes").text
        assert "support@msp-a.test" in listing and "customer-a.test" in listing
        page = admin.get(f"/settings/mailboxes/{box['id']}").text
        assert "Scanner offline" in page and "created" in page
        r = admin.post(f"/settings/mailboxes/{box['id']}", data={
            "name": "Support", "address": "support@msp-a.test", "kind": "imap", "imap_host": "127.0.0.1",
            "imap_port": str(imap.port), "imap_security": "tls", "imap_username": imap.user, "folder": "INBOX",
            "processed": "flag", "move_to": "Processed", "poll_seconds": "120", "reopen_days": "3",
            "organization_id": str(world.orgs["a"]), "enabled": "on", "create_contacts": "on"})
        assert r.status_code == 303
        after = admin.get(f"/api/v1/mailboxes/{box['id']}").json()
        assert after["processed"] == "flag" and after["poll_seconds"] == 120 and after["password_set"]
        assert after["imap_verify"] is False  # unticked box
        assert admin.post(f"/settings/mailboxes/{box['id']}/fetch").status_code == 200
        assert admin.delete("/api/v1/mail-domains/customer-a.test").status_code == 204
        assert admin.delete("/api/v1/mail-domains/customer-a.test").status_code == 404
    finally:
        admin.close()


def test_templates_and_the_outgoing_server_over_the_api_and_the_page(world_app) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    admin = Browser(app).login(world.people["a-organizationadmin"])
    limited = Browser(app).login(world.people["a-limited"])
    try:
        kinds = {t["kind"]: t for t in admin.get("/api/v1/mail-templates").json()}
        assert kinds["reply"]["custom"] is False and kinds["created"]["enabled"] is False
        r = admin.post("/api/v1/mail-templates/preview", json={"subject": "About {{ ticket.subject }}",
                                                               "body": "Dear {{ contact.name }}"})
        assert r.json() == {"subject": "[T-1042] About Printer jams on every page", "body": "Dear Ann Smith"}
        r = admin.put("/api/v1/mail-templates", json={"kind": "created", "subject": "{% if %}", "body": "x"})
        assert r.status_code == 400 and "subject" in r.text
        r = admin.put("/api/v1/mail-templates", json={"kind": "created", "subject": "Thanks",
                                                      "body": "We got it.", "enabled": True})
        assert r.status_code == 200 and r.json()["custom"] and r.json()["enabled"]
        assert limited.put("/api/v1/mail-templates", json={"kind": "reply", "subject": "x", "body": "y"}
                           ).status_code == 403
        page = admin.post("/settings/mail-templates", data={"kind": "reply", "subject": "Re {{ ticket.number }}",
                                                            "body": "Hello {{ contact.name }}", "preview": "1"})
        assert page.status_code == 200 and "Hello Ann Smith" in page.text and 'data-testid="template-preview"' in page.text
        assert admin.get("/api/v1/mail-templates").json()[0]["custom"] is False  # a preview saves nothing

        r = admin.put("/api/v1/mail-smtp", json={"host": "127.0.0.1", "port": 2525, "sender": "not an address"})
        assert r.status_code == 400 and "sender" in r.text
        r = admin.put("/api/v1/mail-smtp", json={"host": "127.0.0.1", "port": 2525, "sender": "help@msp-a.test",
                                                 "username": "desk", "password": "smtp-secret"})
        assert r.status_code == 200 and r.json()["password_set"] and "smtp-secret" not in r.text
        assert admin.get("/api/v1/mail-smtp").json()["sender"] == "help@msp-a.test"
        assert admin.put("/api/v1/mail-smtp", json={"host": ""}).json()["host"] == ""
    finally:
        admin.close()
        limited.close()
