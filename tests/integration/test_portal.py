"""The client portal on the real server: what a contact may see (own tickets, or the organization's when
allowed; never another organization's, never internal notes), opening and answering tickets, signing in and
losing access."""

from __future__ import annotations

import httpx
import pytest

from tests.support.identity import Browser

PASSWORD = "Portal-Pass-2026-long"


@pytest.fixture(scope="module")
def staff(world_app):  # type: ignore[no-untyped-def]
    app, world = world_app
    admin = Browser(app).login(world.people["a-organizationadmin"])
    yield admin
    admin.close()


def _contact(staff: Browser, org: int, name: str, *, sees: bool = False, password: str = PASSWORD) -> dict:  # type: ignore[type-arg]
    email = f"{name.lower()}@customer.test"
    made = staff.post("/api/v1/contacts", json={"name": name, "email": email, "organization_id": org}).json()
    r = staff.put(f"/api/v1/contacts/{made['id']}/portal", json={"enabled": True, "sees_organization": sees,
                                                                 "password": password})
    assert r.status_code == 200, r.text
    return made


def _sign_in(app, email: str, password: str = PASSWORD) -> httpx.Client:  # type: ignore[no-untyped-def]
    client = app.client(follow_redirects=False)
    r = client.post("/portal/msp-a/login", data={"email": email, "password": password})
    assert r.status_code == 303, r.text[:300]
    return client


def _csrf(client: httpx.Client, path: str) -> str:
    import re

    found = re.search(r'name="_csrf" value="([^"]+)"', client.get(path).text)
    assert found, path
    return found.group(1)


def test_contacts_see_their_own_or_their_organizations_tickets_and_nothing_else(world_app, staff) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    hal = _contact(staff, world.orgs["a"], "Hal")
    ivy = _contact(staff, world.orgs["a"], "Ivy", sees=True)
    jon = _contact(staff, world.orgs["a-other"], "Jon", sees=True)
    hals = staff.post("/api/v1/tickets", json={"subject": "Hal's laptop", "organization_id": world.orgs["a"],
                                               "contact_id": hal["id"]}).json()
    office = staff.post("/api/v1/tickets", json={"subject": "Office Wi-Fi", "organization_id": world.orgs["a"]}).json()
    other = staff.post("/api/v1/tickets", json={"subject": "Other customer's server",
                                                "organization_id": world.orgs["a-other"], "contact_id": jon["id"]}).json()
    staff.post(f"/api/v1/tickets/{hals['id']}/comments", json={"kind": "note", "body": "SECRET internal remark"})
    staff.post(f"/api/v1/tickets/{hals['id']}/comments", json={"body": "We are on it."})

    hal_c, ivy_c, jon_c = (_sign_in(app, f"{n}@customer.test") for n in ("hal", "ivy", "jon"))
    try:
        home = hal_c.get("/portal/msp-a").text
        assert "Hal&#39;s laptop" in home and "Office Wi-Fi" not in home  # own tickets only
        page = hal_c.get(f"/portal/msp-a/tickets/{hals['id']}").text
        assert "We are on it." in page and "SECRET" not in page
        assert hal_c.get(f"/portal/msp-a/tickets/{office['id']}").status_code == 404
        assert hal_c.get(f"/portal/msp-a/tickets/{other['id']}").status_code == 404
        ivy_home = ivy_c.get("/portal/msp-a").text
        assert "Office Wi-Fi" in ivy_home and "Hal&#39;s laptop" in ivy_home and "Other customer" not in ivy_home
        assert 'data-testid="portal-time"' in ivy_home
        assert ivy_c.get(f"/portal/msp-a/tickets/{other['id']}").status_code == 404  # another organization
        assert jon_c.get(f"/portal/msp-a/tickets/{hals['id']}").status_code == 404
        r = jon_c.post(f"/portal/msp-a/tickets/{hals['id']}/reply",
                       data={"body": "hi", "_csrf": _csrf(jon_c, "/portal/msp-a/tickets/new")})
        assert r.status_code == 404
        # Opening a ticket for an organization one does not belong to is refused.
        r = hal_c.post("/portal/msp-a/tickets", data={"subject": "x", "organization_id": str(world.orgs["a-other"]),
                                                      "_csrf": _csrf(hal_c, "/portal/msp-a/tickets/new")})
        assert r.status_code == 400 and "your organizations" in r.text
        # Without the CSRF token nothing is created.
        assert hal_c.post("/portal/msp-a/tickets", data={"subject": "no token"}).status_code == 403
    finally:
        for c in (hal_c, ivy_c, jon_c):
            c.close()


