"""Migration 0024: inventories leave the devices row for device_inventories, and nothing about a device is lost."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from ninjait.core import runtime as rt_mod
from ninjait.core.db import open_database
from ninjait.core.errors import NotFound
from ninjait.core.migrate import discover, migrate
from ninjait.devices import service as devices
from ninjait.settings import Settings
from tests.support import rows
from tests.support.identity import admin_principal

INVENTORY = {"hostname": "pc-7", "os_name": "Windows 11 Pro", "software": [{"name": "Contoso Backup Agent"}]}


@pytest.fixture
def old_schema(settings: Settings) -> Iterator[Settings]:
    """A database at the schema before 0024: two tenants, one device each with an inventory, one without."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = open_database(settings)
    migrate(db, [m for m in discover() if m.version < 24])

    def seed(c):  # type: ignore[no-untyped-def]
        for t in (1, 2):
            rows.tenant_with_site(c, t)
        c.execute("INSERT INTO devices (id, tenant_id, organization_id, site_id, hostname, os_name, inventory, "
                  "inventory_hash, search, status, created_at) VALUES (7, 1, 1, 1, 'pc-7', 'Windows 11 Pro', ?, 'h7', "
                  "'pc-7 windows 11 pro contoso backup agent', 'online', 0)", (json.dumps(INVENTORY),))
        c.execute("INSERT INTO devices (id, tenant_id, organization_id, site_id, hostname, created_at) "
                  "VALUES (8, 1, 1, 1, 'new-pc', 0)")
        c.execute("INSERT INTO devices (id, tenant_id, organization_id, site_id, hostname, inventory, search, "
                  "created_at) VALUES (9, 2, 2, 2, 'other-tenant', ?, 'other-tenant contoso backup agent', 0)",
                  (json.dumps({"hostname": "other-tenant"}),))
        c.execute("INSERT INTO agents (id, uid, tenant_id, device_id, secret_hash, status, created_at) "
                  "VALUES (3, 'agent-7', 1, 7, 'h', 'active', 0)")
        # 250 claims of agent 3, and claims left behind by a deleted agent 4.
        c.executemany("INSERT INTO agent_batches (agent_id, seq, received_at) VALUES (?, ?, 0)",
                      [(3, s) for s in range(1, 251)] + [(4, s) for s in range(1, 6)])

    db.write(seed)
    db.close()
    yield settings
    rt_mod.stop()


def test_inventories_come_across_with_their_search_words_and_stay_in_their_tenant(old_schema: Settings) -> None:
    rt = rt_mod.start(old_schema)  # applies 0024
    with rt.db.read() as c:
        assert c.value("SELECT count(*) FROM schema_migrations WHERE version = 24") == 1
        moved = c.all("SELECT device_id, tenant_id FROM device_inventories ORDER BY device_id")
    assert moved == [{"device_id": 7, "tenant_id": 1}, {"device_id": 9, "tenant_id": 2}]  # none for the empty one

    admin = admin_principal(1)
    device = devices.get_device(rt, admin, 7)
    assert device["inventory"] == INVENTORY
    assert device["inventory_hash"] == "h7" and device["status"] == "online"
    assert devices.get_device(rt, admin, 8)["inventory"] == {}  # no inventory yet reads as empty
    with pytest.raises(NotFound):
        devices.get_device(rt, admin, 9)

    # The search still finds a device by a program it runs, and only in its own tenant.
    rows, total = devices.search_devices(rt, admin, q="contoso")
    assert total == 1 and [r["id"] for r in rows] == [7]
    rows, total = devices.search_devices(rt, admin_principal(2), q="contoso")
    assert total == 1 and [r["id"] for r in rows] == [9]


def test_a_deleted_device_takes_its_inventory_with_it(old_schema: Settings) -> None:
    rt = rt_mod.start(old_schema)
    rt.db.write(lambda c: c.execute("DELETE FROM devices WHERE id = 7"))
    with rt.db.read() as c:
        assert c.all("SELECT device_id FROM device_inventories ORDER BY device_id") == [{"device_id": 9}]


def test_claims_come_across_with_their_agent_the_last_hundred_of_each(old_schema: Settings) -> None:
    rt = rt_mod.start(old_schema)
    with rt.db.read() as c:
        kept = c.all("SELECT agent_id, seq FROM agent_batches ORDER BY agent_id, seq")
    assert kept == [{"agent_id": 3, "seq": s} for s in range(151, 251)]  # none of the deleted agent 4
    rt.db.write(lambda c: c.execute("DELETE FROM devices WHERE id = 7"))
    with rt.db.read() as c:
        assert c.value("SELECT count(*) FROM agent_batches") == 0  # they go with their agent now
