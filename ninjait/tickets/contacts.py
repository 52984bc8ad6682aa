"""Contacts: the people of a customer organization who ask for help (a ticket's requester)."""

from __future__ import annotations

import re
import time
from typing import Any

from ninjait.core.errors import Invalid, NotFound
from ninjait.core.runtime import Runtime
from ninjait.identity.principal import Actor, Principal
from ninjait.tickets import store

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _fields(data: dict[str, Any]) -> tuple[str, str, str]:
    name = str(data.get("name") or "").strip()
    if not 1 <= len(name) <= 200:
        raise Invalid("name must be 1 to 200 characters", field="name")
    email = str(data.get("email") or "").strip().lower()
    if email and (len(email) > 254 or not EMAIL.match(email)):
        raise Invalid("email is not an e-mail address", field="email")
    phone = str(data.get("phone") or "").strip()
    if len(phone) > 50:
        raise Invalid("phone is longer than 50 characters", field="phone")
    return name, email, phone


def _visible(c: Any, p: Principal, contact_id: int, permission: str = "tickets.read") -> dict[str, Any]:
    contact = store.contact(c, p.tenant_id, contact_id)
    if contact is None:
        raise NotFound("contact not found")
    for perm in {"tickets.read", permission}:
        orgs = p.organizations_for(perm)
        if orgs is not None and contact["organization_id"] not in orgs:
            raise NotFound("contact not found")
    return contact


def list_contacts(rt: Runtime, p: Principal, organization_id: int | None = None) -> list[dict[str, Any]]:
    with rt.db.read() as c:
        return store.contacts(c, p.tenant_id, p.organizations_for("tickets.read"), organization_id)


def get_contact(rt: Runtime, p: Principal, contact_id: int) -> dict[str, Any]:
    with rt.db.read() as c:
        return _visible(c, p, contact_id)


def create_contact(rt: Runtime, p: Principal, actor: Actor, data: dict[str, Any]) -> dict[str, Any]:
    name, email, phone = _fields(data)
    org = data.get("organization_id")
    orgs = p.organizations_for("tickets.write")
    if not isinstance(org, int) or (orgs is not None and org not in orgs):
        raise Invalid("organization_id names an organization you may open tickets for", field="organization_id")

    def write(c: Any) -> int:
        if not store.organization_exists(c, p.tenant_id, org):
            raise Invalid(f"no organization {org} in this tenant", field="organization_id")
        return store.insert_contact(c, p.tenant_id, org, name, email, phone, int(time.time()))

    contact_id = rt.db.write(write)
    rt.bus.emit("contact.created", p.tenant_id, actor.as_dict(), object_type="contact", object_id=contact_id,
                summary={"name": name, "organization_id": org})
    return get_contact(rt, p, contact_id)


def update_contact(rt: Runtime, p: Principal, actor: Actor, contact_id: int, data: dict[str, Any]) -> dict[str, Any]:
    def write(c: Any) -> dict[str, Any]:
        before = _visible(c, p, contact_id, "tickets.write")
        name, email, phone = _fields({**before, **{k: v for k, v in data.items() if v is not None}})
        store.update_contact(c, p.tenant_id, contact_id, name, email, phone)
        return {**before, "name": name, "email": email, "phone": phone}

    contact = rt.db.write(write)
    rt.bus.emit("contact.updated", p.tenant_id, actor.as_dict(), object_type="contact", object_id=contact_id,
                summary={"name": contact["name"], "organization_id": contact["organization_id"]})
    return contact


def delete_contact(rt: Runtime, p: Principal, actor: Actor, contact_id: int) -> None:
    def write(c: Any) -> dict[str, Any]:
        contact = _visible(c, p, contact_id, "tickets.write")
        store.delete_contact(c, p.tenant_id, contact_id)
        return contact

    contact = rt.db.write(write)
    rt.bus.emit("contact.deleted", p.tenant_id, actor.as_dict(), object_type="contact", object_id=contact_id,
                summary={"name": contact["name"], "organization_id": contact["organization_id"]})
