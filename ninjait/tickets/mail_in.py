"""Inbound e-mail as the service desk reads it: one message parsed with the standard ``email`` package into what
threading and ticket creation need. Pure: no database, no network.

* Bodies: the text/plain part, or text made from the HTML part; the HTML part sanitised (nh3) for display.
  The preview drops the quoted history ("On ... wrote:", "-----Original Message-----", lines starting with
  ">") so a reply shows what is new.
* Character sets: declared ones are decoded, unknown or wrong ones fall back to UTF-8 with replacement
  characters: a message is never refused for its charset.
* Attachments: name, type and bytes, each up to ``max_attachment``; larger ones are dropped and reported in
  ``dropped`` (the message itself is still taken).
* Automatic mail (``automatic`` says why): ``Auto-Submitted`` other than ``no``, ``Precedence`` bulk, junk,
  list or auto_reply, ``X-Autoreply``/``X-Autorespond``, delivery reports (``multipart/report``), and
  senders such as MAILER-DAEMON or an empty return path. Such mail never opens or updates a ticket, so two
  auto-responders cannot talk to each other through us.
"""

from __future__ import annotations

import email
import email.policy
import html
import re
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr, parsedate_to_datetime

import nh3

MAX_BODY = 200_000  # characters of text kept per message
MESSAGE_ID = re.compile(r"<[^<>\s]+>")
QUOTE_STARTS = (re.compile(r"^On .{1,200} wrote:\s*$"), re.compile(r"^-{2,}\s*Original Message\s*-{2,}", re.I),
                re.compile(r"^Am .{1,200} schrieb .{1,200}:\s*$"), re.compile(r"^From: .+$"),
                re.compile(r"^_{10,}$"))
DAEMONS = ("mailer-daemon", "postmaster", "noreply", "no-reply", "donotreply", "do-not-reply")
BULK = ("bulk", "junk", "list", "auto_reply")


class MailRejected(ValueError):
    """Not a message at all (no sender, no headers): logged with the reason, never a ticket."""


@dataclass
class Attachment:
    filename: str
    content_type: str
    data: bytes


@dataclass
class Inbound:
    message_id: str
    in_reply_to: list[str]
    references: list[str]
    subject: str
    sender: str
    sender_name: str
    to: list[str]
    cc: list[str]
    text: str
    html: str
    preview: str
    date: float | None = None
    automatic: str = ""
    attachments: list[Attachment] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)

    @property
    def thread_ids(self) -> list[str]:
        """Message-IDs this one answers, most direct first: In-Reply-To, then References right to left."""
        return list(dict.fromkeys([*self.in_reply_to, *reversed(self.references)]))


def _ids(value: str | None) -> list[str]:
    return MESSAGE_ID.findall(value or "")[:100]


def _addresses(msg: EmailMessage, name: str) -> list[str]:
    try:
        found = getaddresses([str(v) for v in msg.get_all(name, [])])
    except Exception:  # noqa: BLE001 - a malformed header is no address, not a crash
        return []
    return [a.lower() for _, a in found if "@" in a][:100]


def _header(msg: EmailMessage, name: str) -> str:
    try:
        return str(msg.get(name, "") or "").strip()
    except Exception:  # noqa: BLE001 - undecodable header bytes
        return ""


def _decoded(part: EmailMessage) -> str:
    payload = part.get_payload(decode=True) or b""
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, errors="replace")
    except LookupError:  # a charset Python does not know
        return payload.decode("utf-8", errors="replace")


def html_to_text(markup: str) -> str:
    without = re.sub(r"(?is)<(script|style|head)\b.*?</\1>", " ", markup)
    without = re.sub(r"(?i)<br\s*/?>|</p>|</div>|</li>|</tr>|</h\d>", "\n", without)
    text = html.unescape(re.sub(r"<[^>]+>", "", without))
    return re.sub(r"\n\s*\n\s*\n+", "\n\n", re.sub(r"[ \t]+", " ", text)).strip()


def trim_quoted(text: str) -> str:
    """What the sender wrote, without the history of the thread quoted below it."""
    kept: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if kept and any(p.match(stripped) for p in QUOTE_STARTS):
            break
        if stripped.startswith(">"):
            continue
        kept.append(line)
    return "\n".join(kept).strip() or text.strip()


def _automatic(msg: EmailMessage, sender: str) -> str:
    auto = _header(msg, "Auto-Submitted").lower()
    if auto and auto != "no":
        return f"Auto-Submitted: {auto}"
    precedence = _header(msg, "Precedence").lower()
    if precedence in BULK:
        return f"Precedence: {precedence}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Auto-Response"):
        if _header(msg, name):
            return name
    if msg.get_content_type() == "multipart/report":
        return "delivery report"
    if _header(msg, "Return-Path") == "<>":
        return "empty return path (a bounce)"
    if sender.partition("@")[0] in DAEMONS:
        return f"sent by {sender}"
    return ""


def parse(raw: bytes, max_attachment: int) -> Inbound:
    try:
        msg = email.message_from_bytes(raw, policy=email.policy.default)
    except Exception as exc:  # noqa: BLE001 - the email package is lenient; anything left is not mail
        raise MailRejected(f"not a message: {exc}") from None
    assert isinstance(msg, EmailMessage)
    sender_name, sender = parseaddr(_header(msg, "From"))
    sender = sender.lower()
    if "@" not in sender:
        raise MailRejected("no sender address")
    text_parts: list[str] = []
    html_parts: list[str] = []
    found = Inbound(message_id=(_ids(_header(msg, "Message-ID")) or [""])[0],
                    in_reply_to=_ids(_header(msg, "In-Reply-To")), references=_ids(_header(msg, "References")),
                    subject=re.sub(r"\s+", " ", _header(msg, "Subject"))[:500], sender=sender,
                    sender_name=sender_name[:200], to=_addresses(msg, "To"), cc=_addresses(msg, "Cc"),
                    text="", html="", preview="", automatic=_automatic(msg, sender))
    try:
        found.date = parsedate_to_datetime(_header(msg, "Date")).timestamp()
    except (TypeError, ValueError, IndexError):
        found.date = None
    for part in msg.walk():
        if part.is_multipart():
            continue
        disposition = part.get_content_disposition()
        kind = part.get_content_type()
        if disposition == "attachment" or (part.get_filename() and kind not in ("text/plain", "text/html")):
            _attach(found, part, max_attachment)
        elif kind == "text/plain":
            text_parts.append(_decoded(part))
        elif kind == "text/html":
            html_parts.append(_decoded(part))
        elif disposition == "inline" and not kind.startswith("text/"):
            _attach(found, part, max_attachment)
    markup = "\n".join(html_parts)
    found.html = nh3.clean(markup)[:MAX_BODY] if markup else ""
    found.text = ("\n".join(text_parts) if text_parts else html_to_text(markup))[:MAX_BODY].strip()
    found.preview = trim_quoted(found.text)
    return found


def _attach(found: Inbound, part: EmailMessage, max_attachment: int) -> None:
    name = re.sub(r"[\x00-\x1f/\\]", "_", part.get_filename() or "attachment")[:200]
    data = part.get_payload(decode=True) or b""
    if len(data) > max_attachment:
        found.dropped.append(f"{name} ({len(data)} bytes, over the limit of {max_attachment})")
        return
    found.attachments.append(Attachment(name, part.get_content_type(), data))
