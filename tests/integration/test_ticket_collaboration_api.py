"""Ticket collaboration over HTTP on the real server: attachments (limit, storage, download headers, deletion),
links and merge, CCs, @mentions, search, and other tenants / organizations kept out of every new route."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.support.identity import Browser

APPLIANCE_ENV = {"NINJAIT_ATTACHMENT_MAX_MIB": "1"}
MIB = 1024 * 1024


@pytest.fixture(scope="module")
def desk(world_app):  # type: ignore[no-untyped-def]
    app, world = world_app
    admin = Browser(app).login(world.people["a-organizationadmin"])
    yield admin
    admin.close()


def new_ticket(desk: Browser, org: int, subject: str = "Printer jams") -> dict[str, Any]:
    r = desk.post("/api/v1/tickets", json={"subject": subject, "organization_id": org})
    assert r.status_code == 201, r.text
    return r.json()


def files_on_disk(app: Any) -> list[Path]:
    root = Path(app.data_dir) / "attachments"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_attachments_are_stored_under_server_names_and_served_as_downloads(world_app, desk) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    t = new_ticket(desk, world.orgs["a"])
    name = 'Bericht März "final";.html'
    r = desk.post(f"/api/v1/tickets/{t['id']}/attachments",
                  files={"file": (name, b"<script>alert(1)</script>", "text/html")})
    assert r.status_code == 201, r.text
    a = r.json()
    assert a["file_name"] == name and a["content_type"] == "application/octet-stream" and a["size"] == 25
    stored = [p for p in files_on_disk(app) if p.stat().st_size == 25]
    assert len(stored) == 1 and "rz" not in stored[0].name and stored[0].parent.name == str(world.tenants["a"])

    got = desk.get(f"/api/v1/ticket-attachments/{a['id']}")
    assert got.status_code == 200 and got.content == b"<script>alert(1)</script>"
    assert got.headers["content-type"].startswith("application/octet-stream")
    assert got.headers["x-content-type-options"] == "nosniff"
    disposition = got.headers["content-disposition"]
    assert disposition.startswith("attachment; filename=\"Bericht M_rz _final__.html\"")
    assert f"filename*=UTF-8''{quote(name, safe='')}" in disposition
    assert "sandbox" in got.headers["content-security-policy"]
    page = desk.get(f"/tickets/attachments/{a['id']}")
    assert page.status_code == 200 and page.headers["content-disposition"] == disposition

    pdf = desk.post(f"/api/v1/tickets/{t['id']}/attachments",
                    files={"file": ("../../etc/passwd.pdf", b"%PDF-1.4", "application/pdf")}).json()
    assert pdf["file_name"] == "passwd.pdf" and pdf["content_type"] == "application/pdf"
    listed = desk.get(f"/api/v1/tickets/{t['id']}").json()["attachments"]
    assert [x["id"] for x in listed] == [a["id"], pdf["id"]]

    assert desk.delete(f"/api/v1/ticket-attachments/{a['id']}").status_code == 204
    assert desk.get(f"/api/v1/ticket-attachments/{a['id']}").status_code == 404
    assert not any(p.stat().st_size == 25 for p in files_on_disk(app))  # the file went with its row


def test_attachments_on_comments_and_bad_uploads(world_app, desk) -> None:  # type: ignore[no-untyped-def]
    _, world = world_app
    t = new_ticket(desk, world.orgs["a"])
    comment = desk.post(f"/api/v1/tickets/{t['id']}/comments", json={"body": "log attached"}).json()
    r = desk.post(f"/api/v1/tickets/{t['id']}/attachments", data={"comment_id": str(comment["id"])},
                  files={"file": ("log.txt", b"line 1", "text/plain")})
    assert r.status_code == 201 and r.json()["comment_id"] == comment["id"], r.text
    other = new_ticket(desk, world.orgs["a"])
    r = desk.post(f"/api/v1/tickets/{other['id']}/attachments", data={"comment_id": str(comment["id"])},
                  files={"file": ("log.txt", b"line 1", "text/plain")})
    assert r.status_code == 400 and "comment_id" in r.text
    r = desk.post(f"/api/v1/tickets/{t['id']}/attachments", files={"file": ("empty.txt", b"", "text/plain")})
    assert r.status_code == 400 and "empty" in r.text
    r = desk.post(f"/api/v1/tickets/{t['id']}/attachments", json={"file": "x"})
    assert r.status_code == 400


def test_files_over_the_limit_answer_413_and_leave_nothing(world_app, desk) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    t = new_ticket(desk, world.orgs["a"])
    before = files_on_disk(app)
    r = desk.post(f"/api/v1/tickets/{t['id']}/attachments",
                  files={"file": ("big.bin", b"x" * (MIB + 1), "application/octet-stream")})
    assert r.status_code == 413, r.text
    assert "1 MiB" in r.json()["detail"] and "attachment_max_mib" in r.json()["detail"]
    assert files_on_disk(app) == before  # no temporary left behind either
    assert desk.get(f"/api/v1/tickets/{t['id']}").json()["attachments"] == []
    exactly = desk.post(f"/api/v1/tickets/{t['id']}/attachments", files={"file": ("ok.bin", b"x" * MIB)})
    assert exactly.status_code == 201, exactly.text


def test_the_ticket_page_attaches_links_merges_and_redirects(world_app, desk) -> None:  # type: ignore[no-untyped-def]
    _, world = world_app
    survivor, merged = new_ticket(desk, world.orgs["a"], "Mail down"), new_ticket(desk, world.orgs["a"], "No mail")
    r = desk.client.post(f"/tickets/{merged['id']}/attachments", data={"_csrf": desk.csrf},
                         files={"file": ("screen.png", b"\x89PNG....", "image/png")})
    assert r.status_code == 303 and "file-attached" in r.headers["location"], r.text[:300]
    r = desk.client.post(f"/tickets/{merged['id']}/links", data={"_csrf": desk.csrf, "other": survivor["number"],
                                                                 "kind": "parent"})
    assert r.status_code == 303, r.text[:300]
    page = desk.get(f"/tickets/{survivor['id']}").text
    assert merged["number"] in page and 'data-testid="link"' in page
    r = desk.client.post(f"/tickets/{merged['id']}/links", data={"_csrf": desk.csrf, "other": "T-99999"})
    assert r.status_code == 400 and "T-99999" in r.text
    r = desk.client.post(f"/tickets/{merged['id']}/ccs", data={"_csrf": desk.csrf, "emails": "a@x.test; B@x.test"})
    assert r.status_code == 303
    r = desk.client.post(f"/tickets/{merged['id']}/merge", data={"_csrf": desk.csrf,
                                                                 "into": survivor["number"].lower()})
    assert r.status_code == 303 and r.headers["location"].startswith(f"/tickets/{survivor['id']}?")
    r = desk.get(f"/tickets/{merged['id']}")
    assert r.status_code == 303 and r.headers["location"].startswith(f"/tickets/{survivor['id']}?")
    api = desk.get(f"/api/v1/tickets/{merged['id']}").json()
    assert api["merged_into"] == {"id": survivor["id"], "number": survivor["number"]}
    kept = desk.get(f"/api/v1/tickets/{survivor['id']}").json()
    assert [a["file_name"] for a in kept["attachments"]] == ["screen.png"]
    assert [c["email"] for c in kept["ccs"]] == ["a@x.test", "b@x.test"]
    page = desk.get(f"/tickets/{survivor['id']}").text
    assert "screen.png" in page and "a@x.test" in page


def test_ccs_take_addresses_and_contacts_of_the_organization(world_app, desk) -> None:  # type: ignore[no-untyped-def]
    _, world = world_app
    t = new_ticket(desk, world.orgs["a"])
    ann = desk.post("/api/v1/contacts", json={"name": "Ann", "email": "ann@customer-a.test",
                                              "organization_id": world.orgs["a"]}).json()
    zed = desk.post("/api/v1/contacts", json={"name": "Zed", "email": "zed@other.test",
                                              "organization_id": world.orgs["a-other"]}).json()
    r = desk.put(f"/api/v1/tickets/{t['id']}/ccs", json={"emails": ["Boss@Customer-a.test", "boss@customer-a.test"],
                                                        "contact_ids": [ann["id"]]})
    assert r.status_code == 200, r.text
    assert r.json() == [{"email": "ann@customer-a.test", "contact_id": ann["id"], "contact_name": "Ann"},
                        {"email": "boss@customer-a.test", "contact_id": None, "contact_name": None}]
    for body, field in (({"emails": ["not-mail"]}, "emails"), ({"contact_ids": [zed["id"]]}, "contact_ids"),
                        ({"emails": [f"u{i}@x.test" for i in range(51)]}, "emails")):
        r = desk.put(f"/api/v1/tickets/{t['id']}/ccs", json=body)
        assert r.status_code == 400 and field in r.text, r.text
    assert len(desk.get(f"/api/v1/tickets/{t['id']}/ccs").json()) == 2  # refused changes left the list as it was
    assert desk.put(f"/api/v1/tickets/{t['id']}/ccs", json={}).json() == []


def test_mentions_notify_only_people_who_may_read_the_ticket(world_app, desk) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    tech = Browser(app).login(world.people["a-technician"])
    limited = Browser(app).login(world.people["a-limited"])
    try:
        own_org = new_ticket(desk, world.orgs["a"], "Own org")
        other_org = new_ticket(desk, world.orgs["a-other"], "Other org")
        body = "@technician @limited and @nobody, mail me at someone@technician.test (@organizationadmin is me)"
        assert desk.post(f"/api/v1/tickets/{other_org['id']}/comments",
                         json={"kind": "note", "body": body}).status_code == 201
        assert desk.post(f"/api/v1/tickets/{own_org['id']}/comments",
                         json={"body": f"Thanks @{world.people['a-limited'].email}."}).status_code == 201
        tech_seen = [(m["ticket_id"], m["actor"]) for m in tech.get("/api/v1/me/mentions").json()]
        assert tech_seen == [(other_org["id"], world.people["a-organizationadmin"].email)]
        assert [m["ticket_id"] for m in limited.get("/api/v1/me/mentions").json()] == [own_org["id"]]
        assert desk.get("/api/v1/me/mentions").json() == []  # authors are not notified of themselves
        assert 'data-testid="mentions-unread">1<' in tech.get("/tickets").text
        assert "Other org" in tech.get("/tickets/mentions").text
        assert tech.post("/api/v1/me/mentions/read", json={}).status_code == 204
        assert tech.get("/api/v1/me/mentions", params={"unread": True}).json() == []
        events = [e["action"] for e in desk.get("/api/v1/audit", params={"object_type": "ticket"}).json()]
        assert "ticket.mentioned" in events
    finally:
        tech.close()
        limited.close()


def test_search_through_the_api_and_the_list_page(world_app, desk) -> None:  # type: ignore[no-untyped-def]
    _, world = world_app
    t = new_ticket(desk, world.orgs["a"], "Projector flickers in room Aurora")
    r = desk.get("/api/v1/tickets", params={"q": "aurora"})
    assert r.status_code == 200 and [x["id"] for x in r.json()] == [t["id"]]
    assert "Aurora" in r.json()[0]["snippet"] and r.headers["x-total-count"] == "1"
    for hostile in ('"', "aurora*", "NEAR(", "-aurora", "a:b"):
        assert desk.get("/api/v1/tickets", params={"q": hostile}).status_code == 200, hostile
    page = desk.get("/tickets", params={"q": "aurora"}).text
    assert "<mark>Aurora</mark>" in page and 'data-testid="snippet"' in page


def test_other_tenants_and_organizations_get_404(world_app, desk) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    t = new_ticket(desk, world.orgs["a-other"], "Secret")
    mine = new_ticket(desk, world.orgs["a"], "Mine")
    a = desk.post(f"/api/v1/tickets/{t['id']}/attachments", files={"file": ("s.txt", b"secret")}).json()
    desk.post(f"/api/v1/tickets/{t['id']}/links", json={"other_id": mine["id"]})
    intruder = Browser(app).login(world.people["b-organizationadmin"])
    limited = Browser(app).login(world.people["a-limited"])
    try:
        for who in (intruder, limited):
            for method, url, kwargs in (
                    ("GET", f"/api/v1/ticket-attachments/{a['id']}", {}),
                    ("DELETE", f"/api/v1/ticket-attachments/{a['id']}", {}),
                    ("GET", f"/tickets/attachments/{a['id']}", {}),
                    ("GET", f"/api/v1/tickets/{t['id']}/attachments", {}),
                    ("POST", f"/api/v1/tickets/{t['id']}/attachments", {"files": {"file": ("x.txt", b"x")}}),
                    ("GET", f"/api/v1/tickets/{t['id']}/ccs", {}),
                    ("PUT", f"/api/v1/tickets/{t['id']}/ccs", {"json": {"emails": ["x@y.test"]}}),
                    ("POST", f"/api/v1/tickets/{t['id']}/merge", {"json": {"into_id": mine["id"]}}),
                    ("POST", f"/api/v1/tickets/{t['id']}/links", {"json": {"other_id": mine["id"]}}),
                    ("DELETE", f"/api/v1/tickets/{t['id']}/links/{mine['id']}", {})):
                r = who.request(method, url, **kwargs)
                assert r.status_code == 404, (who, method, url, r.status_code, r.text[:200])
        r = limited.post(f"/api/v1/tickets/{mine['id']}/merge", json={"into_id": t["id"]})
        assert r.status_code == 400 and "into_id" in r.text  # the survivor must be theirs too
        assert limited.get(f"/api/v1/tickets/{mine['id']}").json()["links"] == []
        assert intruder.get("/api/v1/tickets", params={"q": "secret"}).json() == []
        assert limited.get("/api/v1/tickets", params={"q": "secret"}).json() == []
    finally:
        intruder.close()
        limited.close()
    assert desk.get(f"/api/v1/ticket-attachments/{a['id']}").content == b"secret"
    assert desk.get(f"/api/v1/tickets/{t['id']}").json()["merged_into"] is None
