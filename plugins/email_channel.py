"""Built-in channel: e-mail (SMTP, the appliance's smtp_* settings), HTML and plain text."""

from __future__ import annotations

import html
from collections.abc import Mapping

from ninjait.integrations.plugins import Context, Field, Message, TransportError


class EmailChannel:
    kind = "email"
    label = "E-mail"
    fields = (Field("to", "Recipients", "emails", help="Comma-separated addresses"),)

    def notify(self, config: Mapping[str, str], message: Message, ctx: Context) -> int | None:
        recipients = [a.strip() for a in config.get("to", "").split(",") if a.strip()]
        if not recipients:
            raise TransportError("no recipients", permanent=True)
        text = f"{message.headline}\n\n{message.text}\n\nDevice: {message.device or '—'}\n" \
               f"Organization: {message.organization or '—'}\n\n{message.url}\n"
        colour = {"critical": "#d63939", "warning": "#f59f00"}.get(message.severity, "#4299e1")
        body = (f"<h2 style=\"color:{colour}\">{html.escape(message.headline)}</h2><p>{html.escape(message.text)}</p>"
                f"<p>Device: {html.escape(message.device or '—')}<br>Organization: "
                f"{html.escape(message.organization or '—')}</p><p><a href=\"{html.escape(message.url)}\">Open in "
                "NinjaIT</a></p>")
        try:
            ctx.send_mail(", ".join(recipients), message.headline, text, body)
        except Exception as exc:  # smtplib and socket errors: the server may come back
            raise TransportError(f"SMTP: {exc}", permanent=type(exc).__name__ == "MailNotConfigured") from None
        return None


def ninjait_channels() -> list[EmailChannel]:
    return [EmailChannel()]
