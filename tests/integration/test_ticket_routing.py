"""Teams, queues and routing rules on the real server: placement of tickets, rule order, conditions and
actions, round-robin and least-open assignment, rules on update, scoping and bad input."""

from __future__ import annotations

import pytest

from tests.support.identity import PASSWORD, Browser


@pytest.fixture(scope="module")
def desk(admin):  # type: ignore[no-untyped-def]
    return admin  # tenant A's Organization Admin (conftest)


def _user(desk: Browser, email: str, orgs: list[int] | None = None) -> int:
    r = desk.post("/api/v1/users", json={"email": email, "name": email.split("@")[0], "password": PASSWORD,
                                         "roles": [{"role": "Technician", "organization_ids": orgs}]})
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def _open(desk: Browser, org: int, subject: str = "Something", **extra) -> dict:  # type: ignore[no-untyped-def]
    r = desk.post("/api/v1/tickets", json={"subject": subject, "organization_id": org, **extra})
    assert r.status_code == 201, r.text
    return r.json()


def _clear_rules(desk: Browser) -> None:
    for rule in desk.get("/api/v1/routing-rules").json():
        assert desk.delete(f"/api/v1/routing-rules/{rule['id']}").status_code == 204


def test_teams_and_queues_place_tickets_and_filter_the_list(world_app, desk) -> None:  # type: ignore[no-untyped-def]
    _, world = world_app
    tech = world.people["a-technician"].user_id
    team = desk.post("/api/v1/ticket-teams", json={"name": "Network", "member_ids": [tech]})
    assert team.status_code == 201, team.text
    assert team.json()["member_ids"] == [tech] and team.json()["strategy"] == "manual"
    assert desk.post("/api/v1/ticket-teams", json={"name": "Network"}).status_code == 409
    queue = desk.post("/api/v1/ticket-queues", json={"name": "Level 1", "team_id": team.json()["id"]}).json()
    t = _open(desk, world.orgs["a"], queue_id=queue["id"])
    assert (t["queue_name"], t["team_id"], t["team_name"]) == ("Level 1", team.json()["id"], "Network")
    other = _open(desk, world.orgs["a"])
    assert other["queue_id"] is None and other["team_id"] is None
    listed = [x["id"] for x in desk.get("/api/v1/tickets", params={"queue_id": queue["id"]}).json()]
    assert listed == [t["id"]]
    assert [x["id"] for x in desk.get("/api/v1/tickets", params={"team_id": team.json()["id"]}).json()] == [t["id"]]
    moved = desk.patch(f"/api/v1/tickets/{t['id']}", json={"clear_queue": True, "clear_team": True}).json()
    assert moved["queue_id"] is None and moved["team_id"] is None
    assert [(x["field"], x["old_value"], x["new_value"]) for x in moved["transitions"][-2:]] == [
        ("queue", "Level 1", ""), ("team", "Network", "")]
    page = desk.get("/tickets", params={"team_id": str(team.json()["id"]), "view": "all"})
    assert page.status_code == 200 and 'id="f-team"' in page.text
    for body, field in (({"name": "x", "member_ids": [999999]}, "member_ids"), ({"name": " "}, "name")):
        r = desk.post("/api/v1/ticket-teams", json=body)
        assert r.status_code == 400 and field in r.text, r.text
    r = desk.post("/api/v1/ticket-queues", json={"name": "Bad", "team_id": 999999})
    assert r.status_code == 400 and "team_id" in r.text
    r = desk.post("/api/v1/tickets", json={"subject": "x", "organization_id": world.orgs["a"], "queue_id": 999999})
    assert r.status_code == 400 and "queue_id" in r.text
    # Deleting a team leaves its queue and tickets without one; deleting a queue leaves its tickets without one.
    placed = _open(desk, world.orgs["a"], queue_id=queue["id"])
    assert desk.delete(f"/api/v1/ticket-teams/{team.json()['id']}").status_code == 204
    assert desk.get(f"/api/v1/ticket-queues/{queue['id']}").json()["team_id"] is None
    assert desk.get(f"/api/v1/tickets/{placed['id']}").json()["team_id"] is None
    assert desk.delete(f"/api/v1/ticket-queues/{queue['id']}").status_code == 204
    assert desk.get(f"/api/v1/tickets/{placed['id']}").json()["queue_id"] is None
    assert desk.get(f"/api/v1/ticket-queues/{queue['id']}").status_code == 404


