"""Inbound e-mail parsing and the threading rules, on messages built like real clients send them, malformed
ones included."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ninjait.tickets import mail_in, mail_threading

LIMIT = 1024


def message(**headers: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = headers.pop("From", "Ann Smith <Ann@Customer.test>")
    msg["To"] = headers.pop("To", "help@msp.test")
    msg["Subject"] = headers.pop("Subject", "Printer jams")
    msg["Message-ID"] = headers.pop("Message_ID", "<m1@customer.test>")
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    return msg


def test_a_reply_with_html_quoted_history_and_an_attachment() -> None:
    msg = message(In_Reply_To="<out-7@msp.test>", References="<m0@customer.test> <out-7@msp.test>",
                  Cc="Bob <bob@customer.test>")
    msg.set_content("It happened again.\n\nOn Tue, 24 Nov 2026 Tech wrote:\n> Try turning it off\n")
    msg.add_alternative("<p onclick='x()'>It happened <b>again</b>.</p><script>alert(1)</script>", subtype="html")
    msg.add_attachment(b"\x89PNG...", maintype="image", subtype="png", filename="jam.png")
    msg.add_attachment(b"x" * (LIMIT + 1), maintype="application", subtype="pdf", filename="manual.pdf")
    found = mail_in.parse(bytes(msg), LIMIT)
    assert found.sender == "ann@customer.test" and found.sender_name == "Ann Smith"
    assert found.cc == ["bob@customer.test"] and found.message_id == "<m1@customer.test>"
    assert found.thread_ids == ["<out-7@msp.test>", "<m0@customer.test>"]
    assert found.preview == "It happened again." and "Try turning it off" in found.text
    assert "<script>" not in found.html and "onclick" not in found.html and "<b>again</b>" in found.html
    assert [(a.filename, a.content_type) for a in found.attachments] == [("jam.png", "image/png")]
    assert found.dropped and "manual.pdf" in found.dropped[0]
    assert found.automatic == ""


def test_html_only_mail_becomes_text() -> None:
    msg = message()
    msg.set_content("<html><body><p>Line one</p><p>Line &amp; two</p><style>p{}</style></body></html>",
                    subtype="html")
    found = mail_in.parse(bytes(msg), LIMIT)
    assert found.text == "Line one\nLine & two"


@pytest.mark.parametrize(("headers", "why"), [
    ({"Auto_Submitted": "auto-replied"}, "Auto-Submitted"),
    ({"Precedence": "bulk"}, "Precedence"),
    ({"X_Autoreply": "yes"}, "X-Autoreply"),
    ({"From": "MAILER-DAEMON@mx.customer.test"}, "mailer-daemon"),
    ({"Return_Path": "<>"}, "bounce"),
])
def test_automatic_mail_is_recognised(headers: dict[str, str], why: str) -> None:
    msg = message(**headers)
    msg.set_content("I am out of the office.")
    assert why.lower() in mail_in.parse(bytes(msg), LIMIT).automatic.lower()


def test_a_delivery_report_is_automatic() -> None:
    raw = (b"From: postmaster@mx.test\r\nTo: help@msp.test\r\nSubject: Undelivered\r\nMessage-ID: <b@mx.test>\r\n"
           b"Content-Type: multipart/report; report-type=delivery-status; boundary=XX\r\n\r\n--XX\r\n"
           b"Content-Type: text/plain\r\n\r\nfailed\r\n--XX--\r\n")
    assert mail_in.parse(raw, LIMIT).automatic


def test_bad_charsets_and_broken_mime_are_read_not_refused() -> None:
    raw = (b"From: a@b.test\r\nSubject: =?x-unknown?q?hello?=\r\nMessage-ID: <c@b.test>\r\n"
           b"Content-Type: text/plain; charset=x-no-such-charset\r\n\r\nCaf\xe9 cr\xe8me\r\n")
    found = mail_in.parse(raw, LIMIT)
    assert "Caf" in found.text and found.sender == "a@b.test"
    broken = (b"From: a@b.test\r\nMessage-ID: <d@b.test>\r\nContent-Type: multipart/mixed; boundary=NOPE\r\n\r\n"
              b"no boundary ever comes\r\n")
    assert mail_in.parse(broken, LIMIT).sender == "a@b.test"
    with pytest.raises(mail_in.MailRejected):
        mail_in.parse(b"just some bytes without headers", LIMIT)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_any_bytes_parse_or_are_rejected_with_a_reason(raw: bytes) -> None:
    try:
        mail_in.parse(b"From: x@y.test\r\n" + raw, LIMIT)
    except mail_in.MailRejected:
        pass


def _decide(msg: mail_in.Inbound, **overrides: Any) -> mail_threading.Decision:
    tickets = {"T-1042": {"id": 42, "requester": "ann@customer.test", "ccs": {"bob@customer.test"}}}
    ours = {"<out-7@msp.test>": 42}
    args: dict[str, Any] = dict(own_addresses={"help@msp.test"}, over_rate=False, seen=lambda m: m == "<dup@x>",
                                ticket_of_message=ours.get, prefix="T-", ticket_by_number=tickets.get,
                                participants=lambda t: {t["requester"], *t["ccs"]},
                                is_staff=lambda a, t: a.endswith("@msp.test"))
    return mail_threading.decide(msg, **{**args, **overrides})


def _inbound(**headers: str) -> mail_in.Inbound:
    msg = message(**headers)
    msg.set_content("text")
    return mail_in.parse(bytes(msg), LIMIT)


def test_threading_rules_in_order() -> None:
    assert _decide(_inbound(Auto_Submitted="auto-replied", In_Reply_To="<out-7@msp.test>")).action == "ignore"
    assert _decide(_inbound(From="help@msp.test")).action == "ignore"
    assert _decide(_inbound(), over_rate=True).action == "ignore"
    assert _decide(_inbound(Message_ID="<dup@x>")).action == "duplicate"
    # Reply-all from a CC quotes our Message-ID: same ticket.
    d = _decide(_inbound(From="bob@customer.test", References="<other@x> <out-7@msp.test> <older@x>"))
    assert (d.action, d.ticket_id) == ("append", 42)
    # A ticket number from the requester, a CC or staff threads; from a stranger it opens a new ticket.
    for sender in ("ann@customer.test", "bob@customer.test", "tech@msp.test"):
        assert _decide(_inbound(From=sender, Subject="Re: [T-1042] Printer")).ticket_id == 42
    forged = _decide(_inbound(From="mallory@evil.test", Subject="Re: [T-1042] Printer"))
    assert forged.action == "new" and "not on that ticket" in forged.reason
    assert _decide(_inbound(Subject="T-9999 does not exist")).action == "new"
    assert _decide(_inbound(Subject="Hello")).action == "new"


def test_ticket_numbers_follow_the_tenant_prefix() -> None:
    assert mail_threading.numbers_in("Re: [SR#77] x and SR#78", "SR#") == ["SR#77", "SR#78"]
    assert mail_threading.numbers_in("Re: T-1 x", "SR#") == []
