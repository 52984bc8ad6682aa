"""A runtime in the test process with two tenants, organizations and sites, its subscribers connected,
for tests of alerts and notifications driven with a controllable clock."""

from __future__ import annotations

import time
from typing import Any

from ninjait.core import runtime as rt_mod
from ninjait.identity.permissions import PERMISSIONS
from ninjait.identity.principal import Principal
from ninjait.settings import Settings
from ninjait.wiring import connect_subscribers


def start(settings: Settings) -> rt_mod.Runtime:
    runtime = rt_mod.start(settings.replace(agent_interval=30))
    connect_subscribers(runtime)
    runtime.db.write(lambda c: (
        c.execute("INSERT INTO tenants (id, name, slug, created_at, offline_after_minutes) VALUES (1, 'T', 't', 0, 5)"),
        c.execute("INSERT INTO tenants (id, name, slug, created_at, offline_after_minutes) VALUES (2, 'U', 'u', 0, 5)"),
        c.execute("INSERT INTO organizations (id, tenant_id, name, created_at) VALUES (1, 1, 'Acme', 0)"),
        c.execute("INSERT INTO organizations (id, tenant_id, name, created_at) VALUES (2, 1, 'Globex', 0)"),
        c.execute("INSERT INTO organizations (id, tenant_id, name, created_at) VALUES (3, 2, 'Other', 0)"),
        c.execute("INSERT INTO sites (id, tenant_id, organization_id, name, created_at) VALUES (1, 1, 1, 'S', 0)"),
        c.execute("INSERT INTO sites (id, tenant_id, organization_id, name, created_at) VALUES (2, 1, 2, 'S', 0)"),
        c.execute("INSERT INTO sites (id, tenant_id, organization_id, name, created_at) VALUES (3, 2, 3, 'S', 0)")))
    runtime.started_at = time.time() - 3600  # past the restart grace
    return runtime


def device(rt: Any, name: str, site: int = 1, last_seen: float | None = None) -> int:
    tenant, org = {1: (1, 1), 2: (1, 2), 3: (2, 3)}[site]
    return rt.db.write(lambda c: c.value(
        "INSERT INTO devices (tenant_id, organization_id, site_id, hostname, created_at, last_seen_at, status) "
        "VALUES (?, ?, ?, ?, 0, ?, 'online') RETURNING id", (tenant, org, site, name, int(last_seen or time.time()))))


def admin(tenant: int = 1) -> Principal:
    return Principal(user_id=0, tenant_id=tenant, email="a", name="a", is_super_admin=False,
                     everywhere=frozenset(PERMISSIONS))


def goes(rt: Any, device_id: int, to: str, tenant: int = 1, before: str = "online") -> None:
    rt.bus.emit("device.status_changed", tenant, None, object_type="device", object_id=device_id,
                summary={"from": before, "to": to})
