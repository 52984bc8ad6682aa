"""One inbound e-mail into the service desk: parsed (mail_in), placed by the threading rules (mail_threading),
then a new ticket, a message added to a ticket (reopening it if it was closed recently), or nothing, with the
outcome written to the mailbox's log. Called by the IMAP poller and the SMTP receiver for each message; it never
raises for a bad message (the reason is logged), so one broken mail never stops the others.

Who the sender is: a contact of the tenant with that address (their main organization, or the replied-to
ticket's); else the organization their domain is mapped to; else the mailbox's organization for unknown
senders. With ``create_contacts`` an unknown sender becomes a contact of that organization. Staff writing to the
support address add internal notes (to answer the customer, reply on the ticket).
"""

from __future__ import annotations

import io
import logging
import time
from typing import Any

from ninjait.core.errors import ServiceError
from ninjait.core.runtime import Runtime
from ninjait.identity import authn
from ninjait.identity.principal import Actor
from ninjait.tickets import attachments, ccs, links, mail_in, mail_threading, service, store
from ninjait.tickets.contacts import EMAIL

log = logging.getLogger("ninjait.mail")
RATE_LIMIT = 30  # messages per sender and hour; more is a loop or a flood
DONE_TYPES = service.DONE_TYPES


def _log(rt: Runtime, mailbox: dict[str, Any], msg: mail_in.Inbound | None, outcome: str, reason: str,
         ticket_id: int | None = None, now: float | None = None) -> dict[str, Any]:
    at = int(time.time() if now is None else now)
    row = {"message_id": msg.message_id[:500] if msg else "", "sender": msg.sender[:254] if msg else "",
           "subject": msg.subject[:300] if msg else "", "outcome": outcome, "ticket_id": ticket_id,
           "reason": reason[:500]}
    row["at"] = at
    row["id"] = rt.db.write(lambda c: c.value(
        "INSERT INTO mail_log (tenant_id, mailbox_id, message_id, sender, subject, outcome, ticket_id, reason, at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id", (mailbox["tenant_id"], mailbox["id"], row["message_id"],
                                                          row["sender"], row["subject"], outcome, ticket_id,
                                                          row["reason"], at)))
    log.info("inbound mail", extra={"fields": {"mailbox": mailbox["id"], **row}})
    return row


def _own_addresses(c: Any, rt: Runtime) -> set[str]:
    """Every support address on this appliance and its sender: mail from them is a loop."""
    return {r["address"] for r in c.all("SELECT address FROM mailboxes")} | {rt.settings.smtp_from.lower()}


def _decide(rt: Runtime, mailbox: dict[str, Any], msg: mail_in.Inbound, now: float) -> mail_threading.Decision:
    tenant_id = mailbox["tenant_id"]
    with rt.db.read() as c:
        own = _own_addresses(c, rt)
        recent = int(c.value("SELECT count(*) FROM mail_log WHERE tenant_id = ? AND sender = ? AND at > ?",
                             (tenant_id, msg.sender, int(now) - 3600)) or 0)
        prefix = c.value("SELECT prefix FROM ticket_numbering WHERE tenant_id = ?", (tenant_id,)) or "T-"

        def ticket_of_message(message_id: str) -> int | None:
            return c.value("SELECT ticket_id FROM ticket_messages WHERE tenant_id = ? AND message_id = ?",
                           (tenant_id, message_id))

        def ticket_by_number(number: str) -> dict[str, Any] | None:
            return c.one("SELECT id, organization_id FROM tickets WHERE tenant_id = ? AND number = ?",
                         (tenant_id, number))

        def is_staff(address: str, ticket: dict[str, Any]) -> bool:
            user = store.staff_user(c, tenant_id, address)
            return user is not None and authn.principal_for_user(c, user).can("tickets.write",
                                                                               ticket["organization_id"])

        return mail_threading.decide(
            msg, own_addresses=own, over_rate=recent >= RATE_LIMIT, seen=lambda m: ticket_of_message(m) is not None,
            ticket_of_message=ticket_of_message, prefix=prefix, ticket_by_number=ticket_by_number,
            participants=lambda t: store.participants(c, tenant_id, t["id"]),
            is_staff=is_staff)


