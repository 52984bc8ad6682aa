"""Metrics (hot table -> DuckDB tiers, queries) and device status. No HTTP."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from ninjait.core.errors import Invalid
from ninjait.core.runtime import Runtime
from ninjait.devices import service as devices
from ninjait.identity.principal import SYSTEM, Principal
from ninjait.monitoring import hot
from ninjait.monitoring.analytics import DuckStore, Retention, StaleWatermark, arrow_schema

log = logging.getLogger("ninjait.monitoring")

METRICS = {
    "cpu_percent": "CPU %", "load1": "Load (1 min)", "load5": "Load (5 min)", "load15": "Load (15 min)",
    "mem_percent": "Memory used %", "swap_percent": "Swap used %", "process_count": "Processes",
    "disk_read_bps": "Disk read B/s", "disk_write_bps": "Disk write B/s", "net_rx_bps": "Network in B/s",
    "net_tx_bps": "Network out B/s", "disk_used_percent": "Disk used % (per mount)",
}
MOVE_BATCH = 1_000  # hot rows (check-ins) per DuckDB append: about 240,000 values
MAX_RANGE = 2 * 366 * 86400


def analytics(rt: Runtime) -> DuckStore:
    store = getattr(rt, "_duckstore", None)
    if store is None:
        s = rt.settings
        store = DuckStore(rt.analytics(), Retention(s.metrics_raw_days, s.metrics_5m_days, s.metrics_1h_days))
        rt._duckstore = store  # type: ignore[attr-defined]
    return store


# --- hot table -> DuckDB ----------------------------------------------------------------------------

def move_hot_samples(rt: Runtime, batch: int = MOVE_BATCH, settle_seconds: int | None = None) -> int:
    """Move every sample from the hot table into DuckDB, in bulk; returns the values moved. Safe to run
    twice or to crash midway: DuckDB records the last moved hot id in the same transaction as the rows.

    Ids only grow, so a watermark suffices, provided no smaller id commits later. On SQLite (one
    writer) none can; on PostgreSQL concurrent transactions may commit out of id order, so rows
    are left to settle for a while before they are moved. ``batch`` counts hot rows (check-ins).

    One move at a time: a move that outlasts the minute must not be joined by the next minute's,
    which would read the same rows (a second one returns at once; the append refuses stale rows too)."""
    if settle_seconds is None:
        settle_seconds = 30 if rt.db.backend == "postgresql" else 0
    store = analytics(rt)
    if not store.moving.acquire(blocking=False):
        return 0
    try:
        moved = 0
        while True:
            mark = store.watermark()
            with rt.db.read() as c:
                upper = hot.settled_upto(c, int(time.time()) - settle_seconds)
                rows = hot.between(c, mark, upper, batch)
            if rows:
                try:
                    moved += store.append(hot.to_arrow(rows, arrow_schema()), rows[-1]["id"], time.time(), mark)
                except StaleWatermark:
                    continue  # moved by someone else meanwhile: read again above the new watermark
                mark = rows[-1]["id"]
            # Rows at or below the watermark are in DuckDB: the hot copy can go (also after a crash).
            rt.db.write(lambda c, m=mark: hot.delete_upto(c, m))
            if len(rows) < batch:
                return moved
    finally:
        store.moving.release()


def snapshot_analytics(rt: Runtime, dest: Path) -> str | None:
    """Copy the analytics database for a backup; None when it was never created. In `serve` this is the
    process that holds the file (DuckDB admits one), so backups of a running appliance happen here."""
    if getattr(rt, "_duckstore", None) is None and not rt.analytics_path.exists():
        return None
    return analytics(rt).snapshot(rt.analytics_path, dest)


def purge(rt: Runtime) -> dict[str, int]:
    return analytics(rt).purge(time.time())


def tier_for_step(step: int) -> str:
    if step < 1:
        raise Invalid("step is the number of seconds between points (1 or more)", field="step")
    return "raw" if step < 300 else "5m" if step < 3600 else "1h"


def pick_tier(span: float) -> str:
    if span <= 2 * 86400:
        return "raw"
    if span <= 31 * 86400:
        return "5m"
    return "1h"


def series(rt: Runtime, p: Principal, device_id: int, metric: str, instance: str = "", start: float | None = None,
           end: float | None = None, tier: str = "") -> dict[str, Any]:
    if metric not in METRICS:
        raise Invalid(f"unknown metric {metric!r}; known: {', '.join(METRICS)}", field="metric")
    device = devices.get_device(rt, p, device_id)
    end = time.time() if end is None else end
    start = end - 3600 if start is None else start
    if start >= end:
        raise Invalid("from must be earlier than to", field="from")
    if end - start > MAX_RANGE:
        raise Invalid("the time range may span at most two years", field="from")
    if tier and tier not in ("raw", "5m", "1h"):
        raise Invalid("tier must be raw, 5m or 1h", field="tier")
    tier = tier or pick_tier(end - start)
    store = analytics(rt)
    if tier != "raw":
        points = store.series(p.tenant_id, device["id"], metric, instance, start, end, tier)
    else:
        # Samples of the last minute (or late ones) are still in the hot table, above the watermark. The
        # mover may run meanwhile: read the hot rows first, then DuckDB's rows and watermark from one
        # snapshot, and keep the hot rows above that watermark. Nothing is missed and nothing counted twice.
        with rt.db.read() as c:
            rows = hot.of_device(c, p.tenant_id, device["id"], start, end, store.watermark())
        points, mark = store.series_and_watermark(p.tenant_id, device["id"], metric, instance, start, end, tier)
        late = [(ts, v, v, v) for r in rows if r["id"] > mark
                for ts, _, inst, v in hot.unpack(r["samples"], (metric,)) if inst == instance and start <= ts < end]
        if late:
            points = sorted(points + late)
    return {"device_id": device["id"], "metric": metric, "instance": instance, "tier": tier, "from": start,
            "to": end, "points": [{"t": t, "min": lo, "avg": avg, "max": hi} for t, lo, avg, hi in points]}


def top_devices(rt: Runtime, p: Principal, metric: str, hours: int = 24, limit: int = 10) -> list[dict[str, Any]]:
    if metric not in METRICS:
        raise Invalid(f"unknown metric {metric!r}", field="metric")
    if not 1 <= hours <= 24 * 90 or not 1 <= limit <= 100:
        raise Invalid("hours must be 1-2160 and limit 1-100", field="hours")
    visible = devices.list_devices(rt, p)
    allowed = None if p.organizations_for("devices.read") is None else [d["id"] for d in visible]
    names = {d["id"]: d["hostname"] for d in visible}
    now = time.time()
    rows = analytics(rt).top_devices(p.tenant_id, metric, now - hours * 3600, now, limit, allowed)
    return [{"device_id": d, "hostname": names.get(d, ""), "avg": a, "max": m} for d, a, m in rows]


# --- device status ------------------------------------------------------------------------------------

def status_for(last_seen: int | None, now: float, interval: int, offline_after: int) -> str:
    if last_seen is None:
        return "new"
    age = now - last_seen
    if age <= 2 * interval + 30:
        return "online"
    return "overdue" if age <= offline_after else "offline"


def evaluate_statuses(rt: Runtime, now: float | None = None) -> list[dict[str, Any]]:
    """Flip device statuses by how long ago each last checked in (server clock only: agent clocks
    may be wrong). Right after the appliance starts, nobody is called offline until agents had the
    time to check in again: the outage was ours, not theirs."""
    now = time.time() if now is None else now
    interval = rt.settings.agent_interval
    up_for = now - rt.started_at
    with rt.db.read() as c:
        rows = c.all("SELECT d.id, d.tenant_id, d.hostname, d.last_seen_at, d.status, t.offline_after_minutes "
                     "FROM devices d JOIN tenants t ON t.id = d.tenant_id")
    changes = []
    for row in rows:
        offline_after = row["offline_after_minutes"] * 60
        new = status_for(row["last_seen_at"], now, interval, offline_after)
        if up_for < offline_after and new in ("overdue", "offline") and row["status"] == "online":
            continue  # grace after our own restart
        if new != row["status"]:
            changes.append({**row, "new": new})
    if changes:
        def apply(c: Any) -> None:
            for ch in changes:
                c.execute("UPDATE devices SET status = ?, status_changed_at = ? WHERE id = ? AND status = ?",
                          (ch["new"], int(now), ch["id"], ch["status"]))

        rt.db.write(apply)
    for ch in changes:
        rt.bus.emit("device.status_changed", ch["tenant_id"], SYSTEM.as_dict(), object_type="device",
                    object_id=ch["id"], summary={"hostname": ch["hostname"], "from": ch["status"], "to": ch["new"]})
    return changes
