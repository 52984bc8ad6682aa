"""The e-mail channel end to end in the test process, against a real IMAP server (Dovecot) and real SMTP
servers on loopback: new mail becomes a ticket, replies thread by References, reply-all from a CC lands on the
same ticket, a forged ticket number from a stranger does not, automatic mail is ignored, our replies carry the
threading headers, broken mail never stops the poller, and the built-in SMTP receiver refuses strangers."""

from __future__ import annotations

import smtplib
import time
from email.message import EmailMessage
from typing import Any

import pytest

from ninjait.core import runtime as rt_mod
from ninjait.identity.principal import Actor
from ninjait.settings import Settings
from ninjait.tickets import mail_imap, mail_out, mailboxes, service
from ninjait.tickets.mail_receiver import MailReceiver
from tests.support import alert_world
from tests.support.dovecot import Dovecot
from tests.support.net import free_port
from tests.support.smtp import Mailbox

ME = Actor(user_id=None, email="admin@msp.test")
admin = alert_world.admin


@pytest.fixture
def imap():  # type: ignore[no-untyped-def]
    with Dovecot() as server:
        yield server


@pytest.fixture
def outbox():  # type: ignore[no-untyped-def]
    with Mailbox() as m:
        yield m


@pytest.fixture
def rt(settings: Settings, outbox: Mailbox):  # type: ignore[no-untyped-def]
    runtime = alert_world.start(settings.replace(smtp_host="127.0.0.1", smtp_port=outbox.port, smtp_security="none",
                                                 smtp_from="desk@msp.test", mail_receiver_port=free_port()))
    yield runtime
    rt_mod.stop()