def test_replies_reopen_resolved_tickets_and_closed_ones_are_final(world_app, staff) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    kim = _contact(staff, world.orgs["a"], "Kim")
    client = _sign_in(app, "kim@customer.test")
    try:
        token = _csrf(client, "/portal/msp-a/tickets/new")
        r = client.post("/portal/msp-a/tickets", data={"subject": "Mail quota", "description": "Full", "_csrf": token})
        assert r.status_code == 303
        ticket_id = int(r.headers["location"].split("/")[-1].split("?")[0])
        made = staff.get(f"/api/v1/tickets/{ticket_id}").json()
        assert made["source"] == "portal" and made["contact_id"] == kim["id"]
        statuses = {s["type"]: s["id"] for s in staff.get("/api/v1/ticket-statuses").json()}
        staff.patch(f"/api/v1/tickets/{ticket_id}", json={"status_id": statuses["resolved"]})
        r = client.post(f"/portal/msp-a/tickets/{ticket_id}/reply", data={"body": "Still full", "_csrf": token})
        assert r.status_code == 303
        after = staff.get(f"/api/v1/tickets/{ticket_id}").json()
        assert after["status_type"] == "open" and after["comments"][-1]["kind"] == "customer"
        staff.patch(f"/api/v1/tickets/{ticket_id}", json={"status_id": statuses["closed"]})
        r = client.post(f"/portal/msp-a/tickets/{ticket_id}/reply", data={"body": "again", "_csrf": token})
        assert r.status_code == 409 and "closed" in r.text
    finally:
        client.close()


def test_signing_in_and_losing_access(world_app, staff) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    lee = _contact(staff, world.orgs["a"], "Lee")
    with app.client(follow_redirects=False) as client:
        r = client.post("/portal/msp-a/login", data={"email": "lee@customer.test", "password": "wrong password 1"})
        assert r.status_code == 400 and "wrong e-mail or password" in r.text
        r = client.post("/portal/msp-a/login", data={"email": "nobody@customer.test", "password": PASSWORD})
        assert r.status_code == 400 and "wrong e-mail or password" in r.text  # the same answer
        r = client.post("/portal/msp-b/login", data={"email": "lee@customer.test", "password": PASSWORD})
        assert r.status_code == 400  # another tenant's portal does not know Lee
        assert client.get("/portal/no-such-tenant/login").status_code == 404
        r = client.post("/portal/msp-a/link", data={"email": "nobody@customer.test"})
        assert r.status_code == 200 and "a sign-in link is on its way" in r.text
    client = _sign_in(app, "lee@customer.test")
    try:
        assert client.get("/portal/msp-a").status_code == 200
        assert client.get("/api/v1/tickets").status_code == 401  # a portal session is no staff session
        assert client.get("/tickets").status_code == 303
        staff.put(f"/api/v1/contacts/{lee['id']}/portal", json={"enabled": False})
        r = client.get("/portal/msp-a")
        assert r.status_code == 303 and r.headers["location"] == "/portal/msp-a/login"
    finally:
        client.close()
    r = staff.put(f"/api/v1/contacts/{lee['id']}/portal", json={"enabled": True, "password": "short"})
    # Moving the sign-in address of a contact of two organizations needs both (it would hand over their tickets).
    staff.patch(f"/api/v1/contacts/{lee['id']}", json={"organization_ids": [world.orgs["a"], world.orgs["a-other"]]})
    staff.put(f"/api/v1/contacts/{lee['id']}/portal", json={"enabled": True})
    limited = Browser(app).login(world.people["a-limited"])
    try:
        r2 = limited.patch(f"/api/v1/contacts/{lee['id']}", json={"email": "attacker@evil.test"})
        assert r2.status_code == 403
    finally:
        limited.close()
    assert staff.get(f"/api/v1/contacts/{lee['id']}").json()["email"] == "lee@customer.test"
    assert r.status_code == 400
    events = {e["action"] for e in staff.get("/api/v1/audit").json()}
    assert {"portal_access.updated", "portal.login", "portal.login_failed"} <= events


def test_a_contact_turns_on_a_second_factor(world_app, staff) -> None:  # type: ignore[no-untyped-def]
    import re

    import pyotp

    from tests.support.identity import fresh_code

    app, world = world_app
    _contact(staff, world.orgs["a"], "Nia")
    client = _sign_in(app, "nia@customer.test")
    try:
        token = _csrf(client, "/portal/msp-a/security")
        page = client.post("/portal/msp-a/security", data={"action": "start", "_csrf": token}).text
        secret = re.search(r'data-testid="portal-totp-secret">([A-Z2-7]+)<', page).group(1)  # type: ignore[union-attr]
        r = client.post("/portal/msp-a/security", data={"action": "enable", "code": "000000", "_csrf": token})
        assert r.status_code == 400 and "not right" in r.text
        r = client.post("/portal/msp-a/security", data={"action": "enable", "code": fresh_code(secret), "_csrf": token})
        assert r.status_code == 303
        assert "On: signing in asks for a code" in client.get("/portal/msp-a/security").text
    finally:
        client.close()
    with app.client(follow_redirects=False) as again:
        r = again.post("/portal/msp-a/login", data={"email": "nia@customer.test", "password": PASSWORD})
        assert r.status_code == 303 and r.headers["location"] == "/portal/msp-a/mfa"
        r = again.get("/portal/msp-a")  # half signed in: nothing but the code page
        assert r.status_code == 303 and r.headers["location"] == "/portal/msp-a/login"
        assert again.get("/portal/msp-a/login").headers["location"] == "/portal/msp-a/mfa"
        token = _csrf(again, "/portal/msp-a/mfa")
        assert again.post("/portal/msp-a/mfa", data={"code": "123456", "_csrf": token}).status_code == 400
        code = fresh_code(secret)
        assert pyotp.TOTP(secret).verify(code, valid_window=1)
        assert again.post("/portal/msp-a/mfa", data={"code": code, "_csrf": token}).status_code == 303
        assert again.get("/portal/msp-a").status_code == 200


