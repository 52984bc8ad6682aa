"""Rows written straight into the schema, for store-level tests that need a tenant to hang data on."""

from __future__ import annotations

from ninjait.core.db import Conn


def tenant_with_site(c: Conn, tenant_id: int) -> None:
    """Tenant, organization and site, all with the id ``tenant_id``."""
    c.execute("INSERT INTO tenants (id, name, slug, created_at) VALUES (?, ?, ?, 0)",
              (tenant_id, f"T{tenant_id}", f"t{tenant_id}"))
    c.execute("INSERT INTO organizations (id, tenant_id, name, created_at) VALUES (?, ?, 'O', 0)",
              (tenant_id, tenant_id))
    c.execute("INSERT INTO sites (id, tenant_id, organization_id, name, created_at) VALUES (?, ?, ?, 'S', 0)",
              (tenant_id, tenant_id, tenant_id))


def device(c: Conn, device_id: int, tenant_id: int, hostname: str) -> None:
    """A device of the tenant's organization and site (as tenant_with_site made them)."""
    c.execute("INSERT INTO devices (id, tenant_id, organization_id, site_id, hostname, created_at) "
              "VALUES (?, ?, ?, ?, ?, 0)", (device_id, tenant_id, tenant_id, tenant_id, hostname))
