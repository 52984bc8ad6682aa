"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, for tests of outgoing mail.

    with Mailbox() as mailbox:
        app = Appliance(..., env=mailbox.settings_env())
        ...
        message = mailbox.wait_for(lambda m: m["To"] == "someone@example.test")
"""

from __future__ import annotations

import email
import email.policy
import threading
import time
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from tests.support.net import free_port


class Mailbox:
    """Every message delivered to the server, parsed, in arrival order."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.port = free_port()
        self._arrived = threading.Condition()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    # aiosmtpd calls this on its own event-loop thread for each message.
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        with self._arrived:
            self.messages.append(message)
            self._arrived.notify_all()
        return "250 Message accepted for delivery"

    def settings_env(self) -> dict[str, str]:
        """The appliance settings that send its mail here, in plain SMTP."""
        return {"NINJAIT_SMTP_HOST": "127.0.0.1", "NINJAIT_SMTP_PORT": str(self.port),
                "NINJAIT_SMTP_SECURITY": "none"}

    def wait_for(self, match: Callable[[EmailMessage], bool], timeout: float = 30) -> EmailMessage:
        """The first message `match` accepts, waiting up to `timeout` seconds for it."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while True:
                for message in self.messages:
                    if match(message):
                        return message
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no matching message within {timeout}s; received: "
                                       f"{[(m['To'], m['Subject']) for m in self.messages]}")
                self._arrived.wait(left)

    def to(self, address: str) -> list[EmailMessage]:
        with self._arrived:
            return [m for m in self.messages if address in m["X-Envelope-To"]]

    def start(self) -> Mailbox:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> Mailbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
