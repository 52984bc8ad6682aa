"""Outbound ticket e-mail: a technician's public reply goes to the requester (and, when the tenant turned it on,
tickets that came by e-mail or the portal are acknowledged) through the tenant's SMTP server or the appliance's,
from the tenant's address, with the tenant's template (mail_settings), threaded for the customer's mail client
and for us:

* the ticket number in the subject (the number lets replies find the ticket even when headers are lost);
* a ``Message-ID`` of ours, recorded on the ticket at once, so the customer's answer threads by
  ``In-Reply-To``/``References`` before the message has even left;
* ``In-Reply-To`` the ticket's latest message and ``References`` its earlier ones (up to 20);
* text and HTML bodies; ``Reply-To`` the support address; acknowledgements carry ``Auto-Submitted: auto-replied``.

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
from ninjait.tickets import mail_settings

log = logging.getLogger("ninjait.mail")
MAX_ATTEMPTS = 6
LEASE_SECONDS = 120


def _sender(c: Any, tenant_id: int, fallback: str) -> str:
    address = c.value("SELECT address FROM mailboxes WHERE tenant_id = ? AND enabled = 1 ORDER BY id LIMIT 1",
                      (tenant_id,))
    return str(address or fallback)


def compose(rt: Runtime, c: Any, tenant_id: int, ticket_id: int, kind: str,
            comment: dict[str, Any] | None = None) -> EmailMessage | None:
    """The e-mail of a public reply (``kind`` reply) or of a new ticket's acknowledgement (``created``), from the
    tenant's template; None when the requester has no address or the template is off."""
    chosen = mail_settings.template(rt, tenant_id, kind)
    if not chosen["enabled"]:
        return None
    ticket = c.one("SELECT t.number, t.subject, t.priority, s.name AS status, ct.email AS requester, "
                   "ct.name AS requester_name, tn.name AS tenant, tn.slug FROM tickets t "
                   "JOIN tenants tn ON tn.id = t.tenant_id JOIN ticket_statuses s ON s.id = t.status_id "
                   "LEFT JOIN contacts ct ON ct.id = t.contact_id WHERE t.tenant_id = ? AND t.id = ?",
                   (tenant_id, ticket_id))
    if ticket is None or not ticket["requester"]:
        return None
    author = c.value("SELECT name FROM users WHERE id = ?", (comment["author_id"],)) if comment else None
    base = rt.settings.base_url
    portal = c.value("SELECT 1 FROM portal_accounts a JOIN contacts ct ON ct.id = a.contact_id WHERE "
                     "a.tenant_id = ? AND ct.email = ? AND a.enabled = 1", (tenant_id, ticket["requester"]))
    subject, body = mail_settings.render(chosen["subject"], chosen["body"], {
        "ticket": {"number": ticket["number"], "subject": ticket["subject"], "status": ticket["status"],
                   "priority": ticket["priority"], "url": f"{base}/portal/{ticket['slug']}/tickets/{ticket_id}"},
        "contact": {"name": ticket["requester_name"] or "", "email": ticket["requester"]},
        "reply": {"body": comment["body"] if comment else "", "author": author or ticket["tenant"]},
        "tenant": {"name": ticket["tenant"]}, "portal_url": f"{base}/portal/{ticket['slug']}" if portal else ""})
    earlier = [r["message_id"] for r in c.all("SELECT message_id FROM ticket_messages WHERE tenant_id = ? AND "
                                              "ticket_id = ? ORDER BY id DESC LIMIT 20", (tenant_id, ticket_id))]
    _, own_sender = mail_settings.transport(rt, tenant_id)
    sender = own_sender or _sender(c, tenant_id, rt.settings.smtp_from)
    reply_to = _sender(c, tenant_id, sender)
    msg = EmailMessage()
    msg["From"] = formataddr((ticket["tenant"], sender))
    msg["Reply-To"] = reply_to
    msg["To"] = formataddr((ticket["requester_name"] or "", ticket["requester"]))
    ccs = [r["email"] for r in c.all("SELECT email FROM ticket_ccs WHERE tenant_id = ? AND ticket_id = ? "
                                     "ORDER BY email", (tenant_id, ticket_id)) if r["email"] != ticket["requester"]]
    if ccs and kind == "reply":  # an acknowledgement goes to the sender only
        msg["Cc"] = ", ".join(ccs)
    msg["Subject"] = subject
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "localhost")
    if earlier:
        msg["In-Reply-To"] = earlier[0]
        msg["References"] = " ".join(reversed(earlier))
    if kind == "created":
        msg["Auto-Submitted"] = "auto-replied"  # RFC 3834: other responders must not answer it
    msg.set_content(body)
    msg.add_alternative(f"<div style=\"white-space:pre-wrap\">{html.escape(body)}</div>", subtype="html")
    msg["X-NinjaIT-Ticket"] = ticket["number"]
    return msg


