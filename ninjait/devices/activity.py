"""A device's activity timeline: what changed in its inventory, and what happened to it.

Inventory changes are computed here, when a new inventory arrives (rare: the agent sends one only
when its hash changes), and stored as rows of ``device_activity``. The timeline merges them with the
audit log's entries about the device (status changes, commands, edits), newest first.
"""

from __future__ import annotations

import json
from typing import Any

from ninjait.core.db import Conn

# Fields whose change is worth a line of its own, by the heading it goes under.
HARDWARE = ("cpu_model", "cpu_cores", "cpu_threads", "ram_bytes", "serial", "manufacturer", "model", "architecture")
OPERATING_SYSTEM = ("os_name", "os_version", "os_build", "kernel")
# A reboot moves boot_time by far more than clock jitter does.
REBOOT_SLACK_SECONDS = 120
LISTED = 200  # at most this many names per change kind are kept in a row's details


def _by(items: list[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    return {str(i.get(key, "")): i for i in items if i.get(key)}


def _keyed(old: dict[str, Any], new: dict[str, Any], items: str, key: str, compared: str) -> tuple[
        dict[str, dict[str, Any]], dict[str, dict[str, Any]], list[str], list[str], list[str]]:
    """Two inventories' lists of ``items`` by ``key``: before, after, added, removed, and changed in ``compared``."""
    before, after = _by(old.get(items, []), key), _by(new.get(items, []), key)
    changed = sorted(k for k in set(before) & set(after) if before[k].get(compared) != after[k].get(compared))
    return before, after, sorted(set(after) - set(before)), sorted(set(before) - set(after)), changed


def _summary(heading: str, *parts: tuple[list[str], str]) -> str:
    return f"{heading}: " + ", ".join(f"{len(names)} {label}" for names, label in parts if names)


def _software(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any] | None:
    before, after, installed, removed, updated = _keyed(old, new, "software", "name", "version")
    if not (installed or removed or updated):
        return None
    return {"kind": "software",
            "summary": _summary("Software", (installed, "installed"), (removed, "removed"), (updated, "updated")),
            "details": {
                "installed": [{"name": n, "version": after[n].get("version", "")} for n in installed[:LISTED]],
                "removed": [{"name": n, "version": before[n].get("version", "")} for n in removed[:LISTED]],
                "updated": [{"name": n, "from": before[n].get("version", ""), "to": after[n].get("version", "")}
                            for n in updated[:LISTED]]}}


def _disks(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any] | None:
    # Free space changes all the time and is not news: only the size counts.
    before, after, added, removed, resized = _keyed(old, new, "disks", "mount", "total_bytes")
    if not (added or removed or resized):
        return None

    def disk(d: dict[str, Any], mount: str) -> dict[str, Any]:
        return {"mount": mount, "device": d.get("device", ""), "total_bytes": d.get("total_bytes", 0)}

    return {"kind": "disks",
            "summary": _summary("Disks", (added, "added"), (removed, "removed"), (resized, "resized")),
            "details": {"added": [disk(after[m], m) for m in added], "removed": [disk(before[m], m) for m in removed],
                        "resized": [{"mount": m, "from": before[m].get("total_bytes", 0),
                                     "to": after[m].get("total_bytes", 0)} for m in resized]}}


def _addresses(inventory: dict[str, Any]) -> dict[str, set[str]]:
    return {str(n.get("name", "")): set(n.get("addresses", [])) for n in inventory.get("nics", []) if n.get("name")}


def _network(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any] | None:
    before, after = _addresses(old), _addresses(new)
    changes = []
    for name in sorted(set(before) | set(after)):
        gone, came = sorted(before.get(name, set()) - after.get(name, set())), sorted(
            after.get(name, set()) - before.get(name, set()))
        if name not in after:
            changes.append({"interface": name, "change": "removed", "removed": gone, "added": []})
        elif name not in before:
            changes.append({"interface": name, "change": "added", "removed": [], "added": came})
        elif gone or came:
            changes.append({"interface": name, "change": "addresses", "removed": gone, "added": came})
    if not changes:
        return None
    readable = []
    for ch in changes[:4]:
        if ch["change"] == "addresses":
            readable.append(f"{ch['interface']} {', '.join(ch['removed']) or '—'} → {', '.join(ch['added']) or '—'}")
        else:
            readable.append(f"{ch['interface']} {ch['change']}")
    more = f" and {len(changes) - 4} more" if len(changes) > 4 else ""
    return {"kind": "network", "summary": "Network: " + "; ".join(readable) + more, "details": {"interfaces": changes}}


def _fields(old: dict[str, Any], new: dict[str, Any], names: tuple[str, ...], kind: str,
            heading: str) -> dict[str, Any] | None:
    changed = [{"field": f, "from": old.get(f), "to": new.get(f)} for f in names if old.get(f) != new.get(f)]
    if not changed:
        return None
    label = (lambda c: "") if len(names) == 1 else (lambda c: f"{c['field']} ")
    readable = "; ".join(f"{label(c)}{c['from'] or '—'} → {c['to'] or '—'}" for c in changed)
    return {"kind": kind, "summary": f"{heading}: {readable}", "details": {"changed": changed}}


def _services(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any] | None:
    before, after, added, removed, state = _keyed(old, new, "services", "name", "state")
    if not (added or removed or state):
        return None
    return {"kind": "services",
            "summary": _summary("Services", (added, "added"), (removed, "removed"), (state, "changed state")),
            "details": {"added": added[:LISTED], "removed": removed[:LISTED],
                        "state": [{"name": n, "from": before[n].get("state", ""), "to": after[n].get("state", "")}
                                  for n in state[:LISTED]]}}


def _reboot(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any] | None:
    before, after = float(old.get("boot_time") or 0), float(new.get("boot_time") or 0)
    if not before or not after or after - before <= REBOOT_SLACK_SECONDS:
        return None
    return {"kind": "restart", "summary": "The device restarted", "details": {"boot_time": after}}


def inventory_changes(old: dict[str, Any] | None, new: dict[str, Any]) -> list[dict[str, Any]]:
    """The timeline entries a new inventory makes, compared with the one before (none: the first one)."""
    if not old:
        return [{"kind": "inventory", "summary": "First inventory received", "details": {
            "software": len(new.get("software", [])), "disks": len(new.get("disks", [])),
            "interfaces": len(new.get("nics", []))}}]
    found = [
        _fields(old, new, ("hostname",), "hostname", "Host name"),
        _fields(old, new, OPERATING_SYSTEM, "os", "Operating system"),
        _fields(old, new, HARDWARE, "hardware", "Hardware"),
        _reboot(old, new), _network(old, new), _disks(old, new), _software(old, new), _services(old, new),
    ]
    return [f for f in found if f is not None]


def record_inventory_changes(c: Conn, tenant_id: int, device_id: int, old: dict[str, Any] | None,
                             new: dict[str, Any], now: int) -> int:
    changes = inventory_changes(old, new)
    c.executemany("INSERT INTO device_activity (tenant_id, device_id, at, kind, summary, details) "
                  "VALUES (?, ?, ?, ?, ?, ?)",
                  [(tenant_id, device_id, now, ch["kind"], ch["summary"][:1000], json.dumps(ch["details"]))
                   for ch in changes])
    return len(changes)


def timeline(c: Conn, tenant_id: int, device_id: int, *, before: int | None = None, kind: str = "",
             limit: int = 50) -> list[dict[str, Any]]:
    """Newest first: inventory changes and the audit log's entries about this device, ``limit`` of them,
    older than the ``before`` cursor (milliseconds) when given."""
    cursor = before if before is not None else 1 << 62
    entries: list[dict[str, Any]] = []
    if kind in ("", "inventory"):
        for r in c.all("SELECT id, at, kind, summary, details FROM device_activity WHERE tenant_id = ? "
                       "AND device_id = ? AND at * 1000 < ? ORDER BY at DESC, id DESC LIMIT ?",
                       (tenant_id, device_id, cursor, limit)):
            entries.append({"at_ms": r["at"] * 1000, "source": "inventory", "kind": r["kind"],
                            "summary": r["summary"], "actor": "agent", "details": json.loads(r["details"])})
    if kind in ("", "events"):
        for r in c.all("SELECT at, action, actor, summary FROM audit_log WHERE tenant_id = ? AND object_type = 'device' "
                       "AND object_id = ? AND at < ? ORDER BY id DESC LIMIT ?",
                       (tenant_id, str(device_id), cursor, limit)):
            summary = json.loads(r["summary"] or "{}")
            entries.append({"at_ms": r["at"], "source": "event", "kind": r["action"],
                            "summary": describe_event(r["action"], summary), "actor": r["actor"],
                            "details": summary})
    entries.sort(key=lambda e: e["at_ms"], reverse=True)
    return entries[:limit]


def describe_event(action: str, summary: dict[str, Any]) -> str:
    """One line a technician reads, for the audit actions that concern a device."""
    if action == "device.status_changed":
        return f"Status {summary.get('from', '?')} → {summary.get('to', '?')}"
    if action == "command.finished":
        code = summary.get("exit_code")
        return f"Command {summary.get('kind', '')} {summary.get('status', '')}" + (
            f" (exit {code})" if code is not None else "")
    if action == "command.queued":
        return f"Command {summary.get('kind', '')} queued"
    words = action.replace(".", " ").replace("_", " ")
    return words[:1].upper() + words[1:]
