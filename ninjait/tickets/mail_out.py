"""Outbound ticket e-mail: a technician's public reply goes to the requester through the appliance's SMTP
settings, from the tenant's support address, threaded for the customer's mail client and for us:

* ``Subject: [T-1042] <subject>`` (the number lets replies find the ticket even when headers are lost);
* a ``Message-ID`` of ours, recorded on the ticket at once, so the customer's answer threads by
  ``In-Reply-To``/``References`` before the message has even left;
* ``In-Reply-To`` the ticket's latest message and ``References`` its earlier ones (up to 20);
* text and HTML bodies; ``Reply-To`` the support address.

Messages wait in ``ticket_mail_outbox``: sent by a task at once, retried with back-off (30 s doubling to an
hour, 6 attempts) by the minute sweeper, a permanent error (no SMTP server, refused recipients) stops at once.
The ticket page lists them with their state.
"""

from __future__ import annotations

import html
import json
import logging
import smtplib
import time
from email import message_from_string, policy
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Any

from ninjait.core import mail
from ninjait.core.events import Event
from ninjait.core.runtime import Runtime

log = logging.getLogger("ninjait.mail")
MAX_ATTEMPTS = 6
LEASE_SECONDS = 120


def _sender(c: Any, tenant_id: int, fallback: str) -> str:
    address = c.value("SELECT address FROM mailboxes WHERE tenant_id = ? AND enabled = 1 ORDER BY id LIMIT 1",
                      (tenant_id,))
    return str(address or fallback)


def compose(rt: Runtime, c: Any, tenant_id: int, ticket_id: int, comment: dict[str, Any]) -> EmailMessage | None:
    """The e-mail of a public reply, or None when the ticket's requester has no address."""
    ticket = c.one("SELECT t.number, t.subject, ct.email AS requester, ct.name AS requester_name, tn.name AS tenant "
                   "FROM tickets t JOIN tenants tn ON tn.id = t.tenant_id LEFT JOIN contacts ct ON ct.id = t.contact_id "
                   "WHERE t.tenant_id = ? AND t.id = ?", (tenant_id, ticket_id))
    if ticket is None or not ticket["requester"]:
        return None
    earlier = [r["message_id"] for r in c.all("SELECT message_id FROM ticket_messages WHERE tenant_id = ? AND "
                                              "ticket_id = ? ORDER BY id DESC LIMIT 20", (tenant_id, ticket_id))]
    sender = _sender(c, tenant_id, rt.settings.smtp_from)
    msg = EmailMessage()
    msg["From"] = formataddr((ticket["tenant"], sender))
    msg["Reply-To"] = sender
    msg["To"] = formataddr((ticket["requester_name"] or "", ticket["requester"]))
    msg["Subject"] = f"[{ticket['number']}] {ticket['subject']}"
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "localhost")
    if earlier:
        msg["In-Reply-To"] = earlier[0]
        msg["References"] = " ".join(reversed(earlier))
    url = f"{rt.settings.base_url}/tickets/{ticket_id}"
    msg.set_content(f"{comment['body']}\n\n-- \n{ticket['tenant']} · {ticket['number']}\n"
                    "Reply to this e-mail to add to the ticket.\n")
    msg.add_alternative(
        f"<div style=\"white-space:pre-wrap\">{html.escape(comment['body'])}</div><hr><p style=\"color:#667\">"
        f"{html.escape(ticket['tenant'])} · {html.escape(ticket['number'])}<br>Reply to this e-mail to add to the "
        f"ticket.</p>", subtype="html")
    msg["X-NinjaIT-Ticket"] = f"{ticket['number']} {url}"
    return msg


