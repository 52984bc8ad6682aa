"""Contacts: the people of customer organizations who ask for help (a ticket's requester).

A contact may belong to several organizations (an accountant working for two customers): the first is its
main organization, and a ticket's requester must be a contact of the ticket's organization. A technician
limited to some organizations sees the contacts of those organizations, with only those organizations
listed; changing a contact's organizations or deleting it needs tickets.write in every organization involved.
"""

from __future__ import annotations

import re
import time
from typing import Any

from ninjait.core.errors import Forbidden, Invalid, NotFound
from ninjait.core.runtime import Runtime
from ninjait.identity.principal import Actor, Principal
from ninjait.tickets import store

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_ORGANIZATIONS = 50


def _fields(data: dict[str, Any]) -> dict[str, str]:
    name = str(data.get("name") or "").strip()
    if not 1 <= len(name) <= 200:
        raise Invalid("name must be 1 to 200 characters", field="name")
    email = str(data.get("email") or "").strip().lower()
    if email and (len(email) > 254 or not EMAIL.match(email)):
        raise Invalid("email is not an e-mail address", field="email")
    fields = {"name": name, "email": email}
    for key, limit in (("phone", 50), ("title", 100)):
        fields[key] = str(data.get(key) or "").strip()
        if len(fields[key]) > limit:
            raise Invalid(f"{key} is longer than {limit} characters", field=key)
    return fields


def _scoped(p: Principal, contact: dict[str, Any]) -> dict[str, Any]:
    orgs = p.organizations_for("tickets.read")
    shown = [o for o in contact["organization_ids"] if orgs is None or o in orgs]
    return {**contact, "organization_ids": shown}


def _visible(c: Any, p: Principal, contact_id: int, permission: str = "tickets.read") -> dict[str, Any]:
    contact = store.contact(c, p.tenant_id, contact_id)
    if contact is None:
        raise NotFound("contact not found")
    for perm in {"tickets.read", permission}:
        orgs = p.organizations_for(perm)
        if orgs is not None and not orgs.intersection(contact["organization_ids"]):
            raise NotFound("contact not found")
    return contact


def _organizations(c: Any, p: Principal, main: Any, others: Any) -> list[int]:
    """The main organization first, then the others; each must exist and be one the principal may write for."""
    if not isinstance(main, int):
        raise Invalid("organization_id (the contact's main organization) is required", field="organization_id")
    if not isinstance(others, list) or not all(isinstance(o, int) for o in others):
        raise Invalid("organization_ids is a list of organization ids", field="organization_ids")
    chosen = list(dict.fromkeys([main, *others]))
    if len(chosen) > MAX_ORGANIZATIONS:
        raise Invalid(f"at most {MAX_ORGANIZATIONS} organizations", field="organization_ids")
    writable = p.organizations_for("tickets.write")
    missing = set(chosen) - store.organizations_existing(c, p.tenant_id, chosen)
    if writable is not None:
        missing |= set(chosen) - writable
    if missing:
        raise Invalid(f"no organization {min(missing)} you may add contacts to", field="organization_ids")
    return chosen


def list_contacts(rt: Runtime, p: Principal, organization_id: int | None = None, query: str = "") -> list[dict[str, Any]]:
    if len(query) > 100:
        raise Invalid("q is longer than 100 characters", field="q")
    with rt.db.read() as c:
        rows = store.contacts(c, p.tenant_id, p.organizations_for("tickets.read"), organization_id, query.strip())
    return [_scoped(p, r) for r in rows]


def get_contact(rt: Runtime, p: Principal, contact_id: int) -> dict[str, Any]:
    with rt.db.read() as c:
        return _scoped(p, _visible(c, p, contact_id))


def create_contact(rt: Runtime, p: Principal, actor: Actor, data: dict[str, Any]) -> dict[str, Any]:
    fields = _fields(data)

    def write(c: Any) -> int:
        orgs = _organizations(c, p, data.get("organization_id"), data.get("organization_ids") or [])
        contact_id = store.insert_contact(c, p.tenant_id, orgs[0], fields, int(time.time()))
        store.set_contact_organizations(c, p.tenant_id, contact_id, orgs)
        return contact_id

    contact_id = rt.db.write(write)
    rt.bus.emit("contact.created", p.tenant_id, actor.as_dict(), object_type="contact", object_id=contact_id,
                summary={"name": fields["name"], "organization_id": data.get("organization_id")})
    return get_contact(rt, p, contact_id)


def _require_all(p: Principal, organization_ids: list[int], what: str) -> None:
    writable = p.organizations_for("tickets.write")
    if writable is not None and not writable.issuperset(organization_ids):
        raise Forbidden(f"{what} needs tickets.write in every organization of the contact")


def update_contact(rt: Runtime, p: Principal, actor: Actor, contact_id: int, data: dict[str, Any]) -> dict[str, Any]:
    """Fields absent or None stay; ``organization_ids`` replaces the list (``organization_id`` names the main one)."""
    from ninjait.portal import accounts as portal  # the portal builds on contacts: imported here, not at the top

    def write(c: Any) -> dict[str, Any]:
        before = _visible(c, p, contact_id, "tickets.write")
        fields = _fields({**before, **{k: v for k, v in data.items() if v is not None}})
        if fields["email"] != before["email"] and portal.has_account(c, p.tenant_id, contact_id):
            # The address signs in to the portal: changing it hands over every organization's tickets it sees.
            _require_all(p, before["organization_ids"], "changing the e-mail of a contact with portal access")
            portal.end_sessions(c, p.tenant_id, contact_id, with_links=True)
        store.update_contact(c, p.tenant_id, contact_id, fields)
        if data.get("organization_ids") is not None or data.get("organization_id") is not None:
            wanted = data.get("organization_ids")
            wanted = before["organization_ids"] if wanted is None else wanted
            main = data.get("organization_id")
            if main is None:
                main = before["organization_id"] if before["organization_id"] in wanted else (wanted or [None])[0]
            orgs = _organizations(c, p, main, wanted)
            _require_all(p, sorted(set(orgs) ^ set(before["organization_ids"])), "changing organizations")
            store.set_contact_organizations(c, p.tenant_id, contact_id, orgs)
        return before

    before = rt.db.write(write)
    contact = get_contact(rt, p, contact_id)
    changed = sorted(k for k in ("name", "email", "phone", "title", "organization_id", "organization_ids")
                     if contact[k] != _scoped(p, before)[k])
    rt.bus.emit("contact.updated", p.tenant_id, actor.as_dict(), object_type="contact", object_id=contact_id,
                summary={"name": contact["name"], "organization_id": contact["organization_id"], "changed": changed})
    return contact


def delete_contact(rt: Runtime, p: Principal, actor: Actor, contact_id: int) -> None:
    def write(c: Any) -> dict[str, Any]:
        contact = _visible(c, p, contact_id, "tickets.write")
        _require_all(p, contact["organization_ids"], "deleting a contact")
        store.delete_contact(c, p.tenant_id, contact_id)
        return contact

    contact = rt.db.write(write)
    rt.bus.emit("contact.deleted", p.tenant_id, actor.as_dict(), object_type="contact", object_id=contact_id,
                summary={"name": contact["name"], "organization_id": contact["organization_id"]})
