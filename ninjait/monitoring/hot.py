"""The hot metrics table: one row per check-in's samples, kept until the mover puts them into DuckDB.

One row per check-in, not one per value: SQLite's single writer stored about 750 check-ins/s of
240 rows each, and one row per check-in several thousand (docs/performance.md). The mover, the
raw-series reader and the check evaluator expand the rows; DuckDB's `metrics_raw` keeps one row per
value as before.

`samples` is JSON text (the 0020 migration writes it with SQL functions), by series:

    {"t": [ts, ...], "s": [[metric, instance, [value or null for each ts]], ...]}

null where a series has no value at that time (a disk mounted between two samples). Ids never
repeat and continue the numbering of the old per-value table, so DuckDB's watermark (the highest
moved hot id) kept its meaning across the upgrade.

Every SQL statement on `hot_sample_batches` is in this module.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import msgspec

from ninjait.core.db import Conn

if TYPE_CHECKING:
    import pyarrow as pa
    from ninjait_agent import wire

SCALAR_METRICS = ("cpu_percent", "load1", "load5", "load15", "mem_percent", "swap_percent", "process_count",
                  "disk_read_bps", "disk_write_bps", "net_rx_bps", "net_tx_bps")
_SCALARS = operator.attrgetter(*SCALAR_METRICS)
Sample = tuple[float, str, str, float]  # ts, metric, instance, value
COLUMNS = "id, tenant_id, device_id, received_at, samples"


class Batch(msgspec.Struct, frozen=True):
    t: list[float]
    s: list[tuple[str, str, list[float | None]]]


_ENCODER = msgspec.json.Encoder()
_DECODER = msgspec.json.Decoder(Batch)


class Packed(NamedTuple):
    ts_min: float
    ts_max: float
    samples: str


def pack_check_in(samples: list[wire.MetricSample]) -> Packed | None:
    """A check-in's samples as one row's columns; None when it carried none."""
    if not samples:
        return None
    ts = [s.ts for s in samples]
    # One tuple of values per scalar metric (attrgetter and zip: 7 times faster than a getattr per value).
    by_metric = zip(*map(_SCALARS, samples), strict=True)
    series: list[tuple[str, str, list[float | None]]] = [
        (name, "", list(values)) for name, values in zip(SCALAR_METRICS, by_metric, strict=True)]
    disks: dict[str, list[float | None]] = {}
    for i, s in enumerate(samples):
        for d in s.disks:  # a mount listed twice in one sample keeps its last value
            disks.setdefault(d.mount, [None] * len(samples))[i] = d.used_percent
    series += [("disk_used_percent", mount, values) for mount, values in disks.items()]
    return Packed(min(ts), max(ts), _ENCODER.encode(Batch(ts, series)).decode())


def pack(samples: Iterable[Sample]) -> Packed:
    """Any (ts, metric, instance, value) samples as one row's columns (tests and benches seed with it)."""
    times: dict[float, int] = {}
    by_series: dict[tuple[str, str], dict[float, float]] = {}
    for ts, metric, instance, value in samples:
        times.setdefault(ts, len(times))
        by_series.setdefault((metric, instance), {})[ts] = value
    ts_list = list(times)
    series = [(m, i, [values.get(t) for t in ts_list]) for (m, i), values in by_series.items()]
    return Packed(min(ts_list), max(ts_list), _ENCODER.encode(Batch(ts_list, series)).decode())


def unpack(samples: str, metrics: Sequence[str] | None = None) -> list[Sample]:
    """The (ts, metric, instance, value) samples of one row, of the given metrics only if named."""
    batch = _DECODER.decode(samples)
    out: list[Sample] = []
    for metric, instance, values in batch.s:
        if metrics is not None and metric not in metrics:
            continue
        out += [(t, metric, instance, v) for t, v in zip(batch.t, values, strict=True) if v is not None]
    return out


