"""Permission names and the built-in roles.

Each domain registers its own permissions at import (``register``); a role is
a list of names. Built-in roles are rows in ``roles`` with ``tenant_id`` NULL,
and their permission lists live here, so a permission a later domain adds
reaches the right built-in roles without a data migration.
"""

from __future__ import annotations

from dataclasses import dataclass

PERMISSIONS: dict[str, str] = {}
# Held by Super Admins only, never through a role: they act on the whole appliance, across tenants.
APPLIANCE_WIDE = frozenset({"tenants.manage", "backups.manage"})


def register(name: str, description: str) -> str:
    domain, _, action = name.partition(".")
    if not domain or not action:
        raise ValueError(f"permission {name!r} must look like 'domain.action'")
    PERMISSIONS[name] = description
    return name


for _name, _desc in {
    "organizations.read": "See organizations and sites",
    "organizations.write": "Create and edit organizations and sites",
    "organizations.delete": "Delete organizations and sites",
    "users.read": "See users, roles and their assignments",
    "users.write": "Create and edit users, roles and assignments",
    "users.delete": "Delete or disable users and roles",
    "audit.read": "Read and export the audit log",
    "settings.write": "Change tenant settings (MFA policy, single sign-on)",
    "tenants.manage": "Create and edit tenants (Super Admin only)",
    "backups.manage": "Make, download and delete appliance backups (Super Admin only)",
    "devices.read": "See devices",
    "devices.write": "Edit devices and run commands on them",
    "devices.delete": "Remove devices",
    "checks.read": "See checks, their states and results",
    "checks.write": "Create, edit and delete checks",
    "alerts.read": "See alerts",
    "alerts.write": "Acknowledge and resolve alerts, edit alert rules",
    "tickets.read": "See tickets",
    "tickets.write": "Create and edit tickets",
    "tickets.assign": "Assign tickets to people and teams",
    "billing.read": "See contracts, invoices and payments",
    "billing.write": "Create and edit contracts, invoices and payments",
    "reports.read": "Run reports",
    "reports.export": "Export reports",
}.items():
    register(_name, _desc)


@dataclass(frozen=True)
class BuiltinRole:
    key: str
    name: str
    description: str

    def permissions(self) -> frozenset[str]:
        names = set(PERMISSIONS) - APPLIANCE_WIDE
        if self.key == "org_admin":
            return frozenset(names)
        if self.key == "read_only":
            return frozenset(n for n in names if n.endswith(".read"))
        if self.key == "technician":
            # Everything operational that later domains add (devices, alerts,
            # automation, patching, tickets...), but no admin, billing or audit.
            admin = {"billing", "users", "settings", "audit", "organizations", "reports", "tenants"}
            return frozenset(n for n in names if n.split(".")[0] not in admin) | {
                "organizations.read", "users.read", "reports.read"}
        if self.key == "help_desk":
            return frozenset(n for n in names if n.startswith("tickets.")) | {
                "devices.read", "checks.read", "alerts.read", "organizations.read", "users.read"}
        if self.key == "billing_manager":
            return frozenset(n for n in names if n.startswith(("billing.", "reports."))) | {
                "organizations.read", "tickets.read", "users.read"}
        raise KeyError(self.key)


# The ids are fixed by migration 0002; Super Admin is a user flag, not a role.
BUILTIN_ROLES: dict[int, BuiltinRole] = {
    1: BuiltinRole("org_admin", "Organization Admin", "Everything within the tenant"),
    2: BuiltinRole("technician", "Technician", "Devices, alerts, automation, patching, tickets; no billing or user admin"),
    3: BuiltinRole("help_desk", "Help Desk", "Tickets, with read access to devices and alerts"),
    4: BuiltinRole("billing_manager", "Billing Manager", "Contracts, invoices, payments and reports"),
    5: BuiltinRole("read_only", "Read-Only", "Sees everything they are allowed to, changes nothing"),
}
