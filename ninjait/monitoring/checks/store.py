"""SQL of checks, their exclusions, per-device states, results (history) and pending agent reports."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from ninjait.core.db import Conn

Row = dict[str, Any]


def chunks(ids: Sequence[int], size: int = 500) -> Iterator[tuple[list[int], str]]:
    """Ids in slices small enough for one `IN (...)`, each with its placeholders."""
    for start in range(0, len(ids), size):
        chunk = list(ids[start:start + size])
        yield chunk, ",".join("?" * len(chunk))
COLUMNS = ("id, tenant_id, scope_kind, scope_id, organization_id, name, kind, run_from, params, severity, "
           "interval_seconds, fail_after, recover_after, enabled, created_by, created_at, updated_at")
STATE_COLUMNS = ("check_id, device_id, tenant_id, state, fails, passes, breach_since, last_ts, last_value, message, "
                 "last_run_at, last_recorded_at, changed_at")


# --- definitions --------------------------------------------------------------------------------------

def insert(c: Conn, values: dict[str, Any]) -> int:
    return c.value(f"INSERT INTO checks ({', '.join(values)}) VALUES ({', '.join('?' * len(values))}) RETURNING id",
                   list(values.values()))


def update(c: Conn, tenant_id: int, check_id: int, values: dict[str, Any]) -> None:
    sets = ", ".join(f"{k} = ?" for k in values)
    c.execute(f"UPDATE checks SET {sets} WHERE tenant_id = ? AND id = ?", [*values.values(), tenant_id, check_id])


def delete(c: Conn, tenant_id: int, check_id: int) -> None:
    c.execute("DELETE FROM checks WHERE tenant_id = ? AND id = ?", (tenant_id, check_id))


def get(c: Conn, tenant_id: int, check_id: int) -> Row | None:
    return c.one(f"SELECT {COLUMNS} FROM checks WHERE tenant_id = ? AND id = ?", (tenant_id, check_id))


def list_for(c: Conn, tenant_id: int, *, scope_kind: str = "", scope_id: int | None = None, kind: str = "") -> list[Row]:
    where, params = ["tenant_id = ?"], [tenant_id]
    if scope_kind:
        where.append("scope_kind = ?")
        params.append(scope_kind)
    if scope_id is not None:
        where.append("scope_id = ?")
        params.append(scope_id)
    if kind:
        where.append("kind = ?")
        params.append(kind)
    return c.all(f"SELECT {COLUMNS} FROM checks WHERE {' AND '.join(where)} ORDER BY scope_kind, name, id", params)


def enabled_checks(c: Conn, tenant_ids: Iterable[int] | None = None, run_from: str = "") -> list[Row]:
    """Enabled checks of the given tenants (None: every tenant), optionally only those run from one side."""
    where, params = ["enabled = 1"], []
    if tenant_ids is not None:
        ids = sorted(set(tenant_ids))
        if not ids:
            return []
        where.append(f"tenant_id IN ({','.join('?' * len(ids))})")
        params += ids
    if run_from:
        where.append("run_from = ?")
        params.append(run_from)
    return c.all(f"SELECT {COLUMNS} FROM checks WHERE {' AND '.join(where)}", params)


def exclusions(c: Conn, check_ids: Sequence[int]) -> dict[int, set[int]]:
    out: dict[int, set[int]] = {}
    for chunk, marks in chunks(check_ids):
        for r in c.all(f"SELECT check_id, device_id FROM check_exclusions WHERE check_id IN "
                       f"({marks})", chunk):
            out.setdefault(r["check_id"], set()).add(r["device_id"])
    return out


def set_exclusions(c: Conn, tenant_id: int, check_id: int, device_ids: Iterable[int]) -> None:
    c.execute("DELETE FROM check_exclusions WHERE check_id = ? AND tenant_id = ?", (check_id, tenant_id))
    c.executemany("INSERT INTO check_exclusions (check_id, tenant_id, device_id) VALUES (?, ?, ?)",
                  [(check_id, tenant_id, d) for d in sorted(set(device_ids))])


def group_members(c: Conn, tenant_id: int, group_ids: Sequence[int]) -> dict[int, set[int]]:
    """Devices of each group. The one place checks read the groups domain's membership table."""
    out: dict[int, set[int]] = {g: set() for g in group_ids}
    if not group_ids:
        return out
    for r in c.all(f"SELECT group_id, device_id FROM device_group_members WHERE tenant_id = ? AND group_id IN "
                   f"({','.join('?' * len(group_ids))})", [tenant_id, *group_ids]):
        out[r["group_id"]].add(r["device_id"])
    return out


# --- devices as checks see them ----------------------------------------------------------------------

DEVICE_COLUMNS = "id, tenant_id, organization_id, site_id, hostname, last_seen_at, status"


def devices_by_id(c: Conn, device_ids: Sequence[int]) -> dict[int, Row]:
    out: dict[int, Row] = {}
    for chunk, marks in chunks(device_ids):
        for r in c.all(f"SELECT {DEVICE_COLUMNS} FROM devices WHERE id IN ({marks})", chunk):
            out[r["id"]] = r
    return out


def device_organizations(c: Conn, tenant_id: int, device_ids: Sequence[int]) -> dict[int, int]:
    """device id -> organization, for the tenant's devices among the ids."""
    out: dict[int, int] = {}
    for chunk, marks in chunks(device_ids):
        for r in c.all(f"SELECT id, organization_id FROM devices WHERE tenant_id = ? AND id IN "
                       f"({marks})", [tenant_id, *chunk]):
            out[r["id"]] = r["organization_id"]
    return out


