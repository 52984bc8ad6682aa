"""The metrics tiers in DuckDB: raw samples, 5-minute and 1-hour min/avg/max.

Samples arrive in bulk (Arrow tables expanded from the hot table's per-check-in rows), sorted by
(device, metric, instance, ts) so a device's series sit together. Each append merges its values
into the 5-minute and 1-hour buckets they fall in (min, max, count and sum add up), so late
samples (within the raw retention) give exact aggregates at the cost of the batch alone.

This class is the analytics interface: a ClickHouse store would offer the same
methods.
"""

from __future__ import annotations

import shutil
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

SCHEMA = """
CREATE TABLE IF NOT EXISTS metrics_raw (
    tenant_id BIGINT, device_id BIGINT, metric VARCHAR, instance VARCHAR, ts DOUBLE, value DOUBLE);
CREATE TABLE IF NOT EXISTS metrics_5m (
    tenant_id BIGINT, device_id BIGINT, metric VARCHAR, instance VARCHAR, bucket DOUBLE,
    min DOUBLE, avg DOUBLE, max DOUBLE, n BIGINT);
CREATE TABLE IF NOT EXISTS metrics_1h (
    tenant_id BIGINT, device_id BIGINT, metric VARCHAR, instance VARCHAR, bucket DOUBLE,
    min DOUBLE, avg DOUBLE, max DOUBLE, n BIGINT);
CREATE TABLE IF NOT EXISTS mover_state (name VARCHAR PRIMARY KEY, value BIGINT);
"""

COLUMNS = ("tenant_id", "device_id", "metric", "instance", "ts", "value")


def arrow_schema() -> pa.Schema:
    import pyarrow as pa

    return pa.schema([("tenant_id", pa.int64()), ("device_id", pa.int64()), ("metric", pa.string()),
                      ("instance", pa.string()), ("ts", pa.float64()), ("value", pa.float64())])
TIERS = {"raw": 0, "5m": 300, "1h": 3600}


class StaleWatermark(Exception):
    pass


@dataclass(frozen=True)
class Retention:
    raw_days: int = 7
    m5_days: int = 90
    h1_days: int = 730


