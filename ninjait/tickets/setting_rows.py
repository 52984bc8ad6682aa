"""What the tenant-wide desk settings (teams, queues, routing rules, canned responses, macros) share: who may
change them, and reading, saving and deleting one row with its 404, 409 and audit event."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ninjait.core.errors import Conflict, NotFound
from ninjait.core.runtime import Runtime
from ninjait.identity.principal import Actor, Principal
from ninjait.tickets import routing_store as rs

# kind -> (what people call it, event and object type)
KINDS = {"team": ("team", "ticket_team"), "queue": ("queue", "ticket_queue"),
         "rule": ("routing rule", "ticket_routing_rule"), "canned": ("canned response", "ticket_canned_response"),
         "macro": ("macro", "ticket_macro")}


def unique(fn: Callable[[], Any], what: str) -> Any:
    """Run a write whose unique index on (tenant, name) may refuse a duplicate: 409 naming the field."""
    try:
        return fn()
    except Exception as exc:  # apsw and psycopg raise different types; both name the constraint
        text = str(exc).lower()
        if "unique" in text or "duplicate key" in text:
            raise Conflict(f"a {what} of that name exists", field="name") from None
        raise


def rows(rt: Runtime, p: Principal, kind: str) -> list[dict[str, Any]]:
    with rt.db.read() as c:
        return rs.rows(c, kind, p.tenant_id)


def get(rt: Runtime, p: Principal, kind: str, row_id: int) -> dict[str, Any]:
    with rt.db.read() as c:
        found = rs.row(c, kind, p.tenant_id, row_id)
    if found is None:
        raise NotFound(f"{KINDS[kind][0]} not found")
    return found


def save(rt: Runtime, p: Principal, actor: Actor, kind: str, check: Callable[[Any], dict[str, Any]],
         row_id: int | None = None, after: Callable[[Any, int], None] | None = None) -> int:
    """Create (``row_id`` None) or replace a row with the values ``check(conn)`` returns (it raises on bad
    input); ``after(conn, id)`` writes what goes with it in the same transaction."""
    what, event = KINDS[kind]
    p.require_everywhere("tickets.write", f"{what}s are tenant-wide")

    def write(c: Any) -> tuple[int, dict[str, Any]]:
        if row_id is not None and rs.row(c, kind, p.tenant_id, row_id) is None:
            raise NotFound(f"{what} not found")
        values = check(c)
        if row_id is None:
            saved = rs.insert(c, kind, p.tenant_id, {**values, "created_at": int(time.time())})
        else:
            rs.update(c, kind, p.tenant_id, row_id, values)
            saved = row_id
        if after is not None:
            after(c, saved)
        return saved, values

    saved, values = unique(lambda: rt.db.write(write), what)
    rt.bus.emit(f"{event}.{'created' if row_id is None else 'updated'}", p.tenant_id, actor.as_dict(),
                object_type=event, object_id=saved, summary={"name": values.get("name") or values.get("title")})
    return int(saved)


def delete(rt: Runtime, p: Principal, actor: Actor, kind: str, row_id: int) -> None:
    what, event = KINDS[kind]
    p.require_everywhere("tickets.write", f"{what}s are tenant-wide")
    found = get(rt, p, kind, row_id)
    rt.db.write(lambda c: rs.delete(c, kind, p.tenant_id, row_id))
    rt.bus.emit(f"{event}.deleted", p.tenant_id, actor.as_dict(), object_type=event, object_id=row_id,
                summary={"name": found.get("name") or found.get("title")})