def devices_of_tenants(c: Conn, tenant_ids: Iterable[int]) -> list[Row]:
    ids = sorted(set(tenant_ids))
    if not ids:
        return []
    return c.all(f"SELECT {DEVICE_COLUMNS} FROM devices WHERE tenant_id IN ({','.join('?' * len(ids))})", ids)


def inventory_hashes(c: Conn, device_ids: Sequence[int]) -> dict[int, str]:
    out: dict[int, str] = {}
    for chunk, marks in chunks(device_ids):
        for r in c.all(f"SELECT id, inventory_hash FROM devices WHERE id IN ({marks})", chunk):
            out[r["id"]] = r["inventory_hash"]
    return out


# --- what arrived since the last pass ---------------------------------------------------------------

def metrics_in_use(c: Conn) -> set[str]:
    """The metrics enabled server-evaluated checks look at: a pass reads only those samples."""
    fixed = {"cpu": "cpu_percent", "memory": "mem_percent", "disk": "disk_used_percent"}
    out = set()
    for r in c.all("SELECT DISTINCT kind, params FROM checks WHERE enabled = 1 AND kind IN ('cpu', 'memory', 'disk', "
                   "'metric')"):
        out.add(fixed.get(r["kind"]) or json.loads(r["params"]).get("metric", ""))
    return out


def insert_reports(c: Conn, rows: Sequence[tuple[Any, ...]]) -> None:
    if rows:
        c.executemany("INSERT INTO check_reports (tenant_id, device_id, check_id, ts, status, value, message) "
                      "VALUES (?, ?, ?, ?, ?, ?, ?)", rows)


def reports(c: Conn, limit: int) -> list[Row]:
    return c.all("SELECT id, tenant_id, device_id, check_id, ts, status, value, message FROM check_reports "
                 "ORDER BY id LIMIT ?", (limit,))


def delete_reports(c: Conn, ids: Sequence[int]) -> None:
    """Exactly the reports a pass read: on PostgreSQL a smaller id may commit after the read."""
    for chunk, marks in chunks(ids):
        c.execute(f"DELETE FROM check_reports WHERE id IN ({marks})", chunk)


# --- states and results ------------------------------------------------------------------------------

def states_for(c: Conn, pairs: Iterable[tuple[int, int]]) -> dict[tuple[int, int], Row]:
    """States of (check, device) pairs, fetched by device."""
    by_device: dict[int, set[int]] = {}
    for check_id, device_id in pairs:
        by_device.setdefault(device_id, set()).add(check_id)
    devices = sorted(by_device)
    out: dict[tuple[int, int], Row] = {}
    for chunk, marks in chunks(devices):
        for r in c.all(f"SELECT {STATE_COLUMNS} FROM check_states WHERE device_id IN ({marks})",
                       chunk):
            if r["check_id"] in by_device[r["device_id"]]:
                out[(r["check_id"], r["device_id"])] = r
    return out


def states_of_device(c: Conn, tenant_id: int, device_id: int) -> dict[int, Row]:
    return {r["check_id"]: r for r in c.all(f"SELECT {STATE_COLUMNS} FROM check_states WHERE tenant_id = ? "
                                            "AND device_id = ?", (tenant_id, device_id))}


def state_counts(c: Conn, tenant_id: int, check_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    out: dict[int, dict[str, int]] = {}
    if not check_ids:
        return out
    for chunk, marks in chunks(check_ids):
        for r in c.all(f"SELECT check_id, state, count(*) AS n FROM check_states WHERE tenant_id = ? AND check_id IN "
                       f"({marks}) GROUP BY check_id, state", [tenant_id, *chunk]):
            out.setdefault(r["check_id"], {})[r["state"]] = r["n"]
    return out


def save_states(c: Conn, rows: Sequence[Row]) -> None:
    if not rows:
        return
    cols = STATE_COLUMNS.split(", ")
    updates = ", ".join(f"{k} = excluded.{k}" for k in cols[3:])
    c.executemany(f"INSERT INTO check_states ({STATE_COLUMNS}) VALUES ({', '.join('?' * len(cols))}) "
                  f"ON CONFLICT (check_id, device_id) DO UPDATE SET {updates}",
                  [[r[k] for k in cols] for r in rows])


def insert_results(c: Conn, rows: Sequence[tuple[Any, ...]]) -> None:
    if rows:
        c.executemany("INSERT INTO check_results (tenant_id, check_id, device_id, ts, status, state, value, message) "
                      "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)


def results(c: Conn, tenant_id: int, check_id: int, device_id: int | None, limit: int, before: float | None) -> list[Row]:
    where, params = ["tenant_id = ?", "check_id = ?"], [tenant_id, check_id]
    if device_id is not None:
        where.append("device_id = ?")
        params.append(device_id)
    if before is not None:
        where.append("ts < ?")
        params.append(before)
    return c.all(f"SELECT id, check_id, device_id, ts, status, state, value, message FROM check_results "
                 f"WHERE {' AND '.join(where)} ORDER BY ts DESC, id DESC LIMIT ?", [*params, limit])


def state_pairs(c: Conn, check_ids: Sequence[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for chunk, marks in chunks(check_ids):
        out += [(r["check_id"], r["device_id"]) for r in c.all(
            f"SELECT check_id, device_id FROM check_states WHERE check_id IN ({marks})", chunk)]
    return out


def delete_states(c: Conn, pairs: Sequence[tuple[int, int]]) -> None:
    c.executemany("DELETE FROM check_states WHERE check_id = ? AND device_id = ?", pairs)


def purge_results(c: Conn, older_than: float) -> int:
    count = int(c.value("SELECT count(*) FROM check_results WHERE ts < ?", (older_than,)))
    if count:
        c.execute("DELETE FROM check_results WHERE ts < ?", (older_than,))
    return count
