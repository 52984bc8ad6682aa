"""The built-in SMTP receiver: mail for the support addresses of mailboxes of kind ``smtp`` (an MSP points a
forward or its MX's relay here). Recipients that are not such an address are refused at RCPT (550), so the
receiver is never an open relay; each accepted message is taken by every matching mailbox (mail_ingest) before
the receiver answers 250, off the receiver's event loop."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from ninjait.core.runtime import Runtime
from ninjait.tickets import mail_ingest

log = logging.getLogger("ninjait.mail")
MAX_MESSAGE = 30 * 1024 * 1024


class _Handler:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def _mailbox(self, address: str) -> dict[str, Any] | None:
        from ninjait.tickets.mailboxes import COLUMNS

        with self.rt.db.read() as c:
            return c.one(f"SELECT {COLUMNS} FROM mailboxes WHERE address = ? AND kind = 'smtp' AND enabled = 1",
                         (address.lower(),))

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,  # noqa: N802
                          rcpt_options: list[str]) -> str:
        if await asyncio.to_thread(self._mailbox, address) is None:
            return "550 5.1.1 not a support address of this appliance"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        raw = envelope.original_content or b""
        try:
            for address in dict.fromkeys(a.lower() for a in envelope.rcpt_tos):
                mailbox = await asyncio.to_thread(self._mailbox, address)
                if mailbox is not None:
                    await asyncio.to_thread(mail_ingest.ingest, self.rt, mailbox, raw)
        except Exception:  # noqa: BLE001 - our trouble (e.g. the database): the sender retries, nothing leaks
            log.exception("SMTP receiver could not take a message")
            return "451 4.3.0 try again later"
        return "250 Message accepted"


class MailReceiver:
    """Started with the appliance when ``mail_receiver_port`` is set; ``stop()`` at shutdown."""

    def __init__(self, rt: Runtime) -> None:
        self.controller = Controller(_Handler(rt), hostname=rt.settings.mail_receiver_host,
                                     port=rt.settings.mail_receiver_port, data_size_limit=MAX_MESSAGE,
                                     server_hostname="ninjait", ready_timeout=10)

    def start(self) -> MailReceiver:
        self.controller.start()
        log.info("SMTP receiver listening", extra={"fields": {"host": self.controller.hostname,
                                                              "port": self.controller.port}})
        return self

    def stop(self) -> None:
        self.controller.stop()
