"""Saved views: a user's named device-list queries (filters and sort), listed on the devices page."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qsl, urlencode

from ninjait.core.errors import Forbidden, Invalid, NotFound
from ninjait.core.runtime import Runtime
from ninjait.devices import meta_store
from ninjait.identity.principal import Actor, Principal

# The device list's query parameters a view may hold (not the page: a view starts at page 1).
KEYS = ("q", "organization_id", "site_id", "status", "os", "tag", "group_id", "custom", "sort", "per_page")


def _owner(p: Principal) -> int:
    if not p.can_somewhere("devices.read"):
        raise Forbidden("you need the permission devices.read")
    return p.user_id


def clean_query(query: str) -> str:
    """The query string with only known keys, in a stable order; Invalid names the first unknown key."""
    pairs = parse_qsl(query.lstrip("?"), keep_blank_values=False, max_num_fields=20)
    for key, _ in pairs:
        if key not in KEYS:
            raise Invalid(f"a view cannot hold {key!r}; it holds {', '.join(KEYS)}", field="query")
    return urlencode(sorted(pairs, key=lambda kv: KEYS.index(kv[0])))


def list_views(rt: Runtime, p: Principal) -> list[dict[str, Any]]:
    user_id = _owner(p)
    with rt.db.read() as c:
        return meta_store.list_views(c, p.tenant_id, user_id)


def get_view(rt: Runtime, p: Principal, view_id: int) -> dict[str, Any]:
    user_id = _owner(p)
    with rt.db.read() as c:
        row = meta_store.get_view(c, p.tenant_id, user_id, view_id)
    if row is None:
        raise NotFound("saved view not found")
    return row


def save_view(rt: Runtime, p: Principal, actor: Actor, name: str, query: str) -> dict[str, Any]:
    """Saving under an existing name replaces that view's query."""
    user_id = _owner(p)
    name = " ".join(name.split())
    if not 1 <= len(name) <= 100:
        raise Invalid("the name is 1 to 100 characters", field="name")
    clean = clean_query(query)
    view_id = rt.db.write(lambda c: meta_store.save_view(c, p.tenant_id, user_id, name, clean, int(time.time())))
    rt.bus.emit("device_view.saved", p.tenant_id, actor.as_dict(), object_type="device_view", object_id=view_id,
                summary={"name": name, "query": clean})
    return get_view(rt, p, view_id)


def delete_view(rt: Runtime, p: Principal, actor: Actor, view_id: int) -> None:
    view = get_view(rt, p, view_id)
    rt.db.write(lambda c: meta_store.delete_view(c, p.tenant_id, p.user_id, view_id))
    rt.bus.emit("device_view.deleted", p.tenant_id, actor.as_dict(), object_type="device_view", object_id=view_id,
                summary={"name": view["name"]})