def test_files_go_both_ways_but_notes_files_stay_inside(world_app, staff) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    _contact(staff, world.orgs["a"], "Oli")
    _contact(staff, world.orgs["a-other"], "Pia", sees=True)
    oli, pia = _sign_in(app, "oli@customer.test"), _sign_in(app, "pia@customer.test")
    try:
        token = _csrf(oli, "/portal/msp-a/tickets/new")
        r = oli.post("/portal/msp-a/tickets", data={"subject": "Error dialog", "_csrf": token},
                     files={"file": ("error shot.png", b"\x89PNG screenshot", "image/png")})
        assert r.status_code == 303, r.text[:300]
        ticket_id = int(r.headers["location"].split("/")[-1].split("?")[0])
        detail = staff.get(f"/api/v1/tickets/{ticket_id}").json()
        assert [a["file_name"] for a in detail["attachments"]] == ["error shot.png"]
        staff.post(f"/api/v1/tickets/{ticket_id}/attachments", files={"file": ("vpn-config.txt", b"secret", "text/plain")})
        note = staff.post(f"/api/v1/tickets/{ticket_id}/comments", json={"kind": "note", "body": "internal"}).json()
        staff.post(f"/api/v1/tickets/{ticket_id}/attachments", data={"comment_id": str(note["id"])},
                   files={"file": ("passwords.txt", b"admin:hunter2", "text/plain")})
        page = oli.get(f"/portal/msp-a/tickets/{ticket_id}").text
        assert "error shot.png" in page and "passwords.txt" not in page
        assert "vpn-config.txt" not in page  # staff files on the ticket itself are internal
        ids = {a["file_name"]: a["id"] for a in staff.get(f"/api/v1/tickets/{ticket_id}").json()["attachments"]}
        r = oli.get(f"/portal/msp-a/tickets/{ticket_id}/files/{ids['error shot.png']}")
        assert r.status_code == 200 and r.content == b"\x89PNG screenshot"
        assert r.headers["content-disposition"].startswith("attachment;")
        assert r.headers["x-content-type-options"] == "nosniff"
        assert oli.get(f"/portal/msp-a/tickets/{ticket_id}/files/{ids['passwords.txt']}").status_code == 404
        assert oli.get(f"/portal/msp-a/tickets/{ticket_id}/files/{ids['vpn-config.txt']}").status_code == 404
        assert pia.get(f"/portal/msp-a/tickets/{ticket_id}/files/{ids['error shot.png']}").status_code == 404
        r = oli.post(f"/portal/msp-a/tickets/{ticket_id}/reply", data={"body": "Here is the log", "_csrf": token},
                     files={"file": ("app.log", b"line 1\nline 2\n", "text/plain")})
        assert r.status_code == 303
        files = staff.get(f"/api/v1/tickets/{ticket_id}").json()["attachments"]
        assert [f["file_name"] for f in files][-1] == "app.log" and files[-1]["comment_id"] is not None
    finally:
        oli.close()
        pia.close()


def test_the_portal_carries_the_tenants_logo(world_app, staff) -> None:  # type: ignore[no-untyped-def]
    app, _ = world_app
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    r = staff.put("/api/v1/portal-branding/logo", content=b"<svg onload=alert(1)>", headers={"Content-Type": "image/png"})
    assert r.status_code == 400 and "PNG, JPEG or WebP" in r.text
    r = staff.put("/api/v1/portal-branding/logo", content=b"\x89PNG\r\n\x1a\n" + b"x" * (256 * 1024),
                  headers={"Content-Type": "image/png"})
    assert r.status_code in (400, 413)
    assert staff.put("/api/v1/portal-branding/logo", content=png, headers={"Content-Type": "image/png"}).status_code == 204
    with app.client() as anyone:
        r = anyone.get("/portal/msp-a/logo")
        assert r.status_code == 200 and r.content == png and r.headers["content-type"] == "image/png"
        assert 'src="/portal/msp-a/logo"' in anyone.get("/portal/msp-a/login").text
        assert anyone.get("/portal/msp-b/logo").status_code == 404  # another tenant has none
    assert staff.put("/api/v1/portal-branding/logo", content=b"").status_code == 204
    with app.client() as anyone:
        assert anyone.get("/portal/msp-a/logo").status_code == 404
