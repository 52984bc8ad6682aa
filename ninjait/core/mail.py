"""Outgoing e-mail over SMTP, as the settings say."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import make_msgid

from ninjait.settings import Settings


class MailNotConfigured(Exception):
    pass


def send(settings: Settings, to: str, subject: str, body: str, html: str = "") -> str:
    """Send a plain-text message (with an HTML alternative when given); returns its Message-ID. Raises on
    failure (the task retries)."""
    if not settings.smtp_host:
        raise MailNotConfigured("e-mail is not configured (setting smtp_host)")
    msg = EmailMessage()
    msg["From"] = settings.smtp_from
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = make_msgid(domain=settings.smtp_from.rpartition("@")[2] or "localhost")
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(body)
    if html:
        msg.add_alternative(html, subtype="html")
    deliver(settings, msg)
    return msg["Message-ID"]


def deliver(settings: Settings, msg: EmailMessage) -> None:
    """Hand a complete message to the SMTP server. Raises on failure (MailNotConfigured without a server)."""
    if not settings.smtp_host:
        raise MailNotConfigured("e-mail is not configured (setting smtp_host)")
    context = ssl.create_default_context()
    if settings.smtp_security == "tls":
        client: smtplib.SMTP = smtplib.SMTP_SSL(settings.smtp_host, settings.smtp_port, timeout=30, context=context)
    else:
        client = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30)
    with client:
        if settings.smtp_security == "starttls":
            client.starttls(context=context)
        if settings.smtp_username:
            client.login(settings.smtp_username, settings.smtp_password)
        client.send_message(msg)
