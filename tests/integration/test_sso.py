"""Single sign-on with OpenID Connect, against providers the test runs on loopback.

Tenant A and tenant B each get their own provider. The browser is an httpx client: it asks the
appliance for /login/sso, follows the redirect to the provider (which signs in whoever the test
says, without asking), and brings the provider's callback back to the appliance.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from ninjait.core import runtime as rt_mod
from ninjait.settings import Settings
from tests.support.appliance import Appliance
from tests.support.identity import PASSWORD, Browser, Person, fresh_code
from tests.support.oidc_provider import Provider

SLUG = {"a": "msp-a", "b": "msp-b"}
STATE_COOKIE = "__Host-ninjait_sso"
SESSION_COOKIE = "__Host-ninjait_session"


@pytest.fixture(scope="module")
def providers() -> Iterator[dict[str, Provider]]:
    started = {key: Provider(client_id=f"ninjait-{key}").start() for key in SLUG}
    yield started
    for provider in started.values():
        provider.stop()


@pytest.fixture(scope="module")
def admins(world_app) -> Iterator[dict[str, Browser]]:  # type: ignore[no-untyped-def]
    app, world = world_app
    browsers = {key: Browser(app).login(world.people[f"{key}-organizationadmin"]) for key in SLUG}
    yield browsers
    for browser in browsers.values():
        browser.close()


def configure(admin: Browser, provider: Provider, **changes: Any) -> httpx.Response:
    body = {"issuer": provider.issuer, "client_id": provider.client_id, "client_secret": provider.client_secret,
            "enabled": True, "create_users": False, "default_role_id": None, **changes}
    return admin.request("PUT", "/api/v1/tenant/sso", json=body)


@pytest.fixture(autouse=True)
def sso(providers: dict[str, Provider], admins: dict[str, Browser]) -> dict[str, Provider]:
    """Each test starts with both tenants on their own well-behaved provider, creating nobody."""
    for key, provider in providers.items():
        provider.reset()
        r = configure(admins[key], provider)
        assert r.status_code == 200, r.text
    return providers


def to_provider(app: Appliance, provider: Provider, tenant: str, next: str = "/") -> tuple[Browser, str]:
    """Start single sign-on in a fresh browser; the callback URL the provider sends it back with."""
    browser = Browser(app)
    start = browser.get("/login/sso", params={"tenant": tenant, "next": next})
    assert start.status_code == 303, start.text[:500]
    assert start.headers["location"].startswith(provider.issuer + "/authorize?")
    at_provider = httpx.get(start.headers["location"])
    assert at_provider.status_code == 302, at_provider.text
    return browser, at_provider.headers["location"]


def sign_in(app: Appliance, provider: Provider, tenant: str, next: str = "/") -> tuple[Browser, httpx.Response]:
    browser, callback = to_provider(app, provider, tenant, next)
    return browser, browser.get(callback)


def assert_refused(browser: Browser, r: httpx.Response, status: int, text: str) -> None:
    assert r.status_code == status, (r.status_code, r.text[:500])
    assert text in r.text, r.text[:2000]
    assert SESSION_COOKIE not in browser.client.cookies
    assert browser.get("/api/v1/me").status_code == 401


def last_entry(admin: Browser, action: str) -> dict[str, Any]:
    return admin.get("/api/v1/audit", params={"action": action, "limit": 1}).json()[0]


def query_param(url: str, name: str) -> str:
    return httpx.URL(url).params[name]


# --- signing in -----------------------------------------------------------------------------------

def test_it_signs_in_an_existing_user_by_verified_email(world_app, sso, admins) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    person = world.people["a-technician"]
    sso["a"].sign_in_as(person.email.upper())  # addresses match whatever their case
    browser, r = sign_in(app, sso["a"], "msp-a", next="/settings")
    assert r.status_code == 303 and r.headers["location"] == "/settings", r.text[:500]
    me = browser.get("/api/v1/me")
    assert me.status_code == 200 and me.json()["id"] == person.user_id and me.json()["email"] == person.email
    assert STATE_COOKIE not in browser.client.cookies  # used up
    sent = sso["a"].authorize_requests[-1]
    assert sent["code_challenge_method"] == "S256" and sent["scope"] == "openid email profile"
    assert sent["redirect_uri"] == f"https://localhost:{app.port}/login/sso/callback"
    entry = last_entry(admins["a"], "auth.login")
    assert entry["summary"] == {"method": "oidc"} and entry["actor"] == person.email
    browser.close()

    # `next` stays on this site.
    other, r = sign_in(app, sso["a"], "msp-a", next="//evil.example/x")
    assert r.status_code == 303 and r.headers["location"] == "/"
    other.close()


@pytest.mark.parametrize("verified", [False, "false", None])
def test_it_refuses_an_address_the_provider_has_not_verified(world_app, sso, admins, verified) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    sso["a"].sign_in_as(world.people["a-technician"].email, verified=verified)
    browser, r = sign_in(app, sso["a"], "msp-a")
    assert_refused(browser, r, 403, "has not verified")
    entry = last_entry(admins["a"], "auth.login_failed")
    assert entry["summary"] == {"method": "oidc", "reason": "e-mail address not verified by the provider"}
    browser.close()


def test_it_reads_the_address_from_userinfo_when_the_id_token_has_none(world_app, sso) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    sso["a"].email_only_in_userinfo = True
    sso["a"].sign_in_as(world.people["a-helpdesk"].email)
    browser, r = sign_in(app, sso["a"], "msp-a")
    assert r.status_code == 303
    assert browser.get("/api/v1/me").json()["email"] == world.people["a-helpdesk"].email
    browser.close()

    sso["a"].sign_in_as(world.people["a-helpdesk"].email, verified=False)
    browser, r = sign_in(app, sso["a"], "msp-a")
    assert_refused(browser, r, 403, "has not verified")
    browser.close()


def test_it_creates_a_user_with_the_default_role_when_allowed(world_app, sso, admins) -> None:  # type: ignore[no-untyped-def]
    app, _ = world_app
    r = configure(admins["a"], sso["a"], create_users=True, default_role_id=3, client_secret=None)
    assert r.status_code == 200 and r.json()["create_users"] is True and r.json()["default_role_id"] == 3, r.text
    sso["a"].sign_in_as("Newcomer@MSP-A.test", name="New Comer")
    browser, r = sign_in(app, sso["a"], "msp-a")
    assert r.status_code == 303, r.text[:500]
    me = browser.get("/api/v1/me").json()
    assert me["email"] == "newcomer@msp-a.test"
    assert "tickets.write" in me["permissions"] and "users.write" not in me["permissions"]  # Help Desk
    user = admins["a"].get(f"/api/v1/users/{me['id']}").json()
    assert user["name"] == "New Comer" and user["has_password"] is False
    assert user["roles"] == [{"role_id": 3, "role_name": "Help Desk", "organization_ids": None}]
    created = last_entry(admins["a"], "user.created")
    assert created["actor"] == "single sign-on" and created["summary"]["email"] == "newcomer@msp-a.test"
    browser.close()

    again, r = sign_in(app, sso["a"], "msp-a")  # the second time it is the same account
    assert r.status_code == 303 and again.get("/api/v1/me").json()["id"] == me["id"]
    again.close()


def test_it_refuses_people_without_an_account_when_creating_users_is_off(world_app, sso, admins) -> None:  # type: ignore[no-untyped-def]
    app, _ = world_app
    sso["a"].sign_in_as("stranger@msp-a.test")
    browser, r = sign_in(app, sso["a"], "msp-a")
    assert_refused(browser, r, 403, "no account for stranger@msp-a.test")
    assert "stranger@msp-a.test" not in [u["email"] for u in admins["a"].get("/api/v1/users").json()]
    assert last_entry(admins["a"], "auth.login_failed")["summary"]["reason"] == \
        "no such user and creating users is off"
    browser.close()


@pytest.mark.parametrize(("via", "person"), [("a", "b-technician"), ("b", "a-technician")])
def test_it_keeps_each_tenants_provider_to_its_own_users(world_app, sso, admins, via, person) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    # Even with creating users on, a person of the other tenant is neither let in nor copied.
    assert configure(admins[via], sso[via], create_users=True, default_role_id=5).status_code == 200
    sso[via].sign_in_as(world.people[person].email)
    browser, r = sign_in(app, sso[via], SLUG[via])
    assert_refused(browser, r, 403, "no account for")
    assert last_entry(admins[via], "auth.login_failed")["summary"]["reason"] == "the user belongs to another tenant"
    assert world.people[person].email not in [u["email"] for u in admins[via].get("/api/v1/users").json()]
    browser.close()


def test_it_refuses_a_code_from_another_tenants_provider(world_app, sso) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    sso["b"].sign_in_as(world.people["b-technician"].email)
    browser, callback = to_provider(app, sso["a"], "msp-a")
    # The same request, answered by B's provider: the code is B's, the state is this browser's sign-in at A.
    sent = dict(sso["a"].authorize_requests[-1], client_id=sso["b"].client_id)
    status, headers, _ = sso["b"].authorize(sent)
    assert status == 302 and query_param(headers["Location"], "state") == query_param(callback, "state")
    r = browser.get(headers["Location"])
    assert_refused(browser, r, 502, "invalid_grant")
    browser.close()


def test_it_trusts_the_provider_for_mfa_but_not_for_super_admins(world_app, sso, admins) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    assert admins["a"].patch("/api/v1/tenant", json={"mfa_required": True}).status_code == 200
    try:
        sso["a"].sign_in_as(world.people["a-billingmanager"].email)
        browser, r = sign_in(app, sso["a"], "msp-a", next="/x")
        assert r.status_code == 303 and r.headers["location"] == "/x"  # no enrolment asked for
        assert browser.get("/api/v1/me").status_code == 200
        browser.close()

        root = world.people["root"]
        sso["a"].sign_in_as(root.email)
        browser, r = sign_in(app, sso["a"], "msp-a", next="/x")
        assert r.status_code == 303 and r.headers["location"].startswith("/login/mfa")
        assert browser.get("/api/v1/me").status_code == 401  # the provider alone is not enough
        assert last_entry(admins["a"], "auth.oidc_ok")["summary"] == {"method": "oidc", "next": "mfa"}
        browser._refresh_csrf("/login/mfa")
        done = browser.client.post("/login/mfa", data={"code": fresh_code(root.totp_secret), "_csrf": browser.csrf,
                                                        "next": "/x"})
        assert done.status_code == 303
        assert browser.get("/api/v1/me").json()["is_super_admin"] is True
        browser.close()
    finally:
        admins["a"].patch("/api/v1/tenant", json={"mfa_required": False})


def test_it_refuses_a_disabled_user(world_app, sso, admins) -> None:  # type: ignore[no-untyped-def]
    app, _ = world_app
    created = admins["a"].post("/api/v1/users", json={"email": "leaver@msp-a.test", "roles": [{"role": "Technician"}]})
    assert created.status_code == 201, created.text
    assert admins["a"].patch(f"/api/v1/users/{created.json()['id']}", json={"disabled": True}).status_code == 200
    sso["a"].sign_in_as("leaver@msp-a.test")
    browser, r = sign_in(app, sso["a"], "msp-a")
    assert_refused(browser, r, 403, "disabled")
    entry = last_entry(admins["a"], "auth.login_failed")
    assert entry["summary"]["reason"] == "account disabled" and entry["user_id"] == created.json()["id"]
    browser.close()


# --- what the provider and the browser send back ---------------------------------------------------

TAMPERED = {  # what the provider puts in the ID token -> why the appliance refuses it
    "nonce": ({"nonce": "not-the-one-we-sent"}, "Invalid claim: 'nonce'"),
    "no nonce": ({"nonce": None}, "Missing claim: 'nonce'"),
    "audience": ({"aud": "someone-else"}, "Invalid claim: 'aud'"),
    "issuer": ({"iss": "http://127.0.0.1:9"}, "Invalid claim: 'iss'"),
    "expired": ({"exp": -600, "iat": -900}, "expired"),
    "issued long ago": ({"iat": -3600}, "Invalid claim: 'iat'"),
    "issued in the future": ({"iat": 3600}, "issued in the future"),
    "signature": ({}, "bad_signature"),
}


@pytest.mark.parametrize("tamper", list(TAMPERED))
def test_it_refuses_an_id_token_that_does_not_check_out(world_app, sso, admins, tamper) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    idp = sso["a"]
    idp.sign_in_as(world.people["a-technician"].email)
    claims, why = TAMPERED[tamper]
    now = int(time.time())
    idp.claims = {k: now + v if k in ("exp", "iat") else v for k, v in claims.items()}
    if tamper == "signature":
        idp.stranger_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)  # same kid, other key
    browser, r = sign_in(app, idp, "msp-a")
    assert_refused(browser, r, 401, "could not be verified")
    reason = last_entry(admins["a"], "auth.login_failed")["summary"]["reason"]
    assert reason.startswith("ID token refused") and why in reason, reason
    browser.close()


def test_it_refuses_a_tampered_foreign_or_replayed_state(world_app, sso, admins) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    sso["a"].sign_in_as(world.people["a-technician"].email)
    browser, callback = to_provider(app, sso["a"], "msp-a")
    state = query_param(callback, "state")

    tampered = callback.replace(f"state={state}", f"state={state[:-2]}xx")
    assert_refused(browser, browser.get(tampered), 400, "start single sign-on again")

    # The genuine link opened in another browser (login CSRF: someone else's sign-in pushed on you).
    foreign = Browser(app)
    assert_refused(foreign, foreign.get(callback), 400, "start single sign-on again")
    assert last_entry(admins["a"], "auth.login_failed") is not None

    # Neither spoiled the sign-in under way in the right browser.
    assert browser.get(callback).status_code == 303
    assert browser.get("/api/v1/me").status_code == 200

    # Used once: the same callback with the same state cookie is refused the second time.
    replay = Browser(app)
    replay.client.cookies.set(STATE_COOKIE, state)
    assert_refused(replay, replay.get(callback), 400, "start single sign-on again")
    for b in (browser, foreign, replay):
        b.close()


def test_it_reports_a_refusal_by_the_provider(world_app, sso, admins) -> None:  # type: ignore[no-untyped-def]
    app, _ = world_app
    browser, callback = to_provider(app, sso["a"], "msp-a")
    state = query_param(callback, "state")
    r = browser.get("/login/sso/callback", params={"error": "access_denied", "state": state})
    assert_refused(browser, r, 401, "did not sign you in (access_denied)")
    assert last_entry(admins["a"], "auth.login_failed")["summary"]["reason"] == "provider error: access_denied"
    browser.close()


def test_it_says_when_a_tenant_has_no_single_sign_on(world_app, sso, admins) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    sso["b"].sign_in_as(world.people["b-technician"].email)
    underway, callback = to_provider(app, sso["b"], "msp-b")
    assert configure(admins["b"], sso["b"], enabled=False).status_code == 200
    with app.client() as client:
        for slug in ("msp-b", "no-such-tenant"):
            r = client.get("/login/sso", params={"tenant": slug})
            assert r.status_code == 404 and "not set up for that tenant" in r.text
    # A sign-in started before it was turned off does not finish either.
    assert_refused(underway, underway.get(callback), 404, "not set up for that tenant")
    underway.close()


# --- configuration --------------------------------------------------------------------------------

def test_it_never_returns_the_client_secret(world_app, sso, admins) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    admin, secret = admins["a"], sso["a"].client_secret
    put = configure(admin, sso["a"])
    got = admin.get("/api/v1/tenant/sso")
    for r in (put, got):
        assert r.status_code == 200 and secret not in r.text and "client_secret" not in r.json()
        assert r.json()["client_secret_set"] is True and r.json()["issuer"] == sso["a"].issuer
        assert r.json()["redirect_uri"] == f"https://localhost:{app.port}/login/sso/callback"
    page = admin.get("/settings/sso")
    assert page.status_code == 200 and secret not in page.text
    assert secret not in admin.get("/api/v1/audit", params={"action": "tenant.sso_updated"}).text

    # Stored encrypted; left out of a change, the stored one is kept and still works.
    settings = Settings(data_dir=app.data_dir, database_url=app.env.get("NINJAIT_DATABASE_URL", ""))
    runtime = rt_mod.start(settings)
    try:
        with runtime.db.read() as c:
            stored = c.value("SELECT client_secret FROM oidc_providers WHERE tenant_id = ?", (world.tenants["a"],))
    finally:
        rt_mod.stop()
    assert stored.startswith("v1:") and secret not in stored
    assert configure(admin, sso["a"], client_secret=None).status_code == 200
    sso["a"].sign_in_as(world.people["a-technician"].email)
    browser, r = sign_in(app, sso["a"], "msp-a")
    assert r.status_code == 303
    browser.close()

    # A wrong secret is refused by the provider, so the secret really is what signs the exchange.
    assert configure(admin, sso["a"], client_secret="not-the-secret").status_code == 200
    browser, r = sign_in(app, sso["a"], "msp-a")
    assert_refused(browser, r, 502, "invalid_client")
    browser.close()


@pytest.mark.parametrize(("changes", "status", "message"), [
    ({"issuer": "ftp://idp.example"}, 400, "https://"),
    ({"issuer": "http://idp.example"}, 400, "https://"),
    ({"create_users": True}, 400, "default role"),
    ({"default_role_id": 999999}, 400, "unknown role"),
    ({"client_id": " "}, 400, "client_id"),
    ({"colour": "blue"}, 400, "colour"),
])
def test_it_refuses_bad_settings(world_app, sso, admins, changes, status, message) -> None:  # type: ignore[no-untyped-def]
    r = configure(admins["a"], sso["a"], **changes)
    assert r.status_code == status and message in r.json()["detail"], r.text
    assert admins["a"].get("/api/v1/tenant/sso").json()["issuer"] == sso["a"].issuer


def test_it_refuses_another_tenants_role_as_default(world_app, sso, admins) -> None:  # type: ignore[no-untyped-def]
    role = admins["b"].post("/api/v1/roles", json={"name": "B desk", "permissions": ["tickets.read"]})
    assert role.status_code == 201, role.text
    r = configure(admins["a"], sso["a"], create_users=True, default_role_id=role.json()["id"])
    assert r.status_code == 400 and "unknown role" in r.json()["detail"]
    # ...and a role in use as the default cannot be deleted from under the setting.
    assert configure(admins["b"], sso["b"], create_users=True, default_role_id=role.json()["id"]).status_code == 200
    gone = admins["b"].delete(f"/api/v1/roles/{role.json()['id']}")
    assert gone.status_code == 409, gone.text


def test_it_lets_only_full_admins_change_single_sign_on(world_app, sso, admins) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    body = {"issuer": "https://evil.example", "client_id": "x", "client_secret": "y"}
    read_only = Browser(app).login(world.people["a-readonly"])
    assert read_only.request("PUT", "/api/v1/tenant/sso", json=body).status_code == 403
    assert read_only.get("/api/v1/tenant/sso").status_code == 403
    assert read_only.post("/settings/sso", data={**body, "_csrf": read_only.csrf}).status_code == 403
    read_only.close()

    # settings.write alone is not enough: whoever picks the provider can sign in as anyone here.
    role = admins["a"].post("/api/v1/roles", json={"name": "Security officer", "permissions": ["settings.write"]})
    officer = admins["a"].post("/api/v1/users", json={"email": "officer@msp-a.test", "password": PASSWORD,
                                                       "roles": [{"role_id": role.json()["id"]}]})
    assert officer.status_code == 201, officer.text
    browser = Browser(app).login(Person("officer@msp-a.test"))
    assert browser.get("/api/v1/tenant/sso").status_code == 200
    r = browser.request("PUT", "/api/v1/tenant/sso", json=body)
    assert r.status_code == 403 and "Organization Admin" in r.json()["detail"]
    browser.close()
    assert admins["a"].get("/api/v1/tenant/sso").json()["issuer"] == sso["a"].issuer


def test_it_configures_single_sign_on_on_the_settings_page(world_app, sso, admins) -> None:  # type: ignore[no-untyped-def]
    app, _ = world_app
    admin, idp = admins["b"], sso["b"]
    assert 'href="/settings/sso"' in admin.get("/settings").text
    page = admin.get("/settings/sso")
    assert page.status_code == 200 and f"https://localhost:{app.port}/login/sso/callback" in page.text
    form = {"_csrf": admin.csrf, "issuer": idp.issuer, "client_id": idp.client_id, "client_secret": "",
            "enabled": "on", "create_users": "on", "default_role_id": ""}
    r = admin.post("/settings/sso", data=form)
    assert r.status_code == 400 and "needs a default role" in r.text
    r = admin.post("/settings/sso", data={**form, "default_role_id": "5"})
    assert r.status_code == 303 and r.headers["location"] == "/settings/sso?msg=saved"
    config = admin.get("/api/v1/tenant/sso").json()
    assert config["create_users"] is True and config["default_role_id"] == 5 and config["client_secret_set"] is True


def test_the_sign_in_page_offers_single_sign_on(world_app, sso) -> None:  # type: ignore[no-untyped-def]
    app, _ = world_app
    with app.client() as client:
        login = client.get("/login", params={"next": "/x"})
        assert 'action="/login/sso"' in login.text and "Sign in with single sign-on" in login.text
        # The form lands on a page that moves on by itself: a 303 after a form would break `form-action 'self'`.
        r = client.get("/login/sso", params={"tenant": "msp-a", "next": "/x", "via": "form"})
        assert r.status_code == 200 and STATE_COOKIE in client.cookies
        assert f'http-equiv="refresh" content="0; url={sso["a"].issuer}/authorize?' in r.text
        assert "<script>" not in r.text
        r = client.get("/login/sso", params={"tenant": "", "via": "form"})
        assert r.status_code == 400 and "tenant" in r.text