def test_rules_apply_in_order_first_match_wins_unless_continue(world_app, desk) -> None:  # type: ignore[no-untyped-def]
    _, world = world_app
    _clear_rules(desk)
    tech = world.people["a-technician"]
    team = desk.post("/api/v1/ticket-teams", json={"name": "Printing"}).json()
    queue = desk.post("/api/v1/ticket-queues", json={"name": "Hardware", "team_id": team["id"]}).json()
    first = desk.post("/api/v1/routing-rules", json={
        "name": "Printers", "conditions": {"keywords": ["PRINTER"], "organization_ids": [world.orgs["a"]]},
        "actions": {"queue_id": queue["id"], "assignee_id": tech.user_id, "tags": ["Hardware"]}})
    assert first.status_code == 201, first.text
    urgent = desk.post("/api/v1/routing-rules", json={
        "name": "Urgent", "conditions": {"keywords": ["urgent"]}, "actions": {"priority": "P1"}}).json()
    fallback = desk.post("/api/v1/routing-rules", json={
        "name": "Alerts", "conditions": {"sources": ["alert"]}, "actions": {"tags": ["monitoring"]}}).json()
    assert [r["position"] for r in desk.get("/api/v1/routing-rules").json()] == [1, 2, 3]

    t = _open(desk, world.orgs["a"], "The printer is URGENT", description="")
    # The first matching rule stops the evaluation: no P1 from the second.
    assert (t["queue_id"], t["team_id"], t["assignee_id"], t["priority"], t["tags"]) == (
        queue["id"], team["id"], tech.user_id, "P3", ["hardware"])
    routed = [(x["field"], x["new_value"], x["actor"]) for x in t["transitions"] if x["actor"].startswith("routing")]
    assert routed == [("assignee", tech.email, "routing: Printers"), ("queue", "Hardware", "routing: Printers"),
                      ("team", "Printing", "routing: Printers")]
    # Another organization: the first rule's condition fails, the second matches.
    elsewhere = _open(desk, world.orgs["a-other"], "printer urgent")
    assert elsewhere["priority"] == "P1" and elsewhere["queue_id"] is None
    assert ("priority", "P3", "P1") in [(x["field"], x["old_value"], x["new_value"]) for x in elsewhere["transitions"]]
    plain = _open(desk, world.orgs["a"], "Mail is slow")
    assert plain["tags"] == [] and plain["priority"] == "P3" and plain["queue_id"] is None

    # continue_after: the printer rule lets the urgent rule run too.
    desk.put(f"/api/v1/routing-rules/{first.json()['id']}", json={**{k: first.json()[k] for k in (
        "name", "conditions", "actions")}, "continue_after": True})
    both = _open(desk, world.orgs["a"], "urgent: printer jam")
    assert (both["priority"], both["queue_id"], both["tags"]) == ("P1", queue["id"], ["hardware"])
    # Reordering: the urgent rule first (no continue) stops before the printer rule.
    order = desk.put("/api/v1/routing-rules/order", json={"rule_ids": [urgent["id"], first.json()["id"],
                                                                       fallback["id"]]})
    assert order.status_code == 200 and [r["name"] for r in order.json()] == ["Urgent", "Printers", "Alerts"]
    swapped = _open(desk, world.orgs["a"], "urgent: printer jam")
    assert swapped["priority"] == "P1" and swapped["queue_id"] is None
    assert desk.put("/api/v1/routing-rules/order", json={"rule_ids": [urgent["id"]]}).status_code == 400


def test_rule_conditions_on_category_priority_and_source(world_app, desk) -> None:  # type: ignore[no-untyped-def]
    _, world = world_app
    _clear_rules(desk)
    desk.post("/api/v1/routing-rules", json={
        "name": "Billing P2", "conditions": {"categories": ["Billing"], "priorities": ["P2"], "sources": ["api"]},
        "actions": {"tags": ["finance"]}})
    assert _open(desk, world.orgs["a"], category="billing", priority="P2")["tags"] == ["finance"]  # case-insensitive
    assert _open(desk, world.orgs["a"], category="billing", priority="P3")["tags"] == []
    assert _open(desk, world.orgs["a"], category="network", priority="P2")["tags"] == []


