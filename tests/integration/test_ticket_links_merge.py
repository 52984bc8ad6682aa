"""Parent/child and related links, and merging tickets: everything moves, in one transaction, within one
organization. The services run in this process on the selected backend."""

from __future__ import annotations

import io
import time
from typing import Any

import pytest

from ninjait.core import runtime as rt_mod
from ninjait.core.errors import Conflict, Invalid, NotFound
from ninjait.identity.principal import Actor, Principal
from ninjait.settings import Settings
from ninjait.tickets import attachments, ccs, links, service, store, time_entries
from tests.support import alert_world

ME = Actor(user_id=None, email="tech@msp.test")


@pytest.fixture
def rt(settings: Settings):  # type: ignore[no-untyped-def]
    yield alert_world.start(settings)
    rt_mod.stop()


def ticket(rt: Any, subject: str = "Slow PC", org: int = 1, tenant: int = 1, **extra: Any) -> int:
    return int(service.create_ticket(rt, alert_world.admin(tenant), ME, {"subject": subject, "organization_id": org,
                                                                          **extra})["id"])


def roles(rt: Any, ticket_id: int, p: Principal | None = None) -> list[tuple[str, int]]:
    return [(x["role"], x["id"]) for x in service.get_ticket(rt, p or alert_world.admin(), ticket_id)["links"]]


def test_links_show_on_both_tickets_and_come_off(rt) -> None:  # type: ignore[no-untyped-def]
    boss = alert_world.admin()
    parent, child, other = ticket(rt, "Office move"), ticket(rt, "Move printer"), ticket(rt, "Cabling", org=2)
    links.link(rt, boss, ME, child, parent, "parent")
    links.link(rt, boss, ME, parent, other, "related")
    assert roles(rt, child) == [("parent", parent)]
    assert sorted(roles(rt, parent)) == [("child", child), ("related", other)]
    assert roles(rt, other) == [("related", parent)]
    links.unlink(rt, boss, ME, other, parent)  # from either side
    assert roles(rt, parent) == [("child", child)] and roles(rt, other) == []
    with pytest.raises(NotFound):
        links.unlink(rt, boss, ME, other, parent)


def test_cycles_self_links_and_second_parents_are_refused(rt) -> None:  # type: ignore[no-untyped-def]
    boss = alert_world.admin()
    a, b, c, d = (ticket(rt, s) for s in "abcd")
    links.link(rt, boss, ME, b, a, "parent")   # a > b
    links.link(rt, boss, ME, b, c, "child")    # b > c
    with pytest.raises(Invalid, match="ancestor") as refused:
        links.link(rt, boss, ME, a, c, "parent")  # c > a would close the loop a > b > c > a
    assert refused.value.field == "other_id"
    with pytest.raises(Invalid, match="ancestor"):
        links.link(rt, boss, ME, c, a, "child")   # the same loop, said from the other side
    with pytest.raises(Invalid, match="itself"):
        links.link(rt, boss, ME, a, a, "related")
    with pytest.raises(Conflict, match="parent already"):
        links.link(rt, boss, ME, c, d, "parent")
    with pytest.raises(Conflict, match="linked already"):
        links.link(rt, boss, ME, a, b, "related")
    with pytest.raises(Invalid):
        links.link(rt, boss, ME, a, d, "sibling")
    assert roles(rt, a) == [("child", b)]


def test_links_stay_inside_the_tenant_and_the_callers_organizations(rt) -> None:  # type: ignore[no-untyped-def]
    boss = alert_world.admin()
    mine, theirs, elsewhere = ticket(rt), ticket(rt, tenant=2, org=3), ticket(rt, org=2)
    with pytest.raises(Invalid) as refused:
        links.link(rt, boss, ME, mine, theirs, "related")
    assert refused.value.field == "other_id"
    with pytest.raises(NotFound):
        links.link(rt, alert_world.admin(2), ME, mine, theirs, "related")
    limited = Principal(user_id=0, tenant_id=1, email="l", name="l", is_super_admin=False, everywhere=frozenset(),
                        per_org={1: frozenset({"tickets.read", "tickets.write"})})
    with pytest.raises(Invalid):
        links.link(rt, limited, ME, mine, elsewhere, "related")
    links.link(rt, boss, ME, mine, elsewhere, "related")
    assert roles(rt, mine, limited) == []  # a link to a ticket they may not see is not shown to them


def _everything_on(rt: Any, ticket_id: int, device: int, note: str) -> None:
    boss = alert_world.admin()
    service.add_comment(rt, boss, ME, ticket_id, "reply", note)
    time_entries.add_entry(rt, boss, ME, ticket_id, {"minutes": 30})
    service.update_ticket(rt, boss, ME, ticket_id, {"device_ids": [device]})
    ccs.set_ccs(rt, boss, ME, ticket_id, [f"{note}@customer.test", "shared@customer.test"], [])
    attachments.upload(rt, boss, ME, ticket_id, io.BytesIO(note.encode()), f"{note}.txt", "text/plain")


