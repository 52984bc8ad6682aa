"""Benchmark: fleet-wide hourly aggregates over 30 days × 1,000 devices × 20 series (issue 7, goal ≤ 500 ms).

    .venv/bin/python tests/bench/bench_analytics.py [--devices 1000] [--days 30] [--runs 20]

Synthesizes the 1-hour tier (metrics_1h) of `--devices` devices with 20 series each (the 11 scalar
metrics and `disk_used_percent` on 9 mounts) over `--days`, in a throw-away DuckDB file with the
appliance's schema and memory limit, then times, warm, over `--runs` runs each:
  * the fleet's hourly average and maximum of one metric (one point per hour),
  * the same for every series at once (one point per series and hour),
  * one device's 30 days of one metric from the same tier (DuckStore.series, as the chart reads it).
The product has no fleet-wide chart yet: the first query is the one it would run. Prints p50/p95/max
and writes the figures as JSON next to this file.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.compute as pc  # noqa: E402

from ninjait.monitoring.analytics import SCHEMA, DuckStore, Retention  # noqa: E402
from ninjait.monitoring.hot import SCALAR_METRICS  # noqa: E402
from ninjait.settings import Settings  # noqa: E402

SERIES = [(m, "") for m in SCALAR_METRICS] + [("disk_used_percent", f"/mnt/d{i}") for i in range(9)]
TIER_SCHEMA = pa.schema([("tenant_id", pa.int64()), ("device_id", pa.int64()), ("metric", pa.string()),
                         ("instance", pa.string()), ("bucket", pa.float64()), ("min", pa.float64()),
                         ("avg", pa.float64()), ("max", pa.float64()), ("n", pa.int64())])


def synthesize(con: duckdb.DuckDBPyConnection, devices: int, days: int, end: float, chunk: int = 50) -> int:
    hours = days * 24
    first = (end // 3600) * 3600 - hours * 3600
    names = pa.array([m for m, _ in SERIES])
    mounts = pa.array([i for _, i in SERIES])
    total = 0
    for start in range(1, devices + 1, chunk):
        count = min(chunk, devices - start + 1)
        n = count * len(SERIES) * hours
        i = pa.array(range(n), pa.int64())
        series = pc.divide(i, hours)  # (device, series) pairs in order, each with its hours
        which = pc.subtract(series, pc.multiply(pc.divide(series, len(SERIES)), len(SERIES)))
        hour = pc.subtract(i, pc.multiply(series, hours))
        avg = pc.round(pc.multiply(pc.random(n), 100.0), 1)
        table = pa.table({
            "tenant_id": pc.add(pc.multiply(i, 0), 1), "device_id": pc.add(pc.divide(series, len(SERIES)), start),
            "metric": pc.take(names, which), "instance": pc.take(mounts, which),
            "bucket": pc.add(pc.multiply(pc.cast(hour, pa.float64()), 3600.0), first),
            "min": pc.multiply(avg, 0.5), "avg": avg, "max": pc.add(avg, 5.0), "n": pc.add(pc.multiply(i, 0), 120),
        }, schema=TIER_SCHEMA)
        con.register("incoming", table)
        con.execute("INSERT INTO metrics_1h SELECT * FROM incoming")
        con.unregister("incoming")
        total += n
        print(f"  metrics_1h: {total:,} rows", end="\r", flush=True)
    print()
    con.execute("CHECKPOINT")
    return total


def timed(fn, runs: int) -> dict[str, float]:  # type: ignore[no-untyped-def]
    fn()  # warm: the first read loads the blocks
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    samples.sort()
    return {"p50_ms": round(statistics.median(samples), 1), "p95_ms": round(samples[int(len(samples) * 0.95) - 1], 1),
            "max_ms": round(samples[-1], 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--memory-mb", type=int, default=Settings().analytics_memory_mb,
                        help="DuckDB memory_limit (default: the appliance's analytics_memory_mb)")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="ninjait-bench-analytics-"))
    memory = args.memory_mb
    try:
        con = duckdb.connect(str(base / "analytics.duckdb"), config={"memory_limit": f"{memory}MiB"})
        con.execute(SCHEMA)
        end = time.time()
        t = time.perf_counter()
        rows = synthesize(con, args.devices, args.days, end)
        print(f"synthesized {rows:,} hourly rows ({args.devices} devices × {len(SERIES)} series × {args.days} days) "
              f"in {time.perf_counter() - t:.1f} s; DuckDB memory_limit {memory} MiB")
        start = end - args.days * 86400
        one_metric = ("SELECT bucket, sum(avg * n) / sum(n), max(max) FROM metrics_1h WHERE tenant_id = 1 "
                      "AND metric = 'cpu_percent' AND instance = '' AND bucket >= ? AND bucket < ? "
                      "GROUP BY bucket ORDER BY bucket")
        every_series = ("SELECT metric, instance, bucket, sum(avg * n) / sum(n), max(max) FROM metrics_1h "
                        "WHERE tenant_id = 1 AND bucket >= ? AND bucket < ? GROUP BY ALL ORDER BY ALL")
        store = DuckStore(con, Retention())
        points = len(con.cursor().execute(one_metric, [start, end]).fetchall())
        results = {
            "fleet_hourly_one_metric": timed(lambda: con.cursor().execute(one_metric, [start, end]).fetchall(),
                                             args.runs),
            "fleet_hourly_every_series": timed(lambda: con.cursor().execute(every_series, [start, end]).fetchall(),
                                               args.runs),
            "one_device_30_days_1h": timed(lambda: store.series(1, args.devices // 2, "cpu_percent", "", start, end,
                                                                "1h"), args.runs),
        }
        con.close()
    finally:
        shutil.rmtree(base, ignore_errors=True)
    report = {"devices": args.devices, "days": args.days, "series": len(SERIES), "hourly_rows": rows,
              "points_per_fleet_series": points, "memory_limit_mib": memory, "results": results}
    (Path(__file__).parent / "bench_analytics.json").write_text(json.dumps(report, indent=2))
    for name, figures in results.items():
        print(f"{name:28s} p50 {figures['p50_ms']:7.1f} ms  p95 {figures['p95_ms']:7.1f} ms  "
              f"max {figures['max_ms']:7.1f} ms")
    print(f"bench_analytics devices={args.devices} days={args.days} rows={rows} "
          f"fleet_hourly_p95={results['fleet_hourly_one_metric']['p95_ms']}ms")


if __name__ == "__main__":
    main()
