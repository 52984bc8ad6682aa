"""Background work of identity."""

from __future__ import annotations

import logging

from ninjait.core import mail, runtime
from ninjait.core.queue import crontab, huey
from ninjait.identity import authn

log = logging.getLogger("ninjait.identity")


@huey.task(retries=5, retry_delay=30)
def send_password_reset(email: str, token: str) -> None:
    rt = runtime.current()
    link = f"{rt.settings.base_url}/reset-password?token={token}"
    mail.send(rt.settings, email, "Reset your NinjaIT password",
              "Someone (hopefully you) asked to reset the password of your NinjaIT account.\n\n"
              f"Open this link within {authn.RESET_MINUTES} minutes to choose a new password:\n\n{link}\n\n"
              "If you did not ask for this, ignore this message: your password stays as it is.\n")
    log.info("password reset mail sent", extra={"fields": {"to": email}})


@huey.periodic_task(crontab(minute="*/10"))
def purge_expired_sessions() -> None:
    authn.purge_expired(runtime.current())
