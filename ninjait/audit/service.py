"""The audit log: every event on the bus becomes an entry, chained by hashes.

Each entry's hash is SHA-256 over the previous entry's hash and the entry's
own fields, one chain per tenant (and one for appliance-wide events), so that
editing, deleting or reordering rows shows up in ``ninjait audit verify``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import time
from dataclasses import dataclass
from typing import Any

from ninjait.audit import store
from ninjait.core.db import Conn, Database
from ninjait.core.dialect import lock_for_transaction
from ninjait.core.events import Event, EventBus
from ninjait.identity.principal import Principal

GENESIS = "0" * 64
CHAIN_LOCK_BASE = 7_300_000_000
FIELDS = ("tenant_id", "at", "user_id", "actor", "ip", "request_id", "action", "object_type", "object_id", "summary")


def entry_hash(prev_hash: str, entry: dict[str, Any]) -> str:
    canonical = json.dumps({k: entry[k] for k in FIELDS}, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256((prev_hash + canonical).encode()).hexdigest()


def entry_from_event(event: Event) -> dict[str, Any]:
    actor = event.actor or {}
    data = dict(event.data)
    summary = data.pop("summary", None)
    return {
        "tenant_id": event.tenant_id,
        "at": int(event.at * 1000),
        "user_id": actor.get("user_id"),
        "actor": str(actor.get("email") or "system")[:254],
        "ip": str(actor.get("ip") or "")[:64],
        "request_id": str(actor.get("request_id") or "")[:64],
        "action": event.name,
        "object_type": str(data.pop("object_type", ""))[:64],
        "object_id": str(data.pop("object_id", ""))[:64],
        "summary": json.dumps(summary if summary is not None else data, sort_keys=True, default=str)[:4000],
    }


def append(c: Conn, entry: dict[str, Any]) -> int:
    lock_for_transaction(c, CHAIN_LOCK_BASE + (entry["tenant_id"] or 0))
    prev = store.last_hash(c, entry["tenant_id"]) or GENESIS
    return store.insert(c, entry, prev, entry_hash(prev, entry))


def subscribe(bus: EventBus, db: Database) -> None:
    def record(event: Event) -> None:
        entry = entry_from_event(event)
        db.write(lambda c: append(c, entry))

    bus.subscribe("*", record)


@dataclass(frozen=True)
class ChainProblem:
    tenant_id: int | None
    entry_id: int
    problem: str


def verify(db: Database) -> tuple[int, list[ChainProblem]]:
    """Recompute every chain. Returns (entries checked, problems found)."""
    problems: list[ChainProblem] = []
    checked = 0
    with db.read() as c:
        tenants = store.chain_tenants(c)
        for tenant_id in tenants:
            prev = GENESIS
            for row in store.chain(c, tenant_id):
                checked += 1
                if row["prev_hash"] != prev:
                    problems.append(ChainProblem(tenant_id, row["id"], "does not follow the entry before it "
                                                                     "(an entry was removed or reordered)"))
                if entry_hash(row["prev_hash"], row) != row["hash"]:
                    problems.append(ChainProblem(tenant_id, row["id"], "content was changed after it was written"))
                prev = row["hash"]
    return checked, problems


def _parse_day(value: str, field: str) -> int | None:
    if not value:
        return None
    from ninjait.core.errors import Invalid

    try:
        return int(time.mktime(time.strptime(value, "%Y-%m-%d")) - time.timezone) * 1000
    except ValueError:
        raise Invalid(f"{field} must be a date like 2026-01-31", field=field) from None


def search(db: Database, p: Principal, *, action: str = "", user: str = "", object_type: str = "",
           since: str = "", until: str = "", limit: int = 100, before_id: int | None = None) -> list[dict[str, Any]]:
    since_ms = _parse_day(since, "since")
    until_ms = _parse_day(until, "until")
    if until_ms is not None:
        until_ms += 86_400_000  # the whole 'until' day
    with db.read() as c:
        rows = store.search(c, p.tenant_id, action=action.strip(), user=user.strip(), object_type=object_type.strip(),
                            since_ms=since_ms, until_ms=until_ms, limit=max(1, min(limit, 100_000)),
                            before_id=before_id)
    for row in rows:
        row["summary"] = json.loads(row["summary"] or "{}")
        row["time"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(row["at"] / 1000))
    return rows


def to_csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "time", "actor", "ip", "action", "object_type", "object_id", "summary", "request_id"])
    for r in rows:
        cells = [r["id"], r["time"], r["actor"], r["ip"], r["action"], r["object_type"], r["object_id"],
                 json.dumps(r["summary"], sort_keys=True), r["request_id"]]
        # A cell starting with = + - @ would run as a formula in a spreadsheet.
        writer.writerow([f"'{v}" if isinstance(v, str) and v[:1] in "=+-@\t\r" else v for v in cells])
    return out.getvalue()
