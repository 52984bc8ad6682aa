"""The knowledge base on the real server: Markdown rendered safely, versions, full-text search (hostile input
included), tenant and visibility scoping, articles on tickets, and what the client portal shows."""

from __future__ import annotations

import pytest

from tests.support.identity import Browser

PASSWORD = "Portal-Pass-2026-long"


@pytest.fixture(scope="module")
def staff(world_app):  # type: ignore[no-untyped-def]
    app, world = world_app
    admin = Browser(app).login(world.people["a-organizationadmin"])
    yield admin
    admin.close()


@pytest.fixture(scope="module")
def articles(staff):  # type: ignore[no-untyped-def]
    category = staff.post("/api/v1/kb/categories", json={"name": "Printing"}).json()
    made = {}
    for key, title, body, visibility in (
            ("fuser", "Replacing the fuser of an office printer", "Turn the printer **off** and wait for the fuser "
             "to cool down.\n\n<script>alert(1)</script>\n\n[click](javascript:alert(1))", "public"),
            ("vpn", "VPN client keeps disconnecting", "Check the MTU of the tunnel; set it to 1380.", "internal"),
            ("scanner", "Scanner cannot send e-mail", "Update the SMTP password on the scanner's web page.",
             "public")):
        r = staff.post("/api/v1/kb/articles", json={"title": title, "body": body, "visibility": visibility,
                                                    "category_id": category["id"] if key == "fuser" else None})
        assert r.status_code == 201, r.text
        made[key] = r.json()
    return made


def test_markdown_is_rendered_safely_and_every_save_is_a_version(staff, articles) -> None:  # type: ignore[no-untyped-def]
    fuser = staff.get(f"/api/v1/kb/articles/{articles['fuser']['id']}").json()
    assert "<strong>off</strong>" in fuser["html"]
    assert "<script" not in fuser["html"] and "&lt;script&gt;" in fuser["html"]  # shown as text, never run
    assert 'href="javascript' not in fuser["html"]
    assert fuser["category"] == "Printing" and fuser["version"] == 1
    r = staff.patch(f"/api/v1/kb/articles/{fuser['id']}", json={"body": "Turn it off first.", "expected_version": 1})
    assert r.status_code == 200 and r.json()["version"] == 2
    r = staff.patch(f"/api/v1/kb/articles/{fuser['id']}", json={"title": "Stale edit", "expected_version": 1})
    assert r.status_code == 409 and "version 2" in r.text
    history = staff.get(f"/api/v1/kb/articles/{fuser['id']}/versions").json()
    assert [v["version"] for v in history] == [2, 1] and "cool down" in history[1]["body"]
    r = staff.post("/api/v1/kb/articles", json={"title": "", "body": "x"})
    assert r.status_code == 400 and "title" in r.text
    r = staff.post("/api/v1/kb/articles", json={"title": "x", "category_id": 999999})
    assert r.status_code == 400 and "category_id" in r.text


@pytest.mark.parametrize("query", ['"unbalanced', "fus*", "NEAR(vpn mtu)", "-vpn", "vpn OR", "(", "AND", "'; DROP",
                                   "ü ñ 漢字", "x" * 199])
def test_any_search_text_answers_without_errors(staff, articles, query: str) -> None:  # type: ignore[no-untyped-def]
    r = staff.get("/api/v1/kb/articles", params={"q": query})
    assert r.status_code == 200, (query, r.text)


def test_search_ranks_matches_by_words_and_prefixes(staff, articles) -> None:  # type: ignore[no-untyped-def]
    hits = staff.get("/api/v1/kb/articles", params={"q": "scanner smtp"}).json()
    assert [h["id"] for h in hits] == [articles["scanner"]["id"]] and "[SMTP]" in hits[0]["snippet"]
    assert [h["id"] for h in staff.get("/api/v1/kb/articles", params={"q": "disconn"}).json()] == [
        articles["vpn"]["id"]]  # the last word may be the start of a word
    public = staff.get("/api/v1/kb/articles", params={"q": "vpn", "visibility": "public"}).json()
    assert public == []
    assert staff.get("/api/v1/kb/articles", params={"q": "x" * 201}).status_code == 400


def test_another_tenant_sees_no_article(world_app, articles) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    other = Browser(app).login(world.people["b-organizationadmin"])
    try:
        assert other.get("/api/v1/kb/articles", params={"q": "scanner"}).json() == []
        assert other.get("/api/v1/kb/articles").json() == []
        assert other.get(f"/api/v1/kb/articles/{articles['scanner']['id']}").status_code == 404
    finally:
        other.close()


def test_articles_on_tickets_and_in_the_portal(world_app, staff, articles) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    ticket = staff.post("/api/v1/tickets", json={"subject": "Scanner fails to send mail",
                                                 "organization_id": world.orgs["a"]}).json()
    fragment = staff.get(f"/tickets/{ticket['id']}/kb").text  # suggestions from the subject
    assert "Scanner cannot send e-mail" in fragment and "Insert into reply" in fragment
    assert staff.post(f"/api/v1/tickets/{ticket['id']}/articles",
                      json={"article_id": articles["scanner"]["id"]}).status_code == 204
    linked = staff.get(f"/api/v1/tickets/{ticket['id']}/articles").json()
    assert [a["id"] for a in linked] == [articles["scanner"]["id"]]
    assert "Scanner cannot send e-mail" in staff.get(f"/tickets/{ticket['id']}").text

    contact = staff.post("/api/v1/contacts", json={"name": "Max", "email": "max@customer.test",
                                                  "organization_id": world.orgs["a"]}).json()
    staff.put(f"/api/v1/contacts/{contact['id']}/portal", json={"enabled": True, "password": PASSWORD})
    with app.client(follow_redirects=False) as portal:
        assert portal.post("/portal/msp-a/login", data={"email": "max@customer.test", "password": PASSWORD}
                           ).status_code == 303
        listing = portal.get("/portal/msp-a/kb").text
        assert "Scanner cannot send e-mail" in listing and "VPN client" not in listing  # public only
        assert portal.get(f"/portal/msp-a/kb/{articles['vpn']['id']}").status_code == 404
        assert "SMTP password" in portal.get(f"/portal/msp-a/kb/{articles['scanner']['id']}").text
        suggested = portal.get("/portal/msp-a/kb/suggest", params={"subject": "my scanner will not email"}).text
        assert "Scanner cannot send e-mail" in suggested
        assert portal.get("/portal/msp-a/kb/suggest", params={"subject": "vpn"}).text.strip() == ""