def mail(sender: str, subject: str, body: str = "Hello", *, attachment: tuple[bytes, str, str] | None = None,
         **headers: str) -> bytes:
    """A message to support@msp.test; ``attachment`` is (data, MIME type, file name)."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "support@msp.test"
    msg["Subject"] = subject
    msg["Message-ID"] = headers.pop("Message_ID", f"<{time.time_ns()}@{sender.rpartition('@')[2]}>")
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    if attachment is not None:
        data, mime, file_name = attachment
        maintype, _, subtype = mime.partition("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=file_name)
    return bytes(msg)


def _tech(rt) -> Actor:  # type: ignore[no-untyped-def]
    user_id = rt.db.write(lambda c: c.value(
        "INSERT INTO users (tenant_id, email, name, password_hash, created_at, updated_at) "
        "VALUES (1, 'tech@msp.test', 'Tess Tech', 'x', 0, 0) RETURNING id"))
    return Actor(user_id=user_id, email="tech@msp.test")


def _imap_box(rt, imap: Dovecot, **extra: Any) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    made = mailboxes.create_mailbox(rt, admin(), ME, {
        "name": "Support", "address": "support@msp.test", "kind": "imap", "imap_host": "127.0.0.1",
        "imap_port": imap.port, "imap_verify": False, "imap_username": imap.user, "password": imap.password,
        "organization_id": 2, **extra})
    assert "secret" not in made and made["password_set"] is True
    with rt.db.read() as c:
        return c.one(f"SELECT {mailboxes.COLUMNS} FROM mailboxes WHERE id = ?", (made["id"],))


def _ticket(rt, ticket_id: int) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return service.get_ticket(rt, admin(), ticket_id)


def test_mail_threads_into_tickets_and_replies_go_out_threaded(rt, imap, outbox) -> None:  # type: ignore[no-untyped-def]
    box = _imap_box(rt, imap)
    mailboxes.set_domain(rt, admin(), ME, "customer.test", 1)
    tech = _tech(rt)

    first = mail("Ann Smith <ann@customer.test>", "Printer jams", "The printer jams on every page.",
                 attachment=(b"\x89PNG fake image", "image/png", "jam.png"), Cc="bob@customer.test",
                 Message_ID="<first@customer.test>")
    imap.deliver(first)
    [created] = mail_imap.poll(rt, box)
    assert created["outcome"] == "created", created
    ticket = _ticket(rt, created["ticket_id"])
    assert ticket["source"] == "email" and ticket["organization_id"] == 1  # the domain's organization
    assert ticket["contact_name"] == "Ann Smith" and "jams on every page" in ticket["description"]
    assert imap.count("INBOX") == 0 and imap.count("Processed") == 1  # moved once taken
    assert [c["email"] for c in ticket["ccs"]] == ["bob@customer.test"]  # Ann's CC is on the ticket
    assert [(a["file_name"], a["size"]) for a in ticket["attachments"]] == [("jam.png", len(b"\x89PNG fake image"))]

    # The technician answers on the ticket: the customer gets it, threaded.
    service.add_comment(rt, admin(), tech, ticket["id"], "reply", "A new fuser is on its way.")
    [queued] = mail_out.due(rt)
    assert mail_out.send(rt, queued)["status"] == "sent"
    sent = outbox.wait_for(lambda m: "ann@customer.test" in m["To"])
    assert sent["Subject"] == f"[{ticket['number']}] Printer jams"
    assert sent["In-Reply-To"] == "<first@customer.test>" and "<first@customer.test>" in sent["References"]
    assert sent["Reply-To"] == "support@msp.test" and "A new fuser" in sent.get_body(("plain",)).get_content()
    assert sent["Cc"] == "bob@customer.test"
    ours = sent["Message-ID"]
    # In the customer's mailbox (Dovecot's THREAD=REFERENCES, RFC 5256) her mail and our answer are one thread.
    client = imap.client()
    try:
        client.create('"Customer"')
        for raw in (first, sent.as_bytes()):
            client.append('"Customer"', None, None, raw)
        client.select('"Customer"', readonly=True)
        status, threads = client.uid("THREAD", "REFERENCES", "UTF-8", "ALL")
        assert status == "OK" and threads[0].count(b"(") == 1, threads  # one thread of two messages
        assert b" " in threads[0]
    finally:
        client.logout()

    # Ann answers our message; Bob, on CC, answers all: both land on the same ticket.
    imap.deliver(mail("ann@customer.test", f"Re: [{ticket['number']}] Printer jams", "Thanks!\n\n> A new fuser",
                      In_Reply_To=ours, References=f"<first@customer.test> {ours}"))
    imap.deliver(mail("bob@customer.test", "Re: Printer jams", "It jams on my floor too.",
                      References=f"<first@customer.test> {ours}"))
    # A stranger uses the ticket number in the subject: a new ticket, not an addition.
    imap.deliver(mail("mallory@elsewhere.test", f"[{ticket['number']}] please add me", "x"))
    # Auto-replies and bounces never become tickets or messages.
    imap.deliver(mail("ann@customer.test", f"Out of office: [{ticket['number']}]", "Away", Auto_Submitted="auto-replied",
                      In_Reply_To=ours))
    imap.deliver(mail("MAILER-DAEMON@mx.customer.test", "Undelivered Mail Returned to Sender", "failed"))
    # The same message again (a second alias, a re-fetch): taken once.
    imap.deliver(mail("ann@customer.test", "Re: Printer jams", "Thanks!", Message_ID="<first@customer.test>"))
    outcomes = [(o["outcome"], o["ticket_id"]) for o in mail_imap.poll(rt, box)]
    assert outcomes[:2] == [("appended", ticket["id"]), ("appended", ticket["id"])]
    assert outcomes[2][0] == "created" and outcomes[2][1] != ticket["id"]
    assert [o for o, _ in outcomes[3:]] == ["ignored", "ignored", "duplicate"]
    after = _ticket(rt, ticket["id"])
    assert [(c["kind"], c["body"]) for c in after["comments"]] == [
        ("reply", "A new fuser is on its way."), ("customer", "Thanks!"), ("customer", "It jams on my floor too.")]
    assert after["awaiting_reply_since"] is not None  # the customer's message starts the next-response clock

    # Bob's answer to our next reply threads too (he is on the ticket now by References, not by number).
    log = mailboxes.log_of(rt, admin(), box["id"])
    assert {r["outcome"] for r in log} >= {"created", "appended", "ignored", "duplicate"}
    assert any("not on that ticket" in r["reason"] for r in log)


def test_replies_to_closed_tickets_reopen_them_or_open_a_follow_up(rt, imap) -> None:  # type: ignore[no-untyped-def]
    box = _imap_box(rt, imap, reopen_days=7)
    imap.deliver(mail("carl@customer.test", "VPN down", Message_ID="<vpn@customer.test>"))
    [made] = mail_imap.poll(rt, box)
    closed = next(s for s in service.list_statuses(rt, admin()) if s["type"] == "closed")
    service.update_ticket(rt, admin(), ME, made["ticket_id"], {"status_id": closed["id"]})
    imap.deliver(mail("carl@customer.test", "Re: VPN down", "Down again", In_Reply_To="<vpn@customer.test>"))
    [again] = mail_imap.poll(rt, box)
    assert again["outcome"] == "reopened" and _ticket(rt, made["ticket_id"])["status_type"] == "open"

    service.update_ticket(rt, admin(), ME, made["ticket_id"], {"status_id": closed["id"]})
    imap.deliver(mail("carl@customer.test", "Re: VPN down", "And again", In_Reply_To="<vpn@customer.test>"))
    [later] = mail_imap.poll(rt, box, now=time.time() + 8 * 86400)
    assert later["outcome"] == "created" and later["ticket_id"] != made["ticket_id"]
    follow_up = _ticket(rt, later["ticket_id"])
    assert follow_up["description"].startswith(f"Follow-up of {_ticket(rt, made['ticket_id'])['number']}")
    assert [(x["role"], x["id"]) for x in follow_up["links"]] == [("related", made["ticket_id"])]


def test_broken_mail_is_logged_and_never_stops_the_poller(rt, imap) -> None:  # type: ignore[no-untyped-def]
    box = _imap_box(rt, imap, processed="flag")
    imap.deliver(b"this is not an e-mail at all\r\n")
    imap.deliver(b"From: dora@customer.test\r\nSubject: =?bogus?q?x?=\r\nMessage-ID: <charset@customer.test>\r\n"
                 b"Content-Type: text/plain; charset=no-such-charset\r\n\r\nCaf\xe9\r\n")
    big = EmailMessage()
    big["From"], big["Subject"], big["Message-ID"] = "dora@customer.test", "Logs", "<big@customer.test>"
    big.set_content("Logs attached")
    big.add_attachment(b"x" * (21 * 1024 * 1024), maintype="application", subtype="octet-stream", filename="huge.log")
    imap.deliver(bytes(big))
    imap.deliver(b"From: dora@customer.test\r\nMessage-ID: <mime@customer.test>\r\n"
                 b"Content-Type: multipart/mixed; boundary=NEVER\r\n\r\nno parts here\r\n")
    outcomes = mail_imap.poll(rt, box)
    assert [o["outcome"] for o in outcomes] == ["rejected", "created", "created", "created"]
    assert "no sender" in outcomes[0]["reason"]
    assert "Caf" in _ticket(rt, outcomes[1]["ticket_id"])["description"]
    assert "huge.log" in _ticket(rt, outcomes[2]["ticket_id"])["description"]  # reported, not stored
    assert imap.count("INBOX", "UNSEEN") == 0  # flagged, including the rejected one: never fetched again


def test_a_wrong_password_is_shown_on_the_mailbox(rt, imap) -> None:  # type: ignore[no-untyped-def]
    box = _imap_box(rt, imap)
    mailboxes.update_mailbox(rt, admin(), ME, box["id"], {"password": "wrong-password"})
    with rt.db.read() as c:
        assert mail_imap.poll(rt, c.one(f"SELECT {mailboxes.COLUMNS} FROM mailboxes WHERE id = ?", (box["id"],))) == []
    assert "Authentication failed" in mailboxes.get_mailbox(rt, admin(), box["id"])["last_error"]
    mailboxes.update_mailbox(rt, admin(), ME, box["id"], {"password": imap.password})
    assert mailboxes.get_mailbox(rt, admin(), box["id"])["last_error"] == ""  # a new password clears it


def test_the_smtp_receiver_takes_mail_for_support_addresses_only(rt) -> None:  # type: ignore[no-untyped-def]
    mailboxes.create_mailbox(rt, admin(), ME, {"name": "Forward", "address": "help@msp.test", "kind": "smtp",
                                               "organization_id": 1})
    receiver = MailReceiver(rt).start()
    try:
        with smtplib.SMTP("127.0.0.1", rt.settings.mail_receiver_port, timeout=10) as client:
            client.sendmail("erin@customer.test", ["help@msp.test"],
                            mail("erin@customer.test", "Screen flickers").replace(b"support@", b"help@"))
            with pytest.raises(smtplib.SMTPRecipientsRefused):
                client.sendmail("erin@customer.test", ["someone@elsewhere.test"], mail("erin@customer.test", "Relay?"))
    finally:
        receiver.stop()
    rows, total = service.list_tickets(rt, admin(), view="all")
    assert total == 1 and rows[0]["subject"] == "Screen flickers" and rows[0]["source"] == "email"


def test_mailboxes_are_checked_tenant_scoped_and_never_show_the_password(rt, imap) -> None:  # type: ignore[no-untyped-def]
    from ninjait.core.errors import Conflict, Invalid, NotFound

    box = _imap_box(rt, imap)
    with pytest.raises(Conflict):  # one tenant per support address
        mailboxes.create_mailbox(rt, admin(2), ME, {"name": "Theirs", "address": "support@msp.test", "kind": "smtp",
                                                    "organization_id": 3})
    with pytest.raises(NotFound):
        mailboxes.get_mailbox(rt, admin(2), box["id"])
    with pytest.raises(Invalid) as caught:
        mailboxes.create_mailbox(rt, admin(), ME, {"name": "x", "address": "x@msp.test", "kind": "smtp",
                                                   "organization_id": 3})  # another tenant's organization
    assert caught.value.field == "organization_id"
    with pytest.raises(Invalid):
        mailboxes.set_domain(rt, admin(), ME, "not a domain", 1)
    listed = mailboxes.list_mailboxes(rt, admin())
    assert imap.password not in str(listed) and "secret" not in listed[0] and listed[0]["password_set"] is True


def test_templates_the_acknowledgement_and_the_tenants_own_mail_server(rt, imap, outbox) -> None:  # type: ignore[no-untyped-def]
    from ninjait.core.errors import Invalid
    from ninjait.tickets import mail_settings

    box = _imap_box(rt, imap)
    tech = _tech(rt)
    with pytest.raises(Invalid) as caught:
        mail_settings.save_template(rt, admin(), ME, "reply", "Re: {{ ticket.subject", "x")
    assert caught.value.field == "subject"
    with pytest.raises(Invalid):  # an unknown variable is an error, not an empty string
        mail_settings.save_template(rt, admin(), ME, "reply", "x", "{{ ticket.nope }}")
    assert mail_settings.template(rt, 1, "reply")["custom"] is False  # nothing saved
    mail_settings.save_template(rt, admin(), ME, "reply", "Update on your request",
                                "Hi {{ contact.name }},\n{{ reply.body }}\n{{ reply.author }}, {{ tenant.name }}")
    mail_settings.save_template(rt, admin(), ME, "created", "Got it: {{ ticket.subject }}",
                                "Ticket {{ ticket.number }} is open.", enabled=True)
    assert mail_settings.preview("{{ ticket.number }}", "{{ contact.name }}") == {"subject": "T-1042",
                                                                                    "body": "Ann Smith"}

    with Mailbox() as own_server:
        mail_settings.save_smtp(rt, admin(), ME, {"host": "127.0.0.1", "port": own_server.port, "security": "none",
                                                  "sender": "help@own-domain.test"})
        imap.deliver(mail("Nina <nina@customer.test>", "Monitor flickers"))
        [made] = mail_imap.poll(rt, box)
        ticket = _ticket(rt, made["ticket_id"])
        for outbox_id in mail_out.due(rt):
            mail_out.send(rt, outbox_id)
        ack = own_server.wait_for(lambda m: "nina@customer.test" in m["To"])
        assert ack["Subject"] == f"[{ticket['number']}] Got it: Monitor flickers"  # the number is always there
        assert ack["Auto-Submitted"] == "auto-replied" and "help@own-domain.test" in ack["From"]
        assert f"Ticket {ticket['number']} is open." in ack.get_body(("plain",)).get_content()

        service.add_comment(rt, admin(), tech, ticket["id"], "reply", "Please try another cable.")
        for outbox_id in mail_out.due(rt):
            mail_out.send(rt, outbox_id)
        reply = own_server.wait_for(lambda m: "Update on your request" in m["Subject"])
        assert reply["Subject"].startswith(f"[{ticket['number']}]")
        assert "Hi Nina,\nPlease try another cable.\nTess Tech, T" in reply.get_body(("plain",)).get_content().replace("\r\n", "\n")
        assert ack["Message-ID"] in reply["References"]  # one thread: the customer's mail, our acknowledgement, ...
    assert outbox.messages == []  # nothing went through the appliance's server
    mail_settings.save_smtp(rt, admin(), ME, {"host": ""})
    assert mail_settings.smtp_of(rt, admin())["host"] == ""


def test_review_cases_passwords_stay_forged_staff_odd_ccs_and_merged_threads(rt, imap, outbox) -> None:  # type: ignore[no-untyped-def]
    from ninjait.core.errors import Invalid
    from ninjait.tickets import links, mail_settings

    box = _imap_box(rt, imap)
    # The stored password never goes to another server without being entered again.
    with pytest.raises(Invalid) as caught:
        mailboxes.update_mailbox(rt, admin(), ME, box["id"], {"imap_host": "evil.example"})
    assert caught.value.field == "password"
    assert mailboxes.get_mailbox(rt, admin(), box["id"])["imap_host"] == "127.0.0.1"
    mail_settings.save_smtp(rt, admin(), ME, {"host": "127.0.0.1", "port": 2525, "sender": "a@own.test",
                                              "password": "x"})
    with pytest.raises(Invalid):
        mail_settings.save_smtp(rt, admin(), ME, {"host": "evil.example", "port": 2525, "sender": "a@own.test"})
    mail_settings.save_smtp(rt, admin(), ME, {"host": ""})

    # An odd Cc address does not cost the message its files.
    imap.deliver(mail("quinn@customer.test", "Scanner", "see file", Cc="it@intranet, ok@customer.test",
                      attachment=(b"data", "application/octet-stream", "scan.bin"), Message_ID="<odd@customer.test>"))
    [made] = mail_imap.poll(rt, box)
    ticket = _ticket(rt, made["ticket_id"])
    assert made["outcome"] == "created" and [a["file_name"] for a in ticket["attachments"]] == ["scan.bin"]
    assert [c["email"] for c in ticket["ccs"]] == ["ok@customer.test"]

    # A staff address may only add to tickets of organizations that user may change; its note is not in its name.
    other = service.create_ticket(rt, admin(), ME, {"subject": "Globex server", "organization_id": 2})
    rt.db.write(lambda c: c.execute(
        "INSERT INTO users (tenant_id, email, name, password_hash, created_at, updated_at) "
        "VALUES (1, 'nobody-roles@msp.test', 'No roles', 'x', 0, 0)"))
    imap.deliver(mail("nobody-roles@msp.test", f"[{other['number']}] injected"))
    [forged] = mail_imap.poll(rt, box)
    assert forged["outcome"] == "created" and forged["ticket_id"] != other["id"]

    # Merged: a customer's answer to the merged ticket's thread lands on the survivor.
    imap.deliver(mail("rae@customer.test", "Printer A", Message_ID="<ra@customer.test>"))
    imap.deliver(mail("rae@customer.test", "Printer A again", Message_ID="<rb@customer.test>"))
    first, second = (o["ticket_id"] for o in mail_imap.poll(rt, box))
    links.merge(rt, admin(), ME, second, first)
    imap.deliver(mail("rae@customer.test", "Re: Printer A again", "still", In_Reply_To="<rb@customer.test>"))
    [answer] = mail_imap.poll(rt, box)
    assert (answer["outcome"], answer["ticket_id"]) == ("appended", first)