def enqueue(rt: Runtime, tenant_id: int, ticket_id: int, kind: str, comment_id: int | None = None) -> int | None:
    """Compose and queue a ticket e-mail; records its Message-ID on the ticket. Returns the outbox id."""
    def write(c: Any) -> int | None:
        comment = None
        if comment_id is not None:
            comment = c.one("SELECT id, body, kind, author_id FROM ticket_comments WHERE tenant_id = ? AND id = ?",
                            (tenant_id, comment_id))
            if comment is None or comment["kind"] != "reply":
                return None
        msg = compose(rt, c, tenant_id, ticket_id, kind, comment)
        if msg is None:
            return None
        now = int(time.time())
        c.execute("INSERT INTO ticket_messages (tenant_id, ticket_id, comment_id, message_id, direction, sender, "
                  "created_at) VALUES (?, ?, ?, ?, 'out', ?, ?)",
                  (tenant_id, ticket_id, comment_id, msg["Message-ID"], str(msg["Reply-To"]), now))
        return int(c.value(
            "INSERT INTO ticket_mail_outbox (tenant_id, ticket_id, comment_id, message, recipients, message_id, "
            "next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (tenant_id, ticket_id, comment_id, msg.as_string(),
             json.dumps([str(msg["To"]), *(a.strip() for a in str(msg["Cc"] or "").split(",") if a.strip())]),
             msg["Message-ID"], now, now)))

    return rt.db.write(write)


def send(rt: Runtime, outbox_id: int, now: float | None = None) -> dict[str, Any] | None:
    """One attempt, claimed first so two workers never send the same message twice."""
    at = int(time.time() if now is None else now)

    def claim(c: Any) -> dict[str, Any] | None:
        row = c.one("SELECT id, tenant_id, message, attempts FROM ticket_mail_outbox WHERE id = ? AND status = 'queued' "
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
        mail.deliver(mail_settings.transport(rt, row["tenant_id"])[0], msg)  # type: ignore[arg-type]
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


def _send_soon(outbox_id: int | None) -> None:
    if outbox_id is not None:
        from ninjait.tickets import tasks

        tasks.send_ticket_mail(outbox_id)


def on_ticket_updated(rt: Runtime, event: Event) -> None:
    summary = event.data.get("summary") or {}
    actor = event.actor or {}
    if summary.get("comment_kind") != "reply" or actor.get("user_id") is None:
        return  # only a person's public reply goes out by e-mail
    _send_soon(enqueue(rt, int(event.tenant_id or 0), int(event.data["object_id"]), "reply",
                       int(summary["comment_id"])))


def on_ticket_created(rt: Runtime, event: Event) -> None:
    """Tickets that came by e-mail or through the portal are acknowledged, when the tenant turned that on."""
    if (event.data.get("summary") or {}).get("source") in ("email", "portal"):
        _send_soon(enqueue(rt, int(event.tenant_id or 0), int(event.data["object_id"]), "created"))


def subscribe(rt: Runtime) -> None:
    rt.bus.subscribe("ticket.updated", lambda e: on_ticket_updated(rt, e))
    rt.bus.subscribe("ticket.created", lambda e: on_ticket_created(rt, e))
