"""An agent's batch claims: a resend is recognised, and the claims do not grow with every check-in forever."""

from __future__ import annotations

from ninjait.agents import store
from ninjait.agents.store import RESEND_WINDOW
from ninjait.core.db import Database
from tests.support import rows


def seed(db: Database) -> int:
    def write(c):  # type: ignore[no-untyped-def]
        rows.tenant_with_site(c, 1)
        for d in (1, 2):
            rows.device(c, d, 1, f"pc-{d}")
            store.insert_agent(c, f"agent-{d}", 1, d, "hash", "active", None, 0)
        return c.value("SELECT id FROM agents WHERE uid = 'agent-1'")

    return db.write(write)


def claims(db: Database, agent_id: int) -> list[int]:
    with db.read() as c:
        return [r["seq"] for r in c.all("SELECT seq FROM agent_batches WHERE agent_id = ? ORDER BY seq", (agent_id,))]


def test_claims_older_than_the_resend_window_are_dropped_and_resends_still_recognised(db: Database) -> None:
    agent = seed(db)
    other = agent + 1
    last = 2 * RESEND_WINDOW + 50
    assert all(db.write(lambda c, s=s: store.claim_batch(c, agent, s, 0)) for s in range(1, last + 1))
    assert db.write(lambda c: store.claim_batch(c, other, 1, 0))

    kept = claims(db, agent)
    assert kept == list(range(RESEND_WINDOW + 1, last + 1))  # the window before the last multiple, and after it
    assert len(kept) < 2 * RESEND_WINDOW
    assert claims(db, other) == [1]  # another agent's claims are its own

    # The newest batch sent again (its acknowledgement was lost) and any within the window: stored once.
    assert not db.write(lambda c: store.claim_batch(c, agent, last, 0))
    assert not db.write(lambda c: store.claim_batch(c, agent, RESEND_WINDOW + 1, 0))
    assert db.write(lambda c: store.claim_batch(c, agent, last + 1, 0))


def test_a_deleted_agents_claims_go_with_it(db: Database) -> None:
    agent = seed(db)
    assert db.write(lambda c: store.claim_batch(c, agent, 1, 0))
    db.write(lambda c: c.execute("DELETE FROM devices WHERE id = 1"))  # the agent goes with its device
    assert claims(db, agent) == []
    # A new agent that gets the same id (SQLite reuses the highest rowid) starts with no claims: its first
    # batches are new, not taken for resends.
    with db.read() as c:
        assert c.value("SELECT count(*) FROM agent_batches") == 0