def test_rules_on_update_run_only_when_flagged(world_app, desk) -> None:  # type: ignore[no-untyped-def]
    _, world = world_app
    _clear_rules(desk)
    desk.post("/api/v1/routing-rules", json={"name": "VIP at creation", "conditions": {"categories": ["vip"]},
                                             "actions": {"tags": ["vip"]}})
    desk.post("/api/v1/routing-rules", json={"name": "P1 escalates", "on_update": True,
                                             "conditions": {"priorities": ["P1"]}, "actions": {"tags": ["escalated"]}})
    t = _open(desk, world.orgs["a"])
    changed = desk.patch(f"/api/v1/tickets/{t['id']}", json={"category": "vip"}).json()
    assert changed["tags"] == []  # the first rule does not run on update
    changed = desk.patch(f"/api/v1/tickets/{t['id']}", json={"priority": "P1"}).json()
    assert changed["tags"] == ["escalated"]


def test_round_robin_skips_disabled_people_and_those_without_the_organization(world_app, desk) -> None:  # type: ignore[no-untyped-def]
    _, world = world_app
    _clear_rules(desk)
    ann = _user(desk, "ann.rr@msp-a.test")
    bob = _user(desk, "bob.rr@msp-a.test", [world.orgs["a"]])  # only organization A
    cid = _user(desk, "cid.rr@msp-a.test")
    dan = _user(desk, "dan.rr@msp-a.test")
    assert desk.patch(f"/api/v1/users/{dan}", json={"disabled": True}).status_code == 200
    team = desk.post("/api/v1/ticket-teams", json={"name": "Round", "strategy": "round_robin",
                                                   "member_ids": [dan, cid, bob, ann]}).json()
    desk.post("/api/v1/routing-rules", json={"name": "To round", "conditions": {"keywords": ["round"]},
                                             "actions": {"team_id": team["id"]}})
    got = [_open(desk, world.orgs["a"], "round")["assignee_id"] for _ in range(4)]
    assert got == [ann, bob, cid, ann]
    # Organization "a-other": bob may not work there; the turn moves on from the last pick (ann).
    got = [_open(desk, world.orgs["a-other"], "round")["assignee_id"] for _ in range(3)]
    assert got == [cid, ann, cid]
    # A ticket opened with an assignee keeps it and takes no turn.
    assert _open(desk, world.orgs["a"], "round", assignee_id=bob)["assignee_id"] == bob
    assert _open(desk, world.orgs["a"], "round")["assignee_id"] == ann


def test_least_open_tickets_with_ties_by_user_id(world_app, desk) -> None:  # type: ignore[no-untyped-def]
    _, world = world_app
    _clear_rules(desk)
    eve = _user(desk, "eve.lo@msp-a.test")
    fay = _user(desk, "fay.lo@msp-a.test")
    team = desk.post("/api/v1/ticket-teams", json={"name": "Least", "strategy": "least_open",
                                                   "member_ids": [fay, eve]}).json()
    desk.post("/api/v1/routing-rules", json={"name": "To least", "conditions": {"keywords": ["least"]},
                                             "actions": {"team_id": team["id"]}})
    _open(desk, world.orgs["a"], "x", assignee_id=fay)
    _open(desk, world.orgs["a"], "x", assignee_id=fay)
    got = [_open(desk, world.orgs["a"], "least")["assignee_id"] for _ in range(3)]
    assert got == [eve, eve, eve if eve < fay else fay]  # 0/2, 1/2, then 2/2: the tie goes to the lower id
    closed = next(s["id"] for s in desk.get("/api/v1/ticket-statuses").json() if s["type"] == "closed")
    for t in desk.get("/api/v1/tickets", params={"assignee_id": eve}).json():
        desk.patch(f"/api/v1/tickets/{t['id']}", json={"status_id": closed})  # closed tickets do not count
    assert _open(desk, world.orgs["a"], "least")["assignee_id"] == eve