def ingest(rt: Runtime, mailbox: dict[str, Any], raw: bytes, now: float | None = None) -> dict[str, Any]:
    """Take one message for this mailbox; returns its log row (outcome, reason, ticket_id)."""
    at = time.time() if now is None else now
    try:
        msg = mail_in.parse(raw, rt.settings.attachment_max_mib * 1024 * 1024)
    except mail_in.MailRejected as exc:
        return _log(rt, mailbox, None, "rejected", str(exc), now=at)
    try:
        decision = _decide(rt, mailbox, msg, at)
        if decision.action in ("ignore", "duplicate"):
            return _log(rt, mailbox, msg, "ignored" if decision.action == "ignore" else "duplicate", decision.reason,
                        now=at)
        if decision.action == "append" and decision.ticket_id is not None:
            return _append(rt, mailbox, msg, decision, at)
        return _open(rt, mailbox, msg, decision.reason, at)
    except Exception as exc:  # noqa: BLE001 - logged with the message; the poller goes on with the next one
        log.exception("inbound mail failed", extra={"fields": {"mailbox": mailbox["id"], "sender": msg.sender}})
        return _log(rt, mailbox, msg, "failed", f"{type(exc).__name__}: {exc}", now=at)


def _requester(rt: Runtime, mailbox: dict[str, Any], msg: mail_in.Inbound, organization_id: int | None
               ) -> tuple[int, int | None]:
    """(organization, contact) for a new ticket from this sender."""
    tenant_id = mailbox["tenant_id"]
    with rt.db.read() as c:
        contact = store.contact_by_email(c, tenant_id, msg.sender)
        domain_org = c.value("SELECT organization_id FROM mail_domains WHERE tenant_id = ? AND domain = ?",
                             (tenant_id, msg.sender.rpartition("@")[2]))
    if contact is not None:
        chosen = organization_id if organization_id in contact["organization_ids"] else contact["organization_id"]
        return chosen, contact["id"]
    org = organization_id or domain_org or mailbox["organization_id"]
    if not mailbox["create_contacts"]:
        return org, None

    def write(c: Any) -> int:
        contact_id = store.insert_contact(c, tenant_id, org, {"name": msg.sender_name or msg.sender, "email": msg.sender,
                                                              "phone": "", "title": ""}, int(time.time()))
        store.set_contact_organizations(c, tenant_id, contact_id, [org])
        return contact_id

    return org, rt.db.write(write)


def _attach(rt: Runtime, p: Any, actor: Actor, ticket_id: int, comment_id: int | None,
            msg: mail_in.Inbound) -> None:
    """The message's files on the ticket (or on its comment), each through the attachment store's own checks."""
    for item in msg.attachments:
        if not item.data:
            continue
        try:
            attachments.upload(rt, p, actor, ticket_id, io.BytesIO(item.data), item.filename, item.content_type,
                               comment_id=comment_id)
        except ServiceError as exc:
            log.warning("inbound attachment not stored", extra={"fields": {"ticket": ticket_id,
                                                                          "file": item.filename, "why": exc.message}})


def _record(rt: Runtime, tenant_id: int, ticket_id: int, comment_id: int | None, msg: mail_in.Inbound) -> None:
    if msg.message_id:
        rt.db.write(lambda c: c.execute(
            "INSERT INTO ticket_messages (tenant_id, ticket_id, comment_id, message_id, direction, sender, created_at) "
            "VALUES (?, ?, ?, ?, 'in', ?, ?) ON CONFLICT (tenant_id, message_id) DO NOTHING",
            (tenant_id, ticket_id, comment_id, msg.message_id[:500], msg.sender, int(time.time()))))