def test_merge_moves_everything_closes_and_points_to_the_survivor(rt) -> None:  # type: ignore[no-untyped-def]
    boss = alert_world.admin()
    pc, laptop = alert_world.device(rt, "pc-1"), alert_world.device(rt, "laptop-1")
    survivor, merged, child = ticket(rt, "Mail down"), ticket(rt, "Outlook broken"), ticket(rt, "Phone mail")
    _everything_on(rt, survivor, pc, "first")
    _everything_on(rt, merged, laptop, "second")
    links.link(rt, boss, ME, child, merged, "parent")
    links.link(rt, boss, ME, merged, survivor, "related")

    result = links.merge(rt, boss, ME, merged, survivor)

    assert result["id"] == survivor
    bodies = [c["body"] for c in result["comments"]]
    assert bodies[:2] == ["first", "second"] and bodies[2].startswith("Merged ") and "Outlook broken" in bodies[2]
    assert sorted(d["hostname"] for d in result["devices"]) == ["laptop-1", "pc-1"]
    assert [c["email"] for c in result["ccs"]] == ["first@customer.test", "second@customer.test",
                                                   "shared@customer.test"]
    assert sorted(a["file_name"] for a in result["attachments"]) == ["first.txt", "second.txt"]
    assert time_entries.for_ticket(rt, boss, survivor)["total_minutes"] == 60
    assert ("child", child) in roles(rt, survivor)  # the merged ticket's child now hangs under the survivor

    gone = service.get_ticket(rt, boss, merged)
    assert gone["merged_into"] == {"id": survivor, "number": result["number"]}
    assert gone["status_type"] == "closed" and gone["closed_at"] is not None
    assert [c["body"] for c in gone["comments"]] == [f"Merged into {result['number']}."]
    assert gone["devices"] == [] and gone["ccs"] == [] and gone["attachments"] == [] and gone["links"] == []
    assert time_entries.for_ticket(rt, boss, merged)["total_minutes"] == 0
    assert gone["transitions"][-1]["new_value"] == "Closed"
    with pytest.raises(Conflict):
        links.merge(rt, boss, ME, merged, survivor)
    with pytest.raises(Invalid, match="itself merged"):
        links.merge(rt, boss, ME, ticket(rt), merged)
    with rt.db.read() as c:
        actions = [r["action"] for r in c.all("SELECT action FROM audit_log WHERE object_id = ? ORDER BY id",
                                              (str(merged),))]
    assert "ticket.merged" in actions and "ticket.closed" in actions


def test_merge_is_refused_across_organizations_and_tenants(rt) -> None:  # type: ignore[no-untyped-def]
    boss = alert_world.admin()
    a, b, foreign = ticket(rt), ticket(rt, org=2), ticket(rt, tenant=2, org=3)
    with pytest.raises(Invalid, match="different organizations") as refused:
        links.merge(rt, boss, ME, a, b)
    assert refused.value.field == "into_id"
    with pytest.raises(Invalid):
        links.merge(rt, boss, ME, a, foreign)
    with pytest.raises(NotFound):
        links.merge(rt, alert_world.admin(2), ME, a, foreign)
    with pytest.raises(Invalid, match="itself"):
        links.merge(rt, boss, ME, a, a)
    assert service.get_ticket(rt, boss, a)["merged_into"] is None


def _fail_merges(rt: Any) -> None:
    """A database-level failure at the very end of a merge (recording the pointer), after everything moved."""
    if rt.db.backend == "postgresql":
        rt.db.write(lambda c: c.script(
            "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'boom'; END $$; "
            "CREATE TRIGGER refuse_merges BEFORE INSERT ON ticket_merges FOR EACH ROW EXECUTE FUNCTION refuse();"))
    else:
        rt.db.write(lambda c: c.script("CREATE TRIGGER refuse_merges BEFORE INSERT ON ticket_merges "
                                       "BEGIN SELECT RAISE(ABORT, 'boom'); END;"))


def test_a_merge_that_fails_changes_nothing(rt) -> None:  # type: ignore[no-untyped-def]
    boss = alert_world.admin()
    survivor, merged = ticket(rt, "Keep"), ticket(rt, "Merge me")
    _everything_on(rt, merged, alert_world.device(rt, "pc-2"), "only")
    before = service.get_ticket(rt, boss, merged)
    _fail_merges(rt)
    with pytest.raises(Exception, match="boom"):
        links.merge(rt, boss, ME, merged, survivor)
    after = service.get_ticket(rt, boss, merged)
    for key in ("comments", "devices", "ccs", "attachments", "status", "transitions", "merged_into"):
        assert after[key] == before[key], key
    assert service.get_ticket(rt, boss, survivor)["comments"] == []
    assert time_entries.for_ticket(rt, boss, merged)["total_minutes"] == 30
    with rt.db.read() as c:
        assert store.get(c, 1, merged)["closed_at"] is None


def test_files_whose_rows_are_gone_are_swept(rt) -> None:  # type: ignore[no-untyped-def]
    """Deleting an organization deletes its tickets and attachment rows (cascade); the sweep deletes the files."""
    boss = alert_world.admin()
    kept, doomed = ticket(rt), ticket(rt, org=2)
    kept_file = attachments.upload(rt, boss, ME, kept, io.BytesIO(b"keep"), "keep.txt", "text/plain")
    attachments.upload(rt, boss, ME, doomed, io.BytesIO(b"gone"), "gone.txt", "text/plain")
    folder = attachments.folder_of(rt, 1)
    (folder / "deadbeef.tmp").write_bytes(b"half")  # an upload that died mid-way
    rt.db.write(lambda c: c.execute("DELETE FROM organizations WHERE id = 2"))
    assert len(list(folder.iterdir())) == 3
    assert attachments.sweep_orphans(rt) == 0  # too young: an upload renames its file before it commits
    assert attachments.sweep_orphans(rt, now=time.time() + 2 * 3600) == 2
    assert [p.name for p in folder.iterdir()] == [kept_file["storage_name"]]