class DuckStore:
    def __init__(self, connection: Any, retention: Retention) -> None:
        self._con = connection
        self.retention = retention
        self._write_lock = threading.Lock()  # one bulk writer at a time; readers use their own cursors
        self.moving = threading.Lock()  # held by the hot-table mover for a whole move
        self._con.execute(SCHEMA)

    def cursor(self) -> Any:
        return self._con.cursor()

    def watermark(self) -> int:
        row = self.cursor().execute("SELECT value FROM mover_state WHERE name = 'hot_id'").fetchone()
        return int(row[0]) if row else 0

    def append(self, table: pa.Table, up_to_id: int, now: float, after_id: int | None = None) -> int:
        """Store a batch and move the watermark in one transaction; returns rows kept (too-old rows dropped).

        ``after_id``: the watermark the batch was read above. When another mover moved the watermark
        meanwhile, these rows are (or are being) stored already: StaleWatermark, and nothing is written."""
        cutoff = now - self.retention.raw_days * 86400
        with self._write_lock:
            cur = self.cursor()
            if after_id is not None and self.watermark() != after_id:
                raise StaleWatermark(f"the watermark moved past {after_id}: another move stored these rows")
            cur.register("incoming", table)
            cur.execute("BEGIN")
            try:
                # A null value is a series' gap in a hot batch (a disk mounted between two samples).
                cur.execute("CREATE OR REPLACE TEMP TABLE batch AS SELECT * FROM incoming WHERE ts >= ? "
                            "AND value IS NOT NULL ORDER BY device_id, metric, instance, ts", [cutoff])
                kept = cur.execute("SELECT count(*) FROM batch").fetchone()[0]
                cur.execute("INSERT INTO metrics_raw SELECT * FROM batch")
                self._rollup(cur)
                cur.execute("INSERT INTO mover_state VALUES ('hot_id', ?) ON CONFLICT (name) DO UPDATE "
                            "SET value = excluded.value", [up_to_id])
                cur.execute("COMMIT")
            except Exception:
                cur.execute("ROLLBACK")
                raise
            finally:
                cur.unregister("incoming")
        return int(kept)

    @staticmethod
    def _rollup(cur: Any) -> None:
        """Merge the batch into the 5-minute and 1-hour buckets it touches. Every raw value is appended once (the
        watermark), so a bucket's min, max, count and sum add up exactly from its parts, late values included; the
        cost is the batch's, not the bucket's (recomputing from raw read up to an hour of every series a minute)."""
        for name, width in (("metrics_5m", 300), ("metrics_1h", 3600)):
            cur.execute(f"""
                CREATE OR REPLACE TEMP TABLE part AS
                SELECT tenant_id, device_id, metric, instance, floor(ts / {width}) * {width} AS bucket,
                       min(value) AS lo, sum(value) AS total, max(value) AS hi, count(*) AS n
                FROM batch GROUP BY ALL""")
            first, last = cur.execute("SELECT min(bucket), max(bucket) FROM part").fetchone()
            if first is None:
                continue
            # The bucket range as constants lets DuckDB skip the row groups of older buckets.
            cur.execute(f"""
                CREATE OR REPLACE TEMP TABLE merged AS
                SELECT p.tenant_id, p.device_id, p.metric, p.instance, p.bucket,
                       least(p.lo, coalesce(t.min, p.lo)),
                       (p.total + coalesce(t.avg * t.n, 0)) / (p.n + coalesce(t.n, 0)),
                       greatest(p.hi, coalesce(t.max, p.hi)), p.n + coalesce(t.n, 0)
                FROM part p LEFT JOIN (SELECT * FROM {name} WHERE bucket >= ? AND bucket <= ?) t
                  ON t.device_id = p.device_id AND t.metric = p.metric AND t.instance = p.instance
                 AND t.bucket = p.bucket""", [first, last])
            cur.execute(f"""
                DELETE FROM {name} t USING part x
                WHERE t.bucket >= ? AND t.bucket <= ? AND t.device_id = x.device_id AND t.metric = x.metric
                  AND t.instance = x.instance AND t.bucket = x.bucket""", [first, last])
            cur.execute(f"INSERT INTO {name} SELECT * FROM merged")

    def purge(self, now: float) -> dict[str, int]:
        removed = {}
        with self._write_lock:
            cur = self.cursor()
            for table, days in (("metrics_raw", self.retention.raw_days), ("metrics_5m", self.retention.m5_days),
                                ("metrics_1h", self.retention.h1_days)):
                column = "ts" if table == "metrics_raw" else "bucket"
                removed[table] = cur.execute(f"DELETE FROM {table} WHERE {column} < ?",
                                             [now - days * 86400]).fetchone()[0]
        return removed

    def snapshot(self, source: Path, dest: Path) -> str:
        """Copy the database file at ``source`` to ``dest`` as one consistent state, while readers go on.

        Under the write lock no bulk write runs, and a checkpoint first folds the write-ahead log
        into the file, so the file alone is the whole database and stays still while it is copied.
        DuckDB may skip a checkpoint while other transactions run; then the copy is logical instead
        (COPY FROM DATABASE reads one transaction's snapshot into a fresh file), slower but as exact.
        """
        wal = Path(str(source) + ".wal")
        with self._write_lock:
            self.cursor().execute("CHECKPOINT")
            if not wal.exists() or wal.stat().st_size == 0:
                shutil.copyfile(source, dest)
                return "checkpoint and file copy"
        cur = self.cursor()
        name = cur.execute("SELECT current_database()").fetchone()[0]
        quoted = str(dest).replace("'", "''")
        cur.execute(f"ATTACH '{quoted}' AS ninjait_snapshot")
        try:
            cur.execute(f'COPY FROM DATABASE "{name}" TO ninjait_snapshot')
        finally:
            cur.execute("DETACH ninjait_snapshot")
        return "copy from database"

    def series(self, tenant_id: int, device_id: int, metric: str, instance: str, start: float, end: float,
               tier: str) -> list[tuple[float, float, float, float]]:
        """(t, min, avg, max) points of one series, oldest first."""
        return self.series_and_watermark(tenant_id, device_id, metric, instance, start, end, tier)[0]

    def series_and_watermark(self, tenant_id: int, device_id: int, metric: str, instance: str, start: float,
                             end: float, tier: str) -> tuple[list[tuple[float, float, float, float]], int]:
        """A series and the watermark it reflects, read from one snapshot: every hot id at or below the
        watermark is in the series, none above it."""
        cur = self.cursor()
        cur.execute("BEGIN TRANSACTION READ ONLY")
        try:
            sql = ("SELECT ts, value, value, value FROM metrics_raw WHERE tenant_id = ? AND device_id = ? "
                   "AND metric = ? AND instance = ? AND ts >= ? AND ts < ? ORDER BY ts")
            if tier != "raw":
                table = "metrics_5m" if tier == "5m" else "metrics_1h"
                sql = (f"SELECT bucket, min, avg, max FROM {table} WHERE tenant_id = ? AND device_id = ? "
                       "AND metric = ? AND instance = ? AND bucket >= ? AND bucket < ? ORDER BY bucket")
            rows = cur.execute(sql, [tenant_id, device_id, metric, instance, start, end]).fetchall()
            mark = cur.execute("SELECT value FROM mover_state WHERE name = 'hot_id'").fetchone()
        finally:
            cur.execute("COMMIT")
        return [tuple(r) for r in rows], int(mark[0]) if mark else 0

    def instances(self, tenant_id: int, device_id: int, metric: str) -> list[str]:
        cur = self.cursor()
        rows = cur.execute("SELECT DISTINCT instance FROM metrics_1h WHERE tenant_id = ? AND device_id = ? "
                           "AND metric = ? ORDER BY 1", [tenant_id, device_id, metric]).fetchall()
        return [r[0] for r in rows]

    def top_devices(self, tenant_id: int, metric: str, start: float, end: float, limit: int,
                    devices: list[int] | None) -> list[tuple[int, float, float]]:
        """Devices with the highest average of a metric over the window: (device_id, avg, max)."""
        cur = self.cursor()
        scope, params = "", [tenant_id, metric, start, end]
        if devices is not None:
            if not devices:
                return []
            scope = f" AND device_id IN ({','.join('?' * len(devices))})"
            params += devices
        sql = (f"SELECT device_id, sum(avg * n) / sum(n) AS a, max(max) FROM metrics_5m WHERE tenant_id = ? "
               f"AND metric = ? AND instance = '' AND bucket >= ? AND bucket < ?{scope} "
               "GROUP BY device_id ORDER BY a DESC LIMIT ?")
        return [tuple(r) for r in cur.execute(sql, [*params, limit]).fetchall()]
