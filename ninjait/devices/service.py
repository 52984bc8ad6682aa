"""Devices: what other domains and the HTTP layer may ask of them."""

from __future__ import annotations

import json
import re
import time
from typing import Any

from ninjait.core import csvfile
from ninjait.core.db import Conn
from ninjait.core.errors import Forbidden, Invalid, NotFound
from ninjait.core.runtime import Runtime
from ninjait.devices import activity, fields, groups, meta_store, rules, store
from ninjait.identity import service as identity
from ninjait.identity.principal import Actor, Principal

TAG = re.compile(r"^[a-z0-9][a-z0-9 _.:/-]{0,49}$")
MAX_TAGS = 50


def _out(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    for key in ("inventory", "live"):
        if key in out:
            out[key] = json.loads(out[key] or "{}")
    return out


def list_devices(rt: Runtime, p: Principal) -> list[dict[str, Any]]:
    with rt.db.read() as c:
        return store.list_for(c, p.tenant_id, p.organizations_for("devices.read"))


STATUSES = ("new", "online", "overdue", "offline")


def search_devices(rt: Runtime, p: Principal, *, q: str = "", organization_id: int | None = None,
                   site_id: int | None = None, status: str = "", os: str = "", tag: str = "",
                   group_id: int | None = None, custom: str = "", sort: str = "hostname",
                   page: int = 1, per_page: int = 50) -> tuple[list[dict[str, Any]], int]:
    """One page of the devices the principal may see, and how many match in all."""
    descending = sort.startswith("-")
    key = sort.lstrip("-")
    if key not in store.SORTS:
        raise Invalid(f"sort must be one of {', '.join(store.SORTS)} (prefix - for descending)", field="sort")
    if status and status not in STATUSES:
        raise Invalid(f"status must be one of {', '.join(STATUSES)}", field="status")
    if not 1 <= per_page <= 1000 or page < 1:
        raise Invalid("page starts at 1 and per_page is 1 to 1000", field="per_page")
    if len(q) > 200:
        raise Invalid("the search is longer than 200 characters", field="q")
    if tag:
        tag = clean_tag(tag, "tag")
    with rt.db.read() as c:
        if group_id is not None and meta_store.get_group(c, p.tenant_id, group_id) is None:
            raise Invalid("no device group with this id", field="group_id")
        custom_filter = fields.filter_of(c, p.tenant_id, custom) if custom else None
        rows, total = store.search(c, p.tenant_id, p.organizations_for("devices.read"), q=q,
                                   organization_id=organization_id, site_id=site_id, status=status, os=os, tag=tag,
                                   group_id=group_id, custom=custom_filter, sort=key, descending=descending,
                                   limit=per_page, offset=(page - 1) * per_page)
        tags = meta_store.tags_of(c, p.tenant_id, [r["id"] for r in rows])
    return [{**r, "tags": tags.get(r["id"], [])} for r in rows], total


def get_device(rt: Runtime, p: Principal, device_id: int, permission: str = "devices.read") -> dict[str, Any]:
    with rt.db.read() as c:
        row = store.get(c, p.tenant_id, device_id)
    if row is None or not p.can("devices.read", row["organization_id"]):
        raise NotFound("device not found")
    if not p.can(permission, row["organization_id"]):
        raise Forbidden(f"you need the permission {permission} for this device's organization")
    return _out(row)


def tag_counts(rt: Runtime, p: Principal) -> list[dict[str, Any]]:
    with rt.db.read() as c:
        return meta_store.tag_counts(c, p.tenant_id, p.organizations_for("devices.read"))


def describe(rt: Runtime, p: Principal, device_id: int) -> dict[str, Any]:
    """The device with its tags, custom field values (by key) and groups."""
    device = get_device(rt, p, device_id)
    with rt.db.read() as c:
        device["tags"] = meta_store.tags_of(c, p.tenant_id, [device_id]).get(device_id, [])
        device["custom_fields"] = meta_store.custom_values_of(c, p.tenant_id, [device_id]).get(device_id, {})
        device["groups"] = meta_store.groups_of(c, p.tenant_id, device_id)
    return device


def delete_device(rt: Runtime, p: Principal, actor: Actor, device_id: int) -> None:
    """Removes the device; its agent's credentials go with it (cascade), so it cannot check in again."""
    device = get_device(rt, p, device_id, "devices.delete")
    rt.db.write(lambda c: store.delete(c, p.tenant_id, device_id))
    rt.bus.emit("device.deleted", p.tenant_id, actor.as_dict(), object_type="device", object_id=device_id,
                summary={"hostname": device["hostname"], "organization_id": device["organization_id"]})


# --- device records: create, replace, change ----------------------------------------------------

def clean_tag(tag: Any, name: str = "tags") -> str:
    if not isinstance(tag, str):
        raise Invalid("a tag is text", field=name)
    cleaned = " ".join(tag.split()).lower()
    if not TAG.match(cleaned):
        raise Invalid(f"tag {tag[:60]!r}: 1 to 50 letters, digits, spaces or _ . : / -", field=name)
    return cleaned


def clean_tags(tags: list[Any]) -> list[str]:
    cleaned = list(dict.fromkeys(clean_tag(t) for t in tags))
    if len(cleaned) > MAX_TAGS:
        raise Invalid(f"a device has at most {MAX_TAGS} tags", field="tags")
    return cleaned


def _clean_assets(changes: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "hostname" in changes:
        hostname = str(changes["hostname"]).strip()
        if not 1 <= len(hostname) <= 253 or any(ch.isspace() or ord(ch) < 32 for ch in hostname):
            raise Invalid("the host name is 1 to 253 characters without spaces", field="hostname")
        out["hostname"] = hostname
    for key in ("purchase_date", "warranty_end"):
        if key in changes:
            value = str(changes[key]).strip()
            if value and not rules.is_date(value):
                raise Invalid(f"{key} must be a date as YYYY-MM-DD", field=key)
            out[key] = value
    if out.get("purchase_date") and out.get("warranty_end") and out["warranty_end"] < out["purchase_date"]:
        raise Invalid("the warranty cannot end before the purchase date", field="warranty_end")
    for key, limit in (("owner", 200), ("notes", 10000)):
        if key in changes:
            value = str(changes[key]).strip()
            if len(value) > limit:
                raise Invalid(f"{key} is longer than {limit} characters", field=key)
            out[key] = value
    return out


def target_site(rt: Runtime, p: Principal, site_id: Any) -> dict[str, Any]:
    if isinstance(site_id, bool) or not isinstance(site_id, int):
        raise Invalid("site_id must be a site's id", field="site_id")
    try:
        site = identity.get_site(rt, p, site_id)
    except NotFound:
        raise Invalid("no site with this id", field="site_id") from None
    if not p.can("devices.write", site["organization_id"]):
        raise Forbidden("you need the permission devices.write in the site's organization")
    return site


def create_device(rt: Runtime, p: Principal, actor: Actor, data: dict[str, Any]) -> dict[str, Any]:
    """A pre-registered asset: a record without an agent (one can enroll into its site later)."""
    site = target_site(rt, p, data.get("site_id"))
    assets = {"purchase_date": "", "warranty_end": "", "owner": "", "notes": "", **_clean_assets(data)}
    if "hostname" not in assets:
        raise Invalid("a host name is needed", field="hostname")
    tags = clean_tags(data.get("tags") or [])

    def create(c: Conn) -> int:
        custom = fields.clean_values(c, p.tenant_id, data.get("custom_fields") or {}, complete=True)
        device_id = store.insert_asset(c, p.tenant_id, site["organization_id"], site["id"], assets.pop("hostname"),
                                       assets, int(time.time()))
        meta_store.add_tags(c, p.tenant_id, device_id, tags)
        meta_store.set_custom_values(c, p.tenant_id, device_id, {k: v for k, v in custom.items() if v is not None})
        groups.refresh_devices(c, p.tenant_id, [device_id])
        return device_id

    device_id = rt.db.write(create)
    rt.bus.emit("device.created", p.tenant_id, actor.as_dict(), object_type="device", object_id=device_id,
                summary={"hostname": data["hostname"], "site_id": site["id"], "tags": tags, "source": "api"})
    return describe(rt, p, device_id)


def change_device(rt: Runtime, p: Principal, actor: Actor, device_id: int, changes: dict[str, Any], *,
                  replace: bool) -> dict[str, Any]:
    """PUT (replace: every editable field, missing ones emptied) or PATCH (only the keys given)."""
    before = describe(rt, p, device_id)
    if not p.can("devices.write", before["organization_id"]):
        raise Forbidden("you need the permission devices.write for this device's organization")
    if replace:
        changes = {"purchase_date": "", "warranty_end": "", "owner": "", "notes": "", "tags": [],
                   "custom_fields": {}, **changes}
    values = _clean_assets({**{k: before[k] for k in store.ASSET_FIELDS}, **changes})
    values = {k: v for k, v in values.items() if k in changes}
    if "site_id" in changes and changes["site_id"] != before["site_id"]:
        site = target_site(rt, p, changes["site_id"])
        values.update(site_id=site["id"], organization_id=site["organization_id"])
    tags = clean_tags(changes["tags"]) if "tags" in changes else None

    def change(c: Conn) -> None:
        custom = (fields.clean_values(c, p.tenant_id, changes["custom_fields"], complete=replace)
                  if "custom_fields" in changes else {})
        store.update(c, p.tenant_id, device_id, {**values, "updated_at": int(time.time())})
        if tags is not None:
            meta_store.set_tags(c, p.tenant_id, device_id, tags)
        meta_store.set_custom_values(c, p.tenant_id, device_id, custom)
        groups.refresh_devices(c, p.tenant_id, [device_id])

    rt.db.write(change)
    after = describe(rt, p, device_id)
    changed = {k: {"from": before[k], "to": after[k]} for k in (*store.ASSET_FIELDS, "hostname", "site_id", "tags",
                                                                "custom_fields") if before[k] != after[k]}
    rt.bus.emit("device.updated", p.tenant_id, actor.as_dict(), object_type="device", object_id=device_id,
                summary={"hostname": after["hostname"], "changes": changed})
    return after


def to_csv(rt: Runtime, p: Principal, rows: list[dict[str, Any]]) -> str:
    orgs = {o["id"]: o["name"] for o in identity.list_organizations(rt, p)}
    return csvfile.render(
        ["id", "hostname", "organization", "status", "os", "os_version", "agent_version", "last_seen_utc", "tags",
         "owner", "purchase_date", "warranty_end"],
        ([r["id"], r["hostname"], orgs.get(r["organization_id"], ""), r["status"], r["os_name"], r["os_version"],
          r["agent_version"],
          time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(r["last_seen_at"])) if r["last_seen_at"] else "",
          " ".join(r.get("tags", [])), r["owner"], r["purchase_date"], r["warranty_end"]]
         for r in rows))


# --- used by the agent gateway inside its own transaction -------------------------------------

def create_for_agent(c: Conn, tenant_id: int, org_id: int, site_id: int, hostname: str, platform: str) -> int:
    return store.insert(c, tenant_id, org_id, site_id, hostname[:253], platform, int(time.time()))


def record_check_in(c: Conn, tenant_id: int, device_id: int, now: int, agent_version: str,
                    live: str | None) -> tuple[str, str]:
    """``live``: the newest sample as JSON, or None. Returns the device's status before this check-in and
    its known inventory hash."""
    status, version, inventory_hash = store.seen(c, device_id, now, agent_version, live)
    if version != agent_version:
        groups.refresh_devices(c, tenant_id, [device_id])  # rare: an agent update (rules may name agent_version)
    return status, inventory_hash


def search_text(inventory: dict[str, Any]) -> str:
    """Lower-case words a technician may search a device by: names, addresses, OS, serial, users, software."""
    parts = [inventory.get(k, "") for k in ("hostname", "os_name", "os_version", "serial", "manufacturer", "model")]
    for nic in inventory.get("nics", []):
        parts += [nic.get("mac", ""), *nic.get("addresses", [])]
    parts += inventory.get("users", [])
    parts += [s.get("name", "") for s in inventory.get("software", [])]
    return " ".join(str(p) for p in parts if p).lower()[:200_000]


def inventory_of(c: Conn, device_id: int) -> dict[str, Any]:
    """The device's latest inventory, read on the caller's connection (the check evaluator's disk sizes)."""
    return store.inventory_of(c, device_id)


def record_inventory(c: Conn, device_id: int, inventory: dict[str, Any], digest: str, now: int) -> None:
    """Store a new inventory (its hash changed) and what changed since the one before, for the device's
    timeline; re-evaluate the device's dynamic groups (never on an ordinary check-in)."""
    tenant_id, before = store.tenant_and_inventory(c, device_id)
    activity.record_inventory_changes(c, tenant_id, device_id, before, inventory, now)
    store.set_inventory(c, tenant_id, device_id, json.dumps(inventory), digest,
                        str(inventory.get("hostname", ""))[:253], str(inventory.get("os_name", "")),
                        str(inventory.get("os_version", "")), search_text(inventory), now)
    groups.refresh_devices(c, tenant_id, [device_id])  # only here: the inventory's hash changed


# --- the device page's inventory tabs and activity timeline ----------------------------------

TIMELINE_KINDS = ("", "inventory", "events")


def timeline(rt: Runtime, p: Principal, device_id: int, *, before: int | None = None, kind: str = "",
             limit: int = 50) -> list[dict[str, Any]]:
    """Newest first; ``before`` (epoch milliseconds) pages back from the last entry seen."""
    if kind not in TIMELINE_KINDS:
        raise Invalid("kind must be inventory or events (or empty for both)", field="kind")
    if not 1 <= limit <= 500:
        raise Invalid("limit must be 1 to 500", field="limit")
    if before is not None and before < 0:
        raise Invalid("before is epoch milliseconds, not negative", field="before")
    device = get_device(rt, p, device_id)
    with rt.db.read() as c:
        return activity.timeline(c, p.tenant_id, device["id"], before=before, kind=kind, limit=limit)


def software(device: dict[str, Any], q: str = "", limit: int = 500) -> tuple[list[dict[str, Any]], int]:
    """A device's installed software matching every word of ``q`` (name or publisher), sorted by name."""
    if len(q) > 200:
        raise Invalid("the search is longer than 200 characters", field="q")
    words = q.lower().split()
    rows = sorted(device["inventory"].get("software", []), key=lambda s: str(s.get("name", "")).lower())
    found = [s for s in rows if all(w in f"{s.get('name', '')} {s.get('publisher', '')}".lower() for w in words)]
    return found[:limit], len(found)