def enqueue_reply(rt: Runtime, tenant_id: int, ticket_id: int, comment_id: int) -> int | None:
    """Compose and queue the e-mail of a public reply; records its Message-ID on the ticket. Returns the outbox id."""
    def write(c: Any) -> int | None:
        comment = c.one("SELECT id, body, kind FROM ticket_comments WHERE tenant_id = ? AND id = ?",
                        (tenant_id, comment_id))
        if comment is None or comment["kind"] != "reply":
            return None
        msg = compose(rt, c, tenant_id, ticket_id, comment)
        if msg is None:
            return None
        now = int(time.time())
        c.execute("INSERT INTO ticket_messages (tenant_id, ticket_id, comment_id, message_id, direction, sender, "
                  "created_at) VALUES (?, ?, ?, ?, 'out', ?, ?)",
                  (tenant_id, ticket_id, comment_id, msg["Message-ID"], str(msg["Reply-To"]), now))
        return int(c.value(
            "INSERT INTO ticket_mail_outbox (tenant_id, ticket_id, comment_id, message, recipients, message_id, "
            "next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (tenant_id, ticket_id, comment_id, msg.as_string(), json.dumps([str(msg["To"])]), msg["Message-ID"],
             now, now)))

    return rt.db.write(write)


def send(rt: Runtime, outbox_id: int, now: float | None = None) -> dict[str, Any] | None:
    """One attempt, claimed first so two workers never send the same message twice."""
    at = int(time.time() if now is None else now)

    def claim(c: Any) -> dict[str, Any] | None:
        row = c.one("SELECT id, message, attempts FROM ticket_mail_outbox WHERE id = ? AND status = 'queued' "
                    "AND next_attempt_at <= ?", (outbox_id, at))
        if row is not None:
            c.execute("UPDATE ticket_mail_outbox SET next_attempt_at = ?, attempts = attempts + 1 WHERE id = ?",
                      (at + LEASE_SECONDS, outbox_id))
        return row

    row = rt.db.write(claim)
    if row is None:
        return None
    msg = message_from_string(row["message"], policy=policy.default)
    try:
        mail.deliver(rt.settings, msg)  # type: ignore[arg-type]
    except (mail.MailNotConfigured, smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused) as exc:
        return _outcome(rt, outbox_id, "failed", f"{type(exc).__name__}: {exc}", None, at)
    except (OSError, smtplib.SMTPException) as exc:
        attempts = row["attempts"] + 1
        if attempts >= MAX_ATTEMPTS:
            return _outcome(rt, outbox_id, "failed", f"gave up after {attempts} attempts: {exc}", None, at)
        return _outcome(rt, outbox_id, "queued", str(exc), at + min(3600, 30 * 2 ** (attempts - 1)), at)
    return _outcome(rt, outbox_id, "sent", "", None, at)


def _outcome(rt: Runtime, outbox_id: int, status: str, error: str, retry_at: int | None, at: int) -> dict[str, Any]:
    rt.db.write(lambda c: c.execute(
        "UPDATE ticket_mail_outbox SET status = ?, last_error = ?, next_attempt_at = ?, sent_at = ? WHERE id = ?",
        (status, error[:500], retry_at or at, at if status == "sent" else None, outbox_id)))
    if status != "sent":
        log.warning("ticket mail not sent", extra={"fields": {"outbox": outbox_id, "status": status, "error": error}})
    return {"id": outbox_id, "status": status, "error": error}


def due(rt: Runtime, now: float | None = None, limit: int = 200) -> list[int]:
    at = int(time.time() if now is None else now)
    with rt.db.read() as c:
        return [r["id"] for r in c.all("SELECT id FROM ticket_mail_outbox WHERE status = 'queued' AND "
                                       "next_attempt_at <= ? ORDER BY id LIMIT ?", (at, limit))]


def on_ticket_updated(rt: Runtime, event: Event) -> None:
    summary = event.data.get("summary") or {}
    actor = event.actor or {}
    if summary.get("comment_kind") != "reply" or actor.get("user_id") is None:
        return  # only a person's public reply goes out by e-mail
    outbox_id = enqueue_reply(rt, int(event.tenant_id or 0), int(event.data["object_id"]), int(summary["comment_id"]))
    if outbox_id is not None:
        from ninjait.tickets import tasks

        tasks.send_ticket_mail(outbox_id)


def subscribe(rt: Runtime) -> None:
    rt.bus.subscribe("ticket.updated", lambda e: on_ticket_updated(rt, e))
