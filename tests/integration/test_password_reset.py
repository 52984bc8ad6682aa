"""Password reset by e-mail: the real appliance mails the link through a real SMTP server on loopback.

The mail goes out from the appliance's own task consumer (in the `serve` process), over plain SMTP
to tests/support/smtp.py. Every reset request from one address counts towards the `reset_ip`
throttle (five an hour for free): this module makes exactly five.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from email.message import EmailMessage

import pytest

from ninjait.core.db import open_database
from ninjait.settings import Settings
from tests.support.appliance import Appliance
from tests.support.identity import Browser, Person, World, start_world
from tests.support.smtp import Mailbox

NEW_PASSWORD = "marble otter juggling 19 pinecones"
SAME_ANSWER = "if that address has an account, a reset link is on its way"
USED_OR_EXPIRED = "this reset link is invalid, used or expired; ask for a new one"


@pytest.fixture(scope="module")
def reset_app(tmp_path_factory: pytest.TempPathFactory,
              request: pytest.FixtureRequest) -> Iterator[tuple[Appliance, World, Mailbox]]:
    from tests.conftest import BACKEND

    database_url = request.getfixturevalue("pg_server").new_database() if BACKEND == "postgresql" else ""
    with Mailbox() as mailbox:
        app, world = start_world(tmp_path_factory.mktemp("reset") / "data", database_url, mailbox.settings_env())
        yield app, world, mailbox
        app.stop()


def mail_to(mailbox: Mailbox, person: Person, after: int = 0) -> EmailMessage:
    """The next reset mail to this person (the first one after the `after` they already had)."""
    message = mailbox.wait_for(lambda m: m["Subject"] == "Reset your NinjaIT password"
                               and m["To"] == person.email and m not in mailbox.to(person.email)[:after])
    assert message["X-Envelope-To"] == person.email
    return message


def reset_token(app: Appliance, message: EmailMessage) -> str:
    body = message.get_content().replace("\r\n", "\n")  # as sent over SMTP: CRLF line ends
    found = re.search(r"^(https://\S+)/reset-password\?token=([A-Za-z0-9_-]{40,})$", body, re.MULTILINE)
    assert found, body
    assert found.group(1) == f"https://localhost:{app.port}"  # the appliance's own address, as mailed
    assert "within 30 minutes" in body
    return found.group(2)


def test_it_mails_a_link_that_sets_a_new_password_once(reset_app: tuple[Appliance, World, Mailbox]) -> None:
    app, world, mailbox = reset_app
    person = world.people["b-readonly"]
    signed_in = Browser(app).login(person)
    assert signed_in.get("/api/v1/me").status_code == 200

    with app.client() as anonymous:
        asked = anonymous.post("/forgot-password", data={"email": f"  {person.email.upper()} "})
        assert asked.status_code == 200 and 'data-testid="reset-sent"' in asked.text
        message = mail_to(mailbox, person)
        assert message["From"] == "ninjait@localhost" and message["Auto-Submitted"] == "auto-generated"
        token = reset_token(app, message)

        form = anonymous.get(f"/reset-password?token={token}")
        assert form.status_code == 200 and f'name="token" value="{token}"' in form.text
        # Weak passwords are refused with the reason, and the link stays usable.
        for weak, reason in [("short one", "password must be at least 12 characters"),
                             ("password1234", "this password is on a list of common passwords; choose another"),
                             ("readonly readonly", "password is too weak")]:
            refused = anonymous.post("/reset-password", data={"token": token, "password": weak})
            assert refused.status_code == 400 and reason in refused.text, (weak, refused.text[-2000:])
            assert f'name="token" value="{token}"' in refused.text  # the form comes back with the token

        done = anonymous.post("/reset-password", data={"token": token, "password": NEW_PASSWORD})
        assert done.status_code == 303 and done.headers["location"] == "/login?msg=password-reset"
        assert "ninjait_session" not in done.headers.get("set-cookie", "")  # a reset does not sign in

        again = anonymous.post("/reset-password", data={"token": token, "password": "another 42 green ladders"})
        assert again.status_code == 400 and USED_OR_EXPIRED in again.text

    assert signed_in.get("/api/v1/me").status_code == 401  # the sessions from before the reset are over
    signed_in.close()
    with app.client(follow_redirects=False) as client:
        old = client.post("/login", data={"email": person.email, "password": person.password})
        assert old.status_code == 401
    Browser(app).login(Person(person.email, password=NEW_PASSWORD)).close()
    assert token not in app.log()  # nor is the link in the appliance's log


def test_it_answers_the_same_for_an_unknown_address_and_mails_nobody(
        reset_app: tuple[Appliance, World, Mailbox]) -> None:
    app, world, mailbox = reset_app
    person = world.people["b-helpdesk"]
    with app.client() as anonymous:
        unknown = anonymous.post("/api/v1/auth/password-reset", json={"email": "nobody@msp-b.test"})
        unknown_form = anonymous.post("/forgot-password", data={"email": "nobody@msp-b.test"})
        known = anonymous.post("/api/v1/auth/password-reset", json={"email": person.email})
        answers = [(r.status_code, r.json()) for r in (unknown, known)]
        assert answers == [(202, {"status": SAME_ANSWER})] * 2
        assert unknown_form.status_code == 200 and 'data-testid="reset-sent"' in unknown_form.text

        # The JSON half of the reset: weak passwords refused with the reason and the field, then done.
        token = reset_token(app, mail_to(mailbox, person))
        weak = anonymous.post("/api/v1/auth/password-reset/confirm", json={"token": token, "password": "helpdesk1234"})
        assert weak.status_code == 400 and weak.json()["field"] == "password", weak.text
        assert weak.json()["detail"].startswith("password is too weak"), weak.text
        done = anonymous.post("/api/v1/auth/password-reset/confirm", json={"token": token, "password": NEW_PASSWORD})
        assert done.status_code == 201 and "password changed" in done.json()["status"], done.text
        again = anonymous.post("/api/v1/auth/password-reset/confirm", json={"token": token, "password": NEW_PASSWORD})
        assert again.status_code == 400 and again.json()["detail"] == USED_OR_EXPIRED

    time.sleep(1)  # the consumer polls the queue; a mail to nobody would have had its chance
    assert mailbox.to("nobody@msp-b.test") == []


def test_it_refuses_an_expired_link(reset_app: tuple[Appliance, World, Mailbox]) -> None:
    app, world, mailbox = reset_app
    person = world.people["b-billingmanager"]
    with app.client() as anonymous:
        assert anonymous.post("/forgot-password", data={"email": person.email}).status_code == 200
        token = reset_token(app, mail_to(mailbox, person))

        # Thirty minutes later, as the database sees it.
        db = open_database(Settings(data_dir=app.data_dir, database_url=app.env.get("NINJAIT_DATABASE_URL", "")))
        try:
            db.write(lambda c: c.execute("UPDATE password_resets SET expires_at = ? WHERE user_id = ?",
                                         (int(time.time()) - 1, person.user_id)))
        finally:
            db.close()
        expired = anonymous.post("/reset-password", data={"token": token, "password": NEW_PASSWORD})
        assert expired.status_code == 400 and USED_OR_EXPIRED in expired.text

    with app.client(follow_redirects=False) as client:  # the password did not change
        assert client.post("/login", data={"email": person.email, "password": person.password}).status_code == 303
