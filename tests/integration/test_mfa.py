"""TOTP sign-in, replays, backup codes, enrolment, and the tenant's MFA policy."""

from __future__ import annotations

import re

import pyotp

from tests.support.identity import Browser, fresh_code


def start_login(app, person):  # type: ignore[no-untyped-def]
    browser = Browser(app)
    r = browser.client.post("/login", data={"email": person.email, "password": person.password, "next": "/x"})
    assert r.status_code == 303 and r.headers["location"].startswith("/login/mfa")
    browser._refresh_csrf("/login/mfa")
    return browser


def test_a_totp_code_signs_in_once_and_a_replay_is_refused(world_app) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    root = world.people["root"]
    first = start_login(app, root)
    half_session = first.client.cookies.get("__Host-ninjait_session")
    assert first.get("/api/v1/me").status_code == 401  # password alone is not enough
    code = fresh_code(root.totp_secret)
    r = first.client.post("/login/mfa", data={"code": code, "_csrf": first.csrf, "next": "/x"})
    assert r.status_code == 303 and r.headers["location"] == "/x"
    assert first.client.cookies.get("__Host-ninjait_session") != half_session  # new session id after MFA
    assert first.get("/api/v1/me").json()["is_super_admin"] is True

    replay = start_login(app, root)
    r = replay.client.post("/login/mfa", data={"code": code, "_csrf": replay.csrf})
    assert r.status_code == 401 and "already used" in r.text
    assert replay.get("/api/v1/me").status_code == 401
    first.close()
    replay.close()


def test_wrong_and_malformed_codes_are_refused_then_throttled(world_app) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    root = world.people["root"]
    browser = start_login(app, root)
    for bad in ("000000", "12345", "abcdef", "9" * 50):
        r = browser.client.post("/login/mfa", data={"code": bad, "_csrf": browser.csrf})
        assert r.status_code == 401 and "wrong code" in r.text
    browser.client.post("/login/mfa", data={"code": "000001", "_csrf": browser.csrf})
    r = browser.client.post("/login/mfa", data={"code": "000002", "_csrf": browser.csrf})
    assert r.status_code == 429
    browser.close()


def test_mfa_pages_need_a_half_signed_in_session(world_app) -> None:  # type: ignore[no-untyped-def]
    app, _ = world_app
    with app.client() as client:
        assert client.get("/login/mfa").status_code == 303
        assert client.post("/login/mfa", data={"code": "123456"}).status_code in (303, 401)


def test_enrolment_backup_codes_and_policy(world_app) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    person = world.people["b-readonly"]
    browser = Browser(app).login(person)  # tenant B does not require MFA
    page = browser.get("/account/mfa/setup")
    assert page.status_code == 200 and "<svg" in page.text
    secret = re.search(r'data-testid="totp-secret">([A-Z2-7]+)<', page.text).group(1)
    wrong = browser.client.post("/account/mfa/setup", data={"code": "000000", "_csrf": browser.csrf})
    assert wrong.status_code == 400 and "does not match" in wrong.text
    secret = re.search(r'data-testid="totp-secret">([A-Z2-7]+)<', wrong.text).group(1)  # a fresh secret
    done = browser.client.post("/account/mfa/setup", data={"code": fresh_code(secret), "_csrf": browser.csrf})
    codes = re.findall(r"<li><code>([a-z2-9]{5}-[a-z2-9]{5})</code></li>", done.text)
    assert done.status_code == 200 and len(codes) == 10 and len(set(codes)) == 10
    person.totp_secret = secret

    # A backup code signs in once.
    b2 = start_login(app, person)
    assert b2.client.post("/login/mfa", data={"code": codes[0].upper(), "_csrf": b2.csrf}).status_code == 303
    b3 = start_login(app, person)
    assert b3.client.post("/login/mfa", data={"code": codes[0], "_csrf": b3.csrf}).status_code == 401
    assert b3.client.post("/login/mfa", data={"code": codes[1], "_csrf": b3.csrf}).status_code == 303
    account = b3.get("/account").text
    assert "8 backup code(s) left" in account

    # Turning it off needs the password; the tenant may forbid it.
    b3._refresh_csrf("/account")
    off = b3.client.post("/account/mfa/disable", data={"password": "not it at all", "_csrf": b3.csrf})
    assert off.status_code == 401
    admin_b = Browser(app).login(world.people["b-organizationadmin"])
    assert admin_b.patch("/api/v1/tenant", json={"mfa_required": True}).json()["mfa_required"] is True
    b3._refresh_csrf("/account")
    locked = b3.client.post("/account/mfa/disable", data={"password": person.password, "_csrf": b3.csrf})
    assert locked.status_code == 403 and "required" in locked.text
    # Staff without MFA are sent to enrolment at their next sign-in.
    r = admin_b.client.post("/login", data={"email": world.people["b-helpdesk"].email,
                                            "password": world.people["b-helpdesk"].password})
    assert r.headers["location"].startswith("/account/mfa/setup")
    admin_b.patch("/api/v1/tenant", json={"mfa_required": False})
    for b in (browser, b2, b3, admin_b):
        b.close()


def test_totp_secrets_are_encrypted_at_rest(world_app) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    import sqlite3

    from tests.conftest import BACKEND

    if BACKEND != "sqlite":
        return  # the same code path; reading the raw row is simplest on SQLite
    raw = sqlite3.connect(app.data_dir / "ninjait.db").execute(
        "SELECT totp_secret FROM users WHERE email = ?", (world.people["root"].email,)).fetchone()[0]
    assert raw.startswith("v1:") and world.people["root"].totp_secret not in raw
    assert (app.data_dir / "keys" / "secret.key").stat().st_mode & 0o077 == 0


def test_pyotp_interoperates(world_app) -> None:  # type: ignore[no-untyped-def]
    # The provisioning URI is what authenticator apps read from the QR code.
    from ninjait.identity import totp

    uri = totp.provisioning_uri("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "a@b.test")
    assert uri.startswith("otpauth://totp/NinjaIT:a%40b.test?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
    assert pyotp.parse_uri(uri).now() == pyotp.TOTP("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP").now()
