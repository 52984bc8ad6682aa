"""Full-text search over tickets and comments on the selected backend (SQLite FTS5 / PostgreSQL tsvector):
what it finds, snippets, tenant and organization scope, and input that is query syntax in either engine."""

from __future__ import annotations

from typing import Any

import pytest

from ninjait.core import runtime as rt_mod
from ninjait.identity.principal import Actor, Principal
from ninjait.settings import Settings
from ninjait.tickets import search, service
from tests.support import alert_world

ME = Actor(user_id=None, email="tech@msp.test")


@pytest.fixture
def rt(settings: Settings):  # type: ignore[no-untyped-def]
    runtime = alert_world.start(settings)
    boss = alert_world.admin()
    runtime.t = {}  # type: ignore[attr-defined]
    for key, org, tenant, subject, description in (
            ("printer", 1, 1, "Printer jams on floor 2", "The HP LaserJet eats paper every morning"),
            ("vpn", 1, 1, "VPN drops", "Tunnel to the Zürich office disconnects"),
            ("globex", 2, 1, "Printer toner", "Globex needs toner for the printer"),
            ("other", 3, 2, "Printer of another tenant", "Secret printer trouble")):
        t = service.create_ticket(runtime, alert_world.admin(tenant), ME, {
            "subject": subject, "description": description, "organization_id": org})
        runtime.t[key] = t  # type: ignore[attr-defined]
    service.add_comment(runtime, boss, ME, runtime.t["vpn"]["id"], "note", "Replaced the firewall's certificate")  # type: ignore[attr-defined]
    yield runtime
    rt_mod.stop()


def found(rt: Any, q: str, p: Principal | None = None, **kw: Any) -> list[int]:
    rows, total = service.list_tickets(rt, p or alert_world.admin(), q=q, **kw)
    assert total == len(rows)  # one page holds them all here
    return [r["id"] for r in rows]


def test_it_finds_subjects_descriptions_comments_and_numbers(rt) -> None:  # type: ignore[no-untyped-def]
    t = rt.t
    assert set(found(rt, "printer")) == {t["printer"]["id"], t["globex"]["id"]}
    assert found(rt, "laserjet") == [t["printer"]["id"]]
    assert found(rt, "certificate") == [t["vpn"]["id"]]            # in a comment only
    assert found(rt, "certif") == [t["vpn"]["id"]]                 # words match as prefixes
    assert found(rt, "zürich office") == [t["vpn"]["id"]]          # every word must match
    if rt.db.backend == "sqlite":
        assert found(rt, "zurich") == [t["vpn"]["id"]]             # unicode61 drops diacritics
    assert found(rt, "printer vpn") == []
    assert found(rt, t["vpn"]["number"]) == [t["vpn"]["id"]]       # "T-1002"
    assert found(rt, t["vpn"]["number"].split("-")[1]) == [t["vpn"]["id"]]
    rows, _ = service.list_tickets(rt, alert_world.admin(), q="laserjet")
    assert "LaserJet" in rows[0]["snippet"] and "\x02" not in rows[0]["snippet"]
    assert ("LaserJet", True) in search.segments(rows[0]["snippet_marked"])


def test_the_list_filters_still_apply(rt) -> None:  # type: ignore[no-untyped-def]
    t = rt.t
    assert found(rt, "printer", organization_id=2) == [t["globex"]["id"]]
    closed = next(s["id"] for s in service.list_statuses(rt, alert_world.admin()) if s["type"] == "closed")
    service.update_ticket(rt, alert_world.admin(), ME, t["globex"]["id"], {"status_id": closed})
    assert set(found(rt, "printer")) == {t["printer"]["id"], t["globex"]["id"]}  # searching covers closed tickets
    assert found(rt, "printer", view="open") == [t["printer"]["id"]]
    rows, total = service.list_tickets(rt, alert_world.admin(), q="printer", page=2, per_page=1)
    assert total == 2 and len(rows) == 1


def test_edits_reach_the_index(rt) -> None:  # type: ignore[no-untyped-def]
    t = rt.t
    service.update_ticket(rt, alert_world.admin(), ME, t["vpn"]["id"], {"subject": "WireGuard handshake fails"})
    assert found(rt, "wireguard") == [t["vpn"]["id"]]
    assert found(rt, "drops") == []


def test_search_is_scoped_to_the_tenant_and_the_callers_organizations(rt) -> None:  # type: ignore[no-untyped-def]
    t = rt.t
    assert found(rt, "secret") == []
    assert found(rt, "printer", alert_world.admin(2)) == [t["other"]["id"]]
    limited = Principal(user_id=0, tenant_id=1, email="l", name="l", is_super_admin=False, everywhere=frozenset(),
                        per_org={1: frozenset({"tickets.read"})})
    assert found(rt, "printer", limited) == [t["printer"]["id"]]
    assert found(rt, "toner", limited) == []
    nobody = Principal(user_id=0, tenant_id=1, email="n", name="n", is_super_admin=False, everywhere=frozenset())
    assert found(rt, "printer", nobody) == []


@pytest.mark.parametrize("q", ['"', "'", '"printer', "printer*", "*", "NEAR(printer jams)", "printer NEAR jams",
                               "-printer", "printer -jams", "printer OR vpn", "NOT", "AND", "(", ")", "^printer",
                               "printer:", "subject:printer", "col:*", "a & b | !c", "<->", "\\", "%", "_", "é",
                               "\x00", "🙂", "x" * 500, "printer " * 50])
def test_hostile_queries_never_fail(rt, q: str) -> None:  # type: ignore[no-untyped-def]
    service.list_tickets(rt, alert_world.admin(), q=q)


def test_query_syntax_is_read_as_words(rt) -> None:  # type: ignore[no-untyped-def]
    t = rt.t
    assert found(rt, '"printer jams"') == [t["printer"]["id"]]
    assert found(rt, "-laserjet") == [t["printer"]["id"]]           # '-' is no negation
    assert found(rt, "NEAR(laserjet)") == []                         # "near" is a word, which no ticket has
    assert set(found(rt, "printer*")) == {t["printer"]["id"], t["globex"]["id"]}
    rows, total = service.list_tickets(rt, alert_world.admin(), q="*")  # no words: nothing matches
    assert (rows, total) == ([], 0)
