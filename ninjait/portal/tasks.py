"""Background work of the portal: sign-in links by e-mail, and purging spent links and ended sessions."""

from __future__ import annotations

import logging
import time

from ninjait.core import mail, runtime
from ninjait.core.queue import crontab, huey
from ninjait.portal.accounts import LINK_SECONDS

log = logging.getLogger("ninjait.portal")


@huey.task(retries=5, retry_delay=30)
def send_sign_in_link(email: str, slug: str, token: str, title: str) -> None:
    rt = runtime.current()
    link = f"{rt.settings.base_url}/portal/{slug}/link/{token}"
    mail.send(rt.settings, email, f"Sign in to {title}",
              f"Open this link within {LINK_SECONDS // 60} minutes to sign in to the support portal of {title}:\n\n"
              f"{link}\n\nIf you did not ask for it, ignore this message.\n")
    log.info("portal sign-in link sent", extra={"fields": {"to": email}})


@huey.periodic_task(crontab(minute="*/10"))
def purge_portal_sessions() -> None:
    now = int(time.time())
    runtime.current().db.write(lambda c: (
        c.execute("DELETE FROM portal_sessions WHERE expires_at < ?", (now,)),
        c.execute("DELETE FROM portal_links WHERE expires_at < ?", (now - 86400,))))
