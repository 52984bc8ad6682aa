"""Fetching a mailbox over IMAP (imaplib, TLS or STARTTLS): every unseen message of its folder is taken
(mail_ingest), then moved to ``move_to`` (created when missing) or flagged as read, as the mailbox says. A
message that fails to parse is logged and still marked, so it is not fetched again and again. Errors of the
connection are stored on the mailbox (``last_error``) and shown on its page; the next poll tries again."""

from __future__ import annotations

import imaplib
import logging
import ssl
import time
from typing import Any

from ninjait.core.runtime import Runtime
from ninjait.tickets import mail_ingest, mailboxes

log = logging.getLogger("ninjait.mail")
TIMEOUT = 30
BATCH = 200  # messages per poll; the rest wait for the next one
LEASE_SECONDS = 15 * 60  # longer than a batch takes; a crashed fetch frees the mailbox after it


def _context(verify: bool) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if not verify:  # a mail server with a self-signed certificate on the MSP's own network, chosen per mailbox
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _connect(rt: Runtime, mailbox: dict[str, Any]) -> imaplib.IMAP4:
    context = _context(bool(mailbox["imap_verify"]))
    if mailbox["imap_security"] == "tls":
        client: imaplib.IMAP4 = imaplib.IMAP4_SSL(mailbox["imap_host"], mailbox["imap_port"], ssl_context=context,
                                                  timeout=TIMEOUT)
    else:
        client = imaplib.IMAP4(mailbox["imap_host"], mailbox["imap_port"], timeout=TIMEOUT)
        client.starttls(ssl_context=context)
    client.login(mailbox["imap_username"], mailboxes.password_of(rt, mailbox))
    return client


def _quoted(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def poll(rt: Runtime, mailbox: dict[str, Any], now: float | None = None) -> list[dict[str, Any]]:
    """Take the folder's unseen messages; returns their log rows. Connection errors go to ``last_error``. A
    mailbox another fetch holds (the minute task and "Fetch now" at once) is left alone: nothing is taken twice."""
    outcomes: list[dict[str, Any]] = []
    error = ""
    start = int(time.time() if now is None else now)
    claimed = rt.db.write(lambda c: c.one(
        "UPDATE mailboxes SET polling_until = ? WHERE id = ? AND (polling_until IS NULL OR polling_until < ?) "
        "RETURNING id", (start + LEASE_SECONDS, mailbox["id"], start)))
    if claimed is None:
        return outcomes
    try:
        client = _connect(rt, mailbox)
        try:
            status, _ = client.select(_quoted(mailbox["folder"]))
            if status != "OK":
                raise imaplib.IMAP4.error(f"no folder {mailbox['folder']!r}")
            _, found = client.uid("SEARCH", None, "UNSEEN")
            uids = (found[0] or b"").split()[:BATCH]
            if uids and mailbox["processed"] == "move":
                client.create(_quoted(mailbox["move_to"]))  # answers NO when it exists: fine
            for uid in uids:
                _, parts = client.uid("FETCH", uid, "(BODY.PEEK[])")
                raw = next((p[1] for p in parts if isinstance(p, tuple)), b"")
                outcomes.append(mail_ingest.ingest(rt, mailbox, raw, now))
                _mark(client, uid, mailbox)
        finally:
            try:
                client.logout()
            except (OSError, imaplib.IMAP4.error):
                pass
    except (OSError, imaplib.IMAP4.error, ssl.SSLError) as exc:
        error = f"{type(exc).__name__}: {exc}"[:500]
        log.warning("IMAP poll failed", extra={"fields": {"mailbox": mailbox["id"], "error": error}})
    at = int(time.time() if now is None else now)
    rt.db.write(lambda c: c.execute("UPDATE mailboxes SET last_polled_at = ?, last_error = ?, polling_until = NULL "
                                    "WHERE id = ?", (at, error, mailbox["id"])))
    return outcomes


def _mark(client: imaplib.IMAP4, uid: bytes, mailbox: dict[str, Any]) -> None:
    if mailbox["processed"] == "move":
        status, _ = client.uid("MOVE", uid, _quoted(mailbox["move_to"]))
        if status == "OK":
            return
        client.uid("COPY", uid, _quoted(mailbox["move_to"]))  # servers without MOVE (RFC 6851)
        client.uid("STORE", uid, "+FLAGS", "(\\Deleted \\Seen)")
        client.expunge()
        return
    client.uid("STORE", uid, "+FLAGS", "(\\Seen)")


def poll_due(rt: Runtime, now: float | None = None) -> int:
    """Every enabled IMAP mailbox whose poll interval has passed; returns how many were polled."""
    at = time.time() if now is None else now
    with rt.db.read() as c:
        due = c.all(f"SELECT {mailboxes.COLUMNS} FROM mailboxes WHERE kind = 'imap' AND enabled = 1 AND "
                    "(last_polled_at IS NULL OR last_polled_at + poll_seconds <= ?)", (int(at),))
    for mailbox in due:
        poll(rt, mailbox, now)
    return len(due)