def test_rule_bad_input_and_tenant_wide_settings(world_app, desk) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    for body, field in (({"name": "x", "actions": {}}, "actions"),
                        ({"name": "x", "actions": {"queue_id": 999999}}, "actions.queue_id"),
                        ({"name": "x", "actions": {"assignee_id": 999999}}, "actions.assignee_id"),
                        ({"name": "x", "conditions": {"organization_ids": [999999]}, "actions": {"tags": ["a"]}},
                         "conditions.organization_ids"),
                        ({"name": "x", "conditions": {"sources": ["pigeon"]}, "actions": {"tags": ["a"]}},
                         "conditions.sources")):
        r = desk.post("/api/v1/routing-rules", json=body)
        assert r.status_code == 400 and field in r.text, (body, r.text)
    limited = Browser(app).login(world.people["a-limited"])
    try:
        assert limited.get("/api/v1/routing-rules").status_code == 200
        for path, body in (("/api/v1/routing-rules", {"name": "x", "actions": {"priority": "P1"}}),
                           ("/api/v1/ticket-teams", {"name": "Mine"}), ("/api/v1/ticket-queues", {"name": "Mine"})):
            assert limited.post(path, json=body).status_code == 403, path
    finally:
        limited.close()


def test_another_tenant_cannot_use_or_see_teams_queues_and_rules(world_app, desk) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    team = desk.post("/api/v1/ticket-teams", json={"name": "Secret team"}).json()
    queue = desk.post("/api/v1/ticket-queues", json={"name": "Secret queue"}).json()
    rule = desk.post("/api/v1/routing-rules", json={"name": "Secret", "actions": {"tags": ["a"]}}).json()
    intruder = Browser(app).login(world.people["b-organizationadmin"])
    try:
        assert intruder.get("/api/v1/ticket-teams").json() == []
        assert intruder.get("/api/v1/routing-rules").json() == []
        for path in (f"/api/v1/ticket-teams/{team['id']}", f"/api/v1/ticket-queues/{queue['id']}",
                     f"/api/v1/routing-rules/{rule['id']}"):
            assert intruder.get(path).status_code == 404
            assert intruder.delete(path).status_code == 404
        r = intruder.post("/api/v1/tickets", json={"subject": "x", "organization_id": world.orgs["b"],
                                                   "queue_id": queue["id"], "team_id": team["id"]})
        assert r.status_code == 400 and "queue_id" in r.text
        r = intruder.post("/api/v1/routing-rules", json={"name": "x", "actions": {"team_id": team["id"]}})
        assert r.status_code == 400 and "actions.team_id" in r.text
        own = intruder.post("/api/v1/tickets", json={"subject": "B", "organization_id": world.orgs["b"]}).json()
        assert own["tags"] == []  # tenant A's rules never touch tenant B's tickets
    finally:
        intruder.close()
    assert desk.get(f"/api/v1/ticket-teams/{team['id']}").json()["name"] == "Secret team"


def test_the_routes_are_in_the_openapi_schema(desk) -> None:  # type: ignore[no-untyped-def]
    paths = desk.get("/api/schema/openapi.json").json()["paths"]
    for path in ("/api/v1/ticket-teams", "/api/v1/ticket-queues/{queue_id}", "/api/v1/routing-rules/order",
                 "/api/v1/canned-responses", "/api/v1/ticket-macros/{macro_id}",
                 "/api/v1/tickets/{ticket_id}/macros/{macro_id}", "/api/v1/recurring-tickets/{recurring_id}/run"):
        assert path in paths, path
    assert "tickets" in paths["/api/v1/routing-rules"]["post"]["tags"]