def to_arrow(rows: Sequence[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    """Rows expanded into DuckDB `metrics_raw` columns, one entry per value (null where a series has a gap:
    the store drops those). The mover expands every sample, so the repeated columns are built as runs (one
    entry per row or per series, decoded by Arrow) instead of one Python object per value."""
    import pyarrow as pa
    import pyarrow.compute as pc

    row_ends: list[int] = []
    tenants: list[int] = []
    devices: list[int] = []
    series_ends: list[int] = []
    metrics: list[str] = []
    instances: list[str] = []
    ts: list[float] = []
    values: list[float | None] = []
    end = 0
    for row in rows:
        batch = _DECODER.decode(row["samples"])
        n = len(batch.t)
        for metric, instance, series in batch.s:
            if len(series) != n:
                raise ValueError(f"hot batch {row['id']}: a series of {len(series)} values for {n} times")
            if n:
                end += n
                series_ends.append(end)
                metrics.append(metric)
                instances.append(instance)
                ts += batch.t
                values += series
        if end and (not row_ends or row_ends[-1] != end):
            row_ends.append(end)
            tenants.append(row["tenant_id"])
            devices.append(row["device_id"])

    def runs(ends: list[int], of: list[Any], kind: pa.DataType) -> pa.Array:
        return pc.run_end_decode(pa.RunEndEncodedArray.from_arrays(pa.array(ends, pa.int64()), pa.array(of, kind)))

    return pa.table([runs(row_ends, tenants, pa.int64()), runs(row_ends, devices, pa.int64()),
                     runs(series_ends, metrics, pa.string()), runs(series_ends, instances, pa.string()),
                     pa.array(ts, pa.float64()), pa.array(values, pa.float64())], schema=schema)


# --- SQL --------------------------------------------------------------------------------------------------

def insert(c: Conn, tenant_id: int, device_id: int, received_at: int, packed: Packed) -> None:
    c.execute("INSERT INTO hot_sample_batches (tenant_id, device_id, ts_min, ts_max, samples, received_at) "
              "VALUES (?, ?, ?, ?, ?, ?)", (tenant_id, device_id, *packed, received_at))


def insert_many(c: Conn, rows: Sequence[tuple[int, int, int, Packed]]) -> None:
    """(tenant_id, device_id, received_at, packed) rows, for tests and benches that seed the table."""
    c.executemany("INSERT INTO hot_sample_batches (tenant_id, device_id, ts_min, ts_max, samples, received_at) "
                  "VALUES (?, ?, ?, ?, ?, ?)", [(t, d, *p, r) for t, d, r, p in rows])


def settled_upto(c: Conn, received_before: int) -> int:
    """The highest id received at or before the given time (0 when none)."""
    return int(c.value("SELECT COALESCE(max(id), 0) FROM hot_sample_batches WHERE received_at <= ?",
                       (received_before,)))


def max_id(c: Conn) -> int:
    return int(c.value("SELECT COALESCE(max(id), 0) FROM hot_sample_batches"))


def between(c: Conn, above: int, upto: int, limit: int) -> list[dict[str, Any]]:
    return c.all(f"SELECT {COLUMNS} FROM hot_sample_batches WHERE id > ? AND id <= ? ORDER BY id LIMIT ?",
                 (above, upto, limit))


def received_since(c: Conn, since: int) -> list[dict[str, Any]]:
    return c.all(f"SELECT {COLUMNS} FROM hot_sample_batches WHERE received_at >= ? ORDER BY id", (since,))


def of_device(c: Conn, tenant_id: int, device_id: int, start: float, end: float, above: int) -> list[dict[str, Any]]:
    """Rows of one device above a watermark that may hold samples in [start, end)."""
    return c.all(f"SELECT {COLUMNS} FROM hot_sample_batches WHERE device_id = ? AND tenant_id = ? AND id > ? "
                 "AND ts_max >= ? AND ts_min < ? ORDER BY id", (device_id, tenant_id, above, start, end))


def delete_upto(c: Conn, mark: int) -> None:
    c.execute("DELETE FROM hot_sample_batches WHERE id <= ?", (mark,))


def count_values(c: Conn, above: int) -> int:
    """Values (not rows) in the rows above a watermark (those at or below it are in DuckDB already, left
    by a move cut short), for benches that count what was stored."""
    return sum(len(unpack(r["samples"])) for r in c.all("SELECT samples FROM hot_sample_batches WHERE id > ?",
                                                         (above,)))