def _open(rt: Runtime, mailbox: dict[str, Any], msg: mail_in.Inbound, reason: str, at: float,
          follow_up_of: dict[str, Any] | None = None) -> dict[str, Any]:
    tenant_id = mailbox["tenant_id"]
    org, contact_id = _requester(rt, mailbox, msg, follow_up_of["organization_id"] if follow_up_of else None)
    description = msg.text or "(no text)"
    if follow_up_of:
        description = f"Follow-up of {follow_up_of['number']}.\n\n{description}"
    if msg.dropped:
        description += "\n\nAttachments not taken (too large): " + "; ".join(msg.dropped)
    system, actor = service.system_principal(tenant_id), Actor(user_id=None, email=msg.sender)
    ticket = service.create_ticket(rt, system, actor, {
        "subject": msg.subject or "(no subject)", "description": description[:service.MAX_TEXT],
        "organization_id": org, "contact_id": contact_id}, source="email", now=at)
    _record(rt, tenant_id, ticket["id"], None, msg)
    _attach(rt, system, actor, ticket["id"], None, msg)
    with rt.db.read() as c:
        own = _own_addresses(c, rt)
    copied = [a for a in dict.fromkeys(msg.cc + msg.to) if a not in own and a != msg.sender
              and EMAIL.match(a)][:ccs.MAX_CCS]
    if copied:  # everyone the customer wrote to besides us is on the ticket: their reply-all threads here
        try:
            ccs.set_ccs(rt, system, actor, ticket["id"], copied, [])
        except ServiceError as exc:  # optional: the ticket and its files are in already
            log.warning("inbound CCs not stored", extra={"fields": {"ticket": ticket["id"], "why": exc.message}})
    return _log(rt, mailbox, msg, "created", reason, ticket["id"], now=at)


def _append(rt: Runtime, mailbox: dict[str, Any], msg: mail_in.Inbound, decision: mail_threading.Decision,
            at: float) -> dict[str, Any]:
    tenant_id = mailbox["tenant_id"]
    p = service.system_principal(tenant_id)
    ticket = service.get_ticket(rt, p, int(decision.ticket_id or 0))
    outcome = "appended"
    if ticket["status_type"] in DONE_TYPES:
        done_at = ticket["closed_at"] or ticket["resolved_at"] or at
        if at - done_at > mailbox["reopen_days"] * 86400:
            made = _open(rt, mailbox, msg, f"{ticket['number']} was closed more than {mailbox['reopen_days']} days "
                                           "ago: a new ticket", at, follow_up_of=ticket)
            if made["ticket_id"] is not None:
                links.link(rt, p, Actor(user_id=None, email=msg.sender), made["ticket_id"], ticket["id"], "related")
                number = service.get_ticket(rt, p, made["ticket_id"])["number"]
                service.add_comment(rt, p, Actor(user_id=None, email=msg.sender), ticket["id"], "note",
                                    f"A later message opened the follow-up ticket {number}.", now=at)
            return made
        with rt.db.read() as c:
            reopen = store.first_status_of_type(c, tenant_id, "open") or store.first_status_of_type(c, tenant_id, "new")
        if reopen is not None:
            service.update_ticket(rt, p, Actor(user_id=None, email=msg.sender), ticket["id"],
                                  {"status_id": reopen["id"]}, now=at)
            outcome = "reopened"
    with rt.db.read() as c:
        staff = store.staff_user(c, tenant_id, msg.sender)
    text = msg.preview or msg.text or "(no text)"
    if msg.dropped:
        text += "\n\nAttachments not taken (too large): " + "; ".join(msg.dropped)
    # From: is not authenticated: a message in a staff user's name is kept as written by that address, not by
    # the user's account (no mention notifications in their name, nothing counts as their response).
    author = Actor(user_id=None, email=msg.sender)
    # Staff e-mail becomes an internal note: nothing is sent to the customer that a technician did not send.
    comment = service.add_comment(rt, p, author, ticket["id"], "note" if staff else "customer",
                                  text[:service.MAX_TEXT], now=at)
    _record(rt, tenant_id, ticket["id"], comment["id"], msg)
    _attach(rt, p, author, ticket["id"], comment["id"], msg)
    return _log(rt, mailbox, msg, outcome, decision.reason, ticket["id"], now=at)