def test_the_set_up_page_adds_teams_queues_rules_canned_responses_and_macros(world_app, desk) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    _clear_rules(desk)
    tech = world.people["a-technician"].user_id
    assert desk.post("/tickets/desk/teams", data={"name": "Form team", "strategy": "round_robin",
                                                  "member_ids": [str(tech)]}).status_code == 303
    team = next(t for t in desk.get("/api/v1/ticket-teams").json() if t["name"] == "Form team")
    assert team["member_ids"] == [tech] and team["strategy"] == "round_robin"
    assert desk.post("/tickets/desk/queues", data={"name": "Form queue", "team_id": str(team["id"])}).status_code == 303
    queue = next(q for q in desk.get("/api/v1/ticket-queues").json() if q["name"] == "Form queue")
    r = desk.post("/tickets/desk/rules", data={"name": "Form rule", "keywords": "Disk, Backup", "if_priority": "",
                                               "queue_id": str(queue["id"]), "tags": "storage", "on_update": "on"})
    assert r.status_code == 303, r.text[:300]
    rule = desk.get("/api/v1/routing-rules").json()[-1]
    assert (rule["conditions"]["keywords"], rule["actions"]["queue_id"], rule["on_update"]) == (
        ["backup", "disk"], queue["id"], True)
    t = _open(desk, world.orgs["a"], "Backup failed")
    form = desk.get("/tickets/new").text
    assert 'id="queue_id"' in form and "Form queue" in form
    r = desk.post("/tickets", data={"subject": "Queued by hand", "organization_id": str(world.orgs["a-other"]),
                                    "priority": "P3", "queue_id": str(queue["id"])})
    assert r.status_code == 303, r.text[:300]
    by_hand = desk.get(r.headers["location"].split("?")[0].replace("/tickets/", "/api/v1/tickets/")).json()
    # No rule matched; the queue's team is round-robin, so the new ticket gets its member anyway.
    assert (by_hand["queue_id"], by_hand["team_id"], by_hand["assignee_id"]) == (queue["id"], team["id"], tech)
    assert by_hand["transitions"][-1]["actor"] == "routing: team strategy"
    assert (t["queue_id"], t["team_id"], t["assignee_id"]) == (queue["id"], team["id"], tech)  # round robin of one
    assert desk.post("/tickets/desk/canned", data={"title": "Form canned", "body": "Hi {{ contact.name }}"}).status_code == 303
    assert desk.post("/tickets/desk/canned", data={"title": "Bad", "body": "{{ x.__class__.y }}"}).status_code == 400
    canned = next(c for c in desk.get("/api/v1/canned-responses").json() if c["title"] == "Form canned")
    r = desk.post("/tickets/desk/macros", data={"name": "Form macro", "priority": "P2", "kind": "note",
                                                "canned_response_id": str(canned["id"])})
    assert r.status_code == 303, r.text[:300]
    macro = next(m for m in desk.get("/api/v1/ticket-macros").json() if m["name"] == "Form macro")
    assert macro["actions"]["comment"] == {"kind": "note", "body": None, "canned_response_id": canned["id"]}
    page = desk.get("/tickets/desk").text
    for name in ("Form team", "Form queue", "Form rule", "Form canned", "Form macro"):
        assert name in page, name
    assert "if keyword backup, disk → queue Form queue, tags storage" in page
    helpdesk = world.people["a-helpdesk"].user_id
    r = desk.post(f"/tickets/desk/teams/{team['id']}", data={"name": "Form team 2", "strategy": "least_open",
                                                            "member_ids": [str(tech), str(helpdesk)]})
    assert r.status_code == 303
    changed = desk.get(f"/api/v1/ticket-teams/{team['id']}").json()
    assert (changed["name"], changed["strategy"], changed["member_ids"]) == (
        "Form team 2", "least_open", sorted([tech, helpdesk]))
    assert desk.post(f"/tickets/desk/queues/{queue['id']}", data={"name": "Form queue", "team_id": ""}).status_code == 303
    assert desk.get(f"/api/v1/ticket-queues/{queue['id']}").json()["team_id"] is None
    assert desk.post(f"/tickets/desk/rules/{rule['id']}/toggle").status_code == 303
    assert desk.get(f"/api/v1/routing-rules/{rule['id']}").json()["enabled"] is False
    assert _open(desk, world.orgs["a"], "Backup failed again")["queue_id"] is None  # switched off
    assert desk.post(f"/tickets/desk/rules/{rule['id']}/toggle").status_code == 303
    r = desk.post(f"/tickets/{t['id']}/placement", data={"queue_id": "", "team_id": ""})
    assert r.status_code == 303  # the rule runs on update too: it puts the ticket back
    assert desk.get(f"/api/v1/tickets/{t['id']}").json()["queue_id"] == queue["id"]
    assert desk.post(f"/tickets/desk/rules/{rule['id']}/delete").status_code == 303
    desk.post(f"/tickets/{t['id']}/placement", data={"queue_id": "", "team_id": ""})
    assert desk.get(f"/api/v1/tickets/{t['id']}").json()["queue_id"] is None
    limited = Browser(app).login(world.people["a-limited"])
    try:
        assert limited.get("/tickets/desk").status_code == 200
        assert limited.post("/tickets/desk/queues", data={"name": "Nope"}).status_code == 403
    finally:
        limited.close()
