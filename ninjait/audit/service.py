"""The audit log: every event on the bus becomes an entry, chained by hashes.

Each entry's hash is an HMAC-SHA-256 (keyed with a key from the data
directory, not the database) over the previous entry's hash and the entry's
own fields, one chain per tenant (and one for appliance-wide events). The
newest entry of each chain is also recorded as the chain's head. So editing,
deleting, reordering or cutting off rows shows up in ``ninjait audit verify``,
and someone with write access to the database alone (a DBA, a stolen dump
put back) cannot forge a consistent chain without the key.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from ninjait.audit import store
from ninjait.core import csvfile
from ninjait.core.crypto import Keyring
from ninjait.core.db import Conn, Database
from ninjait.core.dialect import lock_for_transaction
from ninjait.core.events import Event, EventBus
from ninjait.identity.principal import Principal

GENESIS = "0" * 64
CHAIN_LOCK_BASE = 7_300_000_000
FIELDS = ("tenant_id", "at", "user_id", "actor", "ip", "request_id", "action", "object_type", "object_id", "summary")


def entry_hash(keyring: Keyring, prev_hash: str, entry: dict[str, Any]) -> str:
    canonical = json.dumps({k: entry[k] for k in FIELDS}, sort_keys=True, separators=(",", ":"), default=str)
    return keyring.mac(prev_hash + canonical, purpose="audit-chain")


def _head_key(tenant_id: int | None) -> str:
    return f"audit_head:{'appliance' if tenant_id is None else tenant_id}"


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


def append(c: Conn, keyring: Keyring, entry: dict[str, Any]) -> int:
    lock_for_transaction(c, CHAIN_LOCK_BASE + (entry["tenant_id"] or 0))
    prev = store.last_hash(c, entry["tenant_id"]) or GENESIS
    digest = entry_hash(keyring, prev, entry)
    entry_id = store.insert(c, entry, prev, digest)
    store.set_head(c, _head_key(entry["tenant_id"]), f"{entry_id}:{digest}", entry["at"])
    return entry_id


def subscribe(bus: EventBus, db: Database, keyring: Keyring) -> None:
    def record(event: Event) -> None:
        entry = entry_from_event(event)
        db.write(lambda c: append(c, keyring, entry))

    bus.subscribe("*", record)


@dataclass(frozen=True)
class ChainProblem:
    tenant_id: int | None
    entry_id: int
    problem: str


def verify(db: Database, keyring: Keyring) -> tuple[int, list[ChainProblem]]:
    """Recompute every chain. Returns (entries checked, problems found)."""
    problems: list[ChainProblem] = []
    checked = 0
    with db.read() as c:
        heads = store.heads(c)
        chains = set(store.chain_tenants(c)) | {h for h in heads}
        for tenant_id in chains:
            prev, last_id = GENESIS, 0
            for row in store.chain(c, tenant_id):
                checked += 1
                if row["prev_hash"] != prev:
                    problems.append(ChainProblem(tenant_id, row["id"], "does not follow the entry before it "
                                                                     "(an entry was removed or reordered)"))
                if entry_hash(keyring, row["prev_hash"], row) != row["hash"]:
                    problems.append(ChainProblem(tenant_id, row["id"], "content was changed after it was written"))
                prev, last_id = row["hash"], row["id"]
            if heads.get(tenant_id) != f"{last_id}:{prev}":
                problems.append(ChainProblem(tenant_id, last_id, "the newest entries of this chain are missing "
                                                                 "(the recorded head is not the last entry)"))
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
    return csvfile.render(
        ["id", "time", "actor", "ip", "action", "object_type", "object_id", "summary", "request_id"],
        ([r["id"], r["time"], r["actor"], r["ip"], r["action"], r["object_type"], r["object_id"],
          json.dumps(r["summary"], sort_keys=True), r["request_id"]] for r in rows))
