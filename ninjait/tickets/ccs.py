"""People copied on a ticket: e-mail addresses, or contacts of the ticket's organization (the e-mail channel
will write to them). The list is replaced as a whole; addresses are lower-cased and kept once."""

from __future__ import annotations

import time
from typing import Any

from ninjait.core.errors import Invalid
from ninjait.core.runtime import Runtime
from ninjait.identity.principal import Actor, Principal
from ninjait.tickets import collab_store, service, store
from ninjait.tickets.contacts import EMAIL

MAX_CCS = 50


def list_ccs(rt: Runtime, p: Principal, ticket_id: int) -> list[dict[str, Any]]:
    with rt.db.read() as c:
        service._visible(c, p, ticket_id)
        return collab_store.ccs(c, p.tenant_id, ticket_id)


def set_ccs(rt: Runtime, p: Principal, actor: Actor, ticket_id: int, emails: list[str], contact_ids: list[int],
            now: float | None = None) -> list[dict[str, Any]]:
    at = int(time.time() if now is None else now)
    cleaned = [str(e).strip().lower() for e in emails if str(e).strip()]
    for email in cleaned:
        if len(email) > 254 or not EMAIL.match(email):
            raise Invalid(f"{email[:60]!r} is not an e-mail address", field="emails")

    def write(c: Any) -> list[dict[str, Any]]:
        ticket = service._visible(c, p, ticket_id, "tickets.write")
        entries: dict[str, int | None] = {e: None for e in cleaned}
        for contact_id in dict.fromkeys(contact_ids):
            contact = store.contact(c, p.tenant_id, contact_id)
            if contact is None or not store.contact_in_organization(c, p.tenant_id, contact_id,
                                                                    ticket["organization_id"]):
                raise Invalid(f"contact {contact_id} is not a contact of the ticket's organization",
                              field="contact_ids")
            if not contact["email"]:
                raise Invalid(f"contact {contact['name']} has no e-mail address", field="contact_ids")
            entries[contact["email"].lower()] = contact_id
        if len(entries) > MAX_CCS:
            raise Invalid(f"at most {MAX_CCS} CCs", field="emails")
        collab_store.replace_ccs(c, p.tenant_id, ticket_id, sorted(entries.items()), at)
        return collab_store.ccs(c, p.tenant_id, ticket_id)

    result = rt.db.write(write)
    rt.bus.emit("ticket.ccs_changed", p.tenant_id, actor.as_dict(), object_type="ticket", object_id=ticket_id,
                summary={"ticket_id": ticket_id, "ccs": [r["email"] for r in result]})
    return result
