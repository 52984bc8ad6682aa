"""Identity through the REST API and the forms: what admins and staff can and cannot do."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.support.identity import PASSWORD, Browser, Person


@pytest.fixture
def admin(world_app):  # type: ignore[no-untyped-def]
    app, world = world_app
    browser = Browser(app).login(world.people["a-organizationadmin"])
    yield browser
    browser.close()


def login_as(world_app, key: str) -> Browser:  # type: ignore[no-untyped-def]
    app, world = world_app
    return Browser(app).login(world.people[key])


def test_it_creates_organizations_sites_and_users(admin: Browser) -> None:
    org = admin.post("/api/v1/organizations", json={"name": "Acme Dental", "notes": "3 clinics"})
    assert org.status_code == 201, org.text
    site = admin.post(f"/api/v1/organizations/{org.json()['id']}/sites", json={"name": "North", "address": "1 Road"})
    assert site.status_code == 201 and site.json()["organization_id"] == org.json()["id"]
    user = admin.post("/api/v1/users", json={"email": "New.Tech@MSP-A.test", "name": "New Tech", "password": PASSWORD,
                                              "roles": [{"role": "Technician", "organization_ids": [org.json()["id"]]}]})
    assert user.status_code == 201, user.text
    body = user.json()
    assert body["email"] == "new.tech@msp-a.test"
    assert body["roles"] == [{"role_id": 2, "role_name": "Technician", "organization_ids": [org.json()["id"]]}]
    listed = admin.get("/api/v1/organizations").json()
    assert {"Acme Dental", "Customer A"} <= {o["name"] for o in listed}
    assert next(o for o in listed if o["name"] == "Acme Dental")["site_count"] == 1


@pytest.mark.parametrize(("payload", "status", "message"), [
    ({"email": "not-an-email", "password": PASSWORD}, 400, "e-mail address is not valid"),
    ({"email": "technician@msp-a.test", "password": PASSWORD}, 409, "already exists"),
    ({"email": "x1@msp-a.test", "password": "short"}, 400, "at least 12 characters"),
    ({"email": "x2@msp-a.test", "password": "password1234"}, 400, "common passwords"),
    ({"email": "x3@msp-a.test", "password": "a" * 129}, 400, "password"),
    ({"email": "x4@msp-a.test", "roles": [{"role": "Wizard"}]}, 400, "unknown role 'Wizard'"),
    ({"email": "x5@msp-a.test", "roles": [{"role_id": 2, "organization_ids": [999999]}]}, 400, "unknown organization"),
    ({"email": "x6@msp-a.test", "name": "n" * 201}, 400, "name"),
    ({"email": "x7@msp-a.test", "colour": "blue"}, 400, "unknown field"),
])
def test_bad_user_input_is_refused_clearly_and_creates_nothing(admin: Browser, payload: dict, status: int,
                                                               message: str) -> None:
    before = len(admin.get("/api/v1/users").json())
    r = admin.post("/api/v1/users", json=payload)
    assert r.status_code == status, r.text
    assert message in r.json()["detail"]
    assert len(admin.get("/api/v1/users").json()) == before


def test_an_organization_limited_technician_sees_only_that_organization(world_app) -> None:  # type: ignore[no-untyped-def]
    _, world = world_app
    tech = login_as(world_app, "a-limited")
    try:
        names = [o["name"] for o in tech.get("/api/v1/organizations").json()]
        assert names == ["Customer A"]
        assert tech.get(f"/api/v1/organizations/{world.orgs['a-other']}").status_code == 404
        assert tech.get(f"/api/v1/organizations/{world.orgs['a']}").status_code == 200
        me = tech.get("/api/v1/me").json()
        assert "devices.write" not in me["permissions"]
        assert "devices.write" in me["organization_permissions"][str(world.orgs["a"])]
    finally:
        tech.close()


def test_nobody_grants_more_than_they_hold(world_app, admin: Browser) -> None:  # type: ignore[no-untyped-def]
    app, _ = world_app
    # A "user manager" may manage users but holds nothing else.
    role = admin.post("/api/v1/roles", json={"name": "User manager", "permissions": ["users.read", "users.write"]})
    assert role.status_code == 201, role.text
    manager = Person("manager@msp-a.test")
    assert admin.post("/api/v1/users", json={"email": manager.email, "password": PASSWORD,
                                             "roles": [{"role_id": role.json()["id"]}]}).status_code == 201
    m = Browser(app).login(manager)
    try:
        escalate = m.post("/api/v1/users", json={"email": "evil@msp-a.test", "password": PASSWORD,
                                                 "roles": [{"role": "Organization Admin"}]})
        assert escalate.status_code == 403 and "cannot assign the role" in escalate.json()["detail"]
        custom = m.post("/api/v1/roles", json={"name": "Sneaky", "permissions": ["billing.write"]})
        assert custom.status_code == 403 and "do not hold" in custom.json()["detail"]
        token = m.post("/api/v1/me/tokens", json={"name": "t", "permissions": ["devices.delete"]})
        assert token.status_code == 403
        assert m.get("/api/v1/users").status_code == 200
    finally:
        m.close()
    super_only = admin.post("/api/v1/roles", json={"name": "Tenants", "permissions": ["tenants.manage"]})
    assert super_only.status_code == 400
    assert admin.post("/api/v1/tenants", json={"name": "X", "slug": "x-msp"}).status_code == 403


def test_built_in_roles_cannot_be_changed_and_used_roles_cannot_be_deleted(admin: Browser) -> None:
    assert admin.patch("/api/v1/roles/2", json={"name": "Tech"}).status_code == 403
    assert admin.delete("/api/v1/roles/1").status_code == 403
    role = admin.post("/api/v1/roles", json={"name": "Night shift", "permissions": ["alerts.read"]}).json()
    admin.post("/api/v1/users", json={"email": "night@msp-a.test", "roles": [{"role_id": role["id"]}]})
    r = admin.delete(f"/api/v1/roles/{role['id']}")
    assert r.status_code == 409 and "assigned" in r.json()["detail"]


def test_api_tokens_are_shown_once_scoped_and_revocable(world_app, admin: Browser) -> None:  # type: ignore[no-untyped-def]
    app, _ = world_app
    created = admin.post("/api/v1/me/tokens", json={"name": "psa sync", "permissions": ["organizations.read"],
                                                    "expires_in_days": 30})
    assert created.status_code == 201
    token = created.json()["token"]
    assert token.startswith("nit_")
    listed = admin.get("/api/v1/me/tokens").json()
    assert all(token not in str(t) for t in listed)  # only the prefix is kept
    with app.client() as client:
        bearer = {"Authorization": f"Bearer {token}"}
        assert client.get("/api/v1/organizations", headers=bearer).status_code == 200
        assert client.get("/api/v1/users", headers=bearer).status_code == 403
        # No CSRF token needed with a bearer token, but no more than the token allows either.
        assert client.post("/api/v1/organizations", headers=bearer, json={"name": "Z"}).status_code == 403
        mint = client.post("/api/v1/me/tokens", headers=bearer, json={"name": "x", "permissions": ["organizations.read"]})
        assert mint.status_code == 403
        assert client.get("/api/v1/organizations", headers={"Authorization": "Bearer nit_forged"}).status_code == 401
        assert client.get("/api/v1/organizations", headers={"Authorization": "Bearer " + "x" * 5000}).status_code == 401
        assert admin.delete(f"/api/v1/me/tokens/{created.json()['id']}").status_code == 204
        assert client.get("/api/v1/organizations", headers=bearer).status_code == 401


def test_a_token_loses_what_its_user_loses(world_app, admin: Browser) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    help_desk = login_as(world_app, "a-helpdesk")
    token = help_desk.post("/api/v1/me/tokens", json={"name": "t", "permissions": ["tickets.read",
                                                                                    "organizations.read"]}).json()
    help_desk.close()
    user_id = world.people["a-helpdesk"].user_id
    assert admin.patch(f"/api/v1/users/{user_id}", json={"roles": [{"role": "Billing Manager"}]}).status_code == 200
    with app.client() as client:
        me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token['token']}"}).json()
    assert me["permissions"] == ["organizations.read", "tickets.read"]  # both still held by Billing Manager
    admin.patch(f"/api/v1/users/{user_id}", json={"roles": [{"role": "Read-Only"}], "disabled": True})
    with app.client() as client:
        assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token['token']}"}).status_code == 401
    admin.patch(f"/api/v1/users/{user_id}", json={"roles": [{"role": "Help Desk"}], "disabled": False})


def test_state_changes_need_the_csrf_token_and_same_origin(admin: Browser) -> None:
    missing = admin.client.post("/api/v1/organizations", json={"name": "No token"})
    assert missing.status_code == 403 and "CSRF" in missing.json()["detail"]
    wrong = admin.client.post("/api/v1/organizations", json={"name": "Bad"}, headers={"X-CSRF-Token": "nope"})
    assert wrong.status_code == 403
    cross = admin.post("/api/v1/organizations", json={"name": "Cross"}, headers={"Origin": "https://evil.example"})
    assert cross.status_code == 403 and "cross-origin" in cross.json()["detail"]
    form = admin.client.post("/settings/organizations", data={"name": "Via form", "_csrf": admin.csrf})
    assert form.status_code == 303
    names = [o["name"] for o in admin.get("/api/v1/organizations").json()]
    assert "Via form" in names and "No token" not in names and "Cross" not in names


def test_the_session_cookie_is_locked_down(world_app) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    with app.client() as client:
        r = client.post("/login", data={"email": world.people["a-technician"].email, "password": PASSWORD})
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("__Host-ninjait_session=")
    for flag in ("Secure", "HttpOnly", "SameSite=lax", "Path=/"):
        assert flag.lower() in cookie.lower()
    assert "domain=" not in cookie.lower()


def test_sessions_are_listed_and_revocable_and_a_password_change_ends_them(world_app) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    person = world.people["a-billingmanager"]
    first, second = login_as(world_app, "a-billingmanager"), login_as(world_app, "a-billingmanager")
    try:
        sessions = first.get("/api/v1/me/sessions").json()
        assert len(sessions) >= 2 and sum(s["current"] for s in sessions) == 1
        other = next(s for s in sessions if not s["current"])
        assert first.delete(f"/api/v1/me/sessions/{other['id']}").status_code == 204
        assert second.get("/api/v1/me").status_code == 401
        third = login_as(world_app, "a-billingmanager")
        new_password = "marble otter sings quietly 7"
        r = first.client.post("/account/password", data={"current": PASSWORD, "new": new_password,
                                                          "_csrf": first.csrf})
        assert r.status_code == 303
        assert third.get("/api/v1/me").status_code == 401  # every other session ended
        assert first.get("/api/v1/me").status_code == 200  # this browser got a new session
        person.password = new_password
        login_as(world_app, "a-billingmanager").close()
        # Put it back for other tests.
        first._refresh_csrf("/account")
        first.client.post("/account/password", data={"current": new_password, "new": PASSWORD, "_csrf": first.csrf})
        person.password = PASSWORD
    finally:
        first.close()
        second.close()


def test_wrong_passwords_get_a_clear_message_and_then_a_back_off(world_app) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    victim = world.people["b-technician"]
    with app.client() as client:
        for _ in range(5):
            r = client.post("/login", data={"email": victim.email, "password": "wrong password 123"})
            assert r.status_code == 401 and "wrong e-mail address or password" in r.text
        r = client.post("/login", data={"email": victim.email, "password": "wrong password 123"})
        assert r.status_code == 401
        blocked = client.post("/login", data={"email": victim.email, "password": PASSWORD})
        assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) >= 1
        assert "try again in" in blocked.text
        # Someone else from the same address is not locked out by it.
        other = client.post("/login", data={"email": world.people["b-helpdesk"].email, "password": PASSWORD})
        assert other.status_code == 303
        unknown = client.post("/login", data={"email": "nobody@nowhere.test", "password": "whatever 12345"})
        assert unknown.status_code == 401 and "wrong e-mail address or password" in unknown.text


def test_login_does_not_redirect_off_site(world_app) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    with app.client() as client:
        for target in ("https://evil.example/x", "//evil.example", "/\\evil.example"):
            r = client.post("/login", data={"email": world.people["a-helpdesk"].email, "password": PASSWORD,
                                            "next": target})
            assert r.status_code == 303 and r.headers["location"] == "/", target


def test_a_disabled_user_is_signed_out_everywhere(world_app, admin: Browser) -> None:  # type: ignore[no-untyped-def]
    _, world = world_app
    victim = login_as(world_app, "a-billingmanager")
    try:
        uid = world.people["a-billingmanager"].user_id
        assert admin.patch(f"/api/v1/users/{uid}", json={"disabled": True}).status_code == 200
        assert victim.get("/api/v1/me").status_code == 401
        app, _ = world_app
        with app.client() as client:
            r = client.post("/login", data={"email": world.people["a-billingmanager"].email, "password": PASSWORD})
        assert r.status_code == 401
    finally:
        admin.patch(f"/api/v1/users/{world.people['a-billingmanager'].user_id}", json={"disabled": False})
        victim.close()


def test_admins_cannot_lock_themselves_out(admin: Browser, world_app) -> None:  # type: ignore[no-untyped-def]
    _, world = world_app
    me = world.people["a-organizationadmin"].user_id
    r = admin.patch(f"/api/v1/users/{me}", json={"disabled": True})
    assert r.status_code == 403
    assert admin.delete(f"/api/v1/users/{me}").status_code == 403
    root = world.people["root"].user_id
    assert admin.patch(f"/api/v1/users/{root}", json={"name": "pwned"}).status_code == 403


def test_the_openapi_schema_lists_the_identity_api(world_app) -> None:  # type: ignore[no-untyped-def]
    app, _ = world_app
    with app.client() as client:
        paths = client.get("/api/schema/openapi.json").json()["paths"]
    for path in ("/api/v1/users", "/api/v1/roles", "/api/v1/organizations", "/api/v1/me/tokens", "/api/v1/audit",
                 "/api/v1/tenants", "/api/v1/permissions"):
        assert path in paths, path


def test_super_admins_manage_tenants(world_app) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    root = login_as(world_app, "root")
    try:
        created = root.post("/api/v1/tenants", json={"name": "MSP C", "slug": "msp-c"})
        assert created.status_code == 201 and created.json()["mfa_required"] is True
        assert root.post("/api/v1/tenants", json={"name": "Again", "slug": "msp-c"}).status_code == 409
        assert root.post("/api/v1/tenants", json={"name": "Bad", "slug": "Not A Slug!"}).status_code == 400
        form = root.client.post("/settings/tenants", data={"name": "MSP D", "slug": "msp-d", "_csrf": root.csrf})
        assert form.status_code == 303
        slugs = [t["slug"] for t in root.get("/api/v1/tenants").json()]
        assert {"msp-a", "msp-b", "msp-c", "msp-d"} <= set(slugs)
        assert "MSP D" in root.get("/settings/tenants").text
    finally:
        root.close()
