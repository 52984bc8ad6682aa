"""Backup and restore of a data directory with 1,000 devices and 7 days of metrics: times and sizes.

    .venv/bin/python tests/bench/bench_backup.py [--devices 1000] [--days 7] [--dir /tmp/ninjait-bench]

Synthesizes what such an appliance holds: in SQLite the devices with their inventories, one agent
each, one `agent_batches` row per check-in (every 30 s; as before claims were pruned: the gateway
now keeps an agent's last 100 to 200, so this errs on the large side) and a minute of
hot samples; in DuckDB 7 days of raw samples (12 series per device, every 30 s) appended as Arrow
tables the way the metrics mover does, and the 5-minute and 1-hour tiers rolled up from them.
Sample values are uniform random numbers with one decimal: they compress worse than real series,
so sizes err on the large side. Then it times `ninjait backup` (with the appliance stopped, and
again while it serves: the copy is made inside `serve` over the control socket), `backup verify`
and `restore`, and prints the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from ninjait.core.db import open_database  # noqa: E402
from ninjait.core.migrate import migrate  # noqa: E402
from ninjait.monitoring import hot  # noqa: E402
from ninjait.monitoring.analytics import SCHEMA, arrow_schema  # noqa: E402
from ninjait.settings import Settings  # noqa: E402
from tests.support.appliance import Appliance  # noqa: E402

INTERVAL = 30
METRICS = ["cpu_percent", "load1", "load5", "load15", "mem_percent", "swap_percent", "process_count",
           "disk_read_bps", "disk_write_bps", "net_rx_bps", "net_tx_bps", "disk_used_percent"]
PASSPHRASE = "bench passphrase, long enough"


def mib(n: float) -> str:
    return f"{n / 2**20:,.0f} MiB"


def size_of(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def synth_sqlite(data: Path, devices: int, days: int, now: float) -> None:
    db = open_database(Settings(data_dir=data))
    migrate(db)
    software = [{"name": f"package-{i}", "version": f"1.{i}.0"} for i in range(300)]

    def base(c):  # type: ignore[no-untyped-def]
        c.execute("INSERT INTO tenants (id, name, slug, created_at) VALUES (1, 'MSP', 'msp', 0)")
        c.execute("INSERT INTO organizations (id, tenant_id, name, created_at) VALUES (1, 1, 'Customer', 0)")
        c.execute("INSERT INTO sites (id, tenant_id, organization_id, name, created_at) VALUES (1, 1, 1, 'HQ', 0)")
        rows = []
        for d in range(1, devices + 1):
            inventory = {"hostname": f"pc-{d:04d}", "os_name": "Debian GNU/Linux", "os_version": "12",
                         "ram_bytes": 8 << 30, "cpu_threads": 4, "software": software,
                         "nics": [{"name": "eth0", "mac": "02:00:00:00:00:01", "addresses": [f"10.0.{d // 250}.{d % 250}"]}]}
            rows.append((d, f"pc-{d:04d}", json.dumps(inventory), int(now), int(now)))
        c.executemany("INSERT INTO devices (id, tenant_id, organization_id, site_id, hostname, platform, "
                      "last_seen_at, status, created_at) VALUES (?, 1, 1, 1, ?, 'linux', ?, 'online', ?)",
                      [(d, name, seen, created) for d, name, _, seen, created in rows])
        c.executemany("INSERT INTO device_inventories (device_id, tenant_id, inventory) VALUES (?, 1, ?)",
                      [(d, inventory) for d, _, inventory, _, _ in rows])
        c.executemany("INSERT INTO agents (id, uid, tenant_id, device_id, secret_hash, status, created_at) "
                      "VALUES (?, ?, 1, ?, 'x', 'active', 0)", [(d, f"agent-{d}", d) for d in range(1, devices + 1)])

    db.write(base)
    per_device = days * 86400 // INTERVAL
    first = int(now) - days * 86400
    for d in range(1, devices + 1):
        # One write per device keeps each transaction ~20,000 rows.
        db.write(lambda c, d=d: c.executemany(
            "INSERT INTO agent_batches (agent_id, seq, received_at) VALUES (?, ?, ?)",
            [(d, s, first + s * INTERVAL) for s in range(1, per_device + 1)]))
    # The last minute's check-ins, one hot row each, as the gateway stores them.
    rows = [(1, d, int(now), hot.pack((now - 30 + i, m, "/" if m == "disk_used_percent" else "", 12.5)
                                      for m in METRICS)) for d in range(1, devices + 1) for i in (0, 30)]
    db.write(lambda c: hot.insert_many(c, rows))
    db.close()


def synth_duckdb(path: Path, devices: int, days: int, now: float, chunk_devices: int = 20) -> int:
    con = duckdb.connect(str(path))
    con.execute(SCHEMA)
    per_device = days * 86400 // INTERVAL
    t0 = now - days * 86400 + 3600  # inside raw retention for the run's duration
    names = pa.array(METRICS)
    instances = pa.array(["/" if m == "disk_used_percent" else "" for m in METRICS])
    total = 0
    for start in range(1, devices + 1, chunk_devices):
        count = min(chunk_devices, devices - start + 1)
        n = count * len(METRICS) * per_device
        i = pa.array(range(n), pa.int64())
        series = pc.divide(i, per_device)  # (device, metric) pairs in order: the mover's sort order
        metric_idx = pc.subtract(series, pc.multiply(pc.divide(series, len(METRICS)), len(METRICS)))
        step = pc.subtract(i, pc.multiply(series, per_device))
        table = pa.table({
            "tenant_id": pc.add(pc.multiply(i, 0), 1),  # a column of ones, built in Arrow
            "device_id": pc.add(pc.divide(series, len(METRICS)), start),
            "metric": pc.take(names, metric_idx),
            "instance": pc.take(instances, metric_idx),
            "ts": pc.add(pc.multiply(pc.cast(step, pa.float64()), float(INTERVAL)), t0),
            "value": pc.round(pc.multiply(pc.random(n), 100.0), 1),
        }, schema=arrow_schema())
        con.register("incoming", table)
        con.execute("INSERT INTO metrics_raw SELECT * FROM incoming")
        con.unregister("incoming")
        total += n
        print(f"  duckdb: {total:,} raw rows", end="\r", flush=True)
    print()
    con.execute("""INSERT INTO metrics_5m SELECT tenant_id, device_id, metric, instance, floor(ts / 300) * 300,
                   min(value), avg(value), max(value), count(*) FROM metrics_raw GROUP BY ALL ORDER BY ALL""")
    con.execute("""INSERT INTO metrics_1h SELECT tenant_id, device_id, metric, instance, floor(bucket / 3600) * 3600,
                   min(min), sum(avg * n) / sum(n), max(max), sum(n) FROM metrics_5m GROUP BY ALL ORDER BY ALL""")
    hot_mark = 0
    con.execute("INSERT INTO mover_state VALUES ('hot_id', ?)", [hot_mark])
    con.execute("CHECKPOINT")
    con.close()
    return total


def ninjait(*args: str, env: dict[str, str] | None = None) -> tuple[float, subprocess.CompletedProcess[str]]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("NINJAIT_")}
    full.update(env or {})
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "ninjait", *args], cwd=ROOT, env=full, capture_output=True,
                          text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"ninjait {' '.join(args)} failed: {done.stderr}")
    return seconds, done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/ninjait-bench"))
    parser.add_argument("--keep", action="store_true", help="reuse a data directory synthesized before")
    args = parser.parse_args()
    base: Path = args.dir
    data = base / "data"
    now = time.time()
    if not (args.keep and (data / "ninjait.db").exists()):
        shutil.rmtree(base, ignore_errors=True)
        data.mkdir(parents=True)
        t = time.perf_counter()
        synth_sqlite(data, args.devices, args.days, now)
        print(f"synthesized SQLite in {time.perf_counter() - t:.0f} s")
        t = time.perf_counter()
        rows = synth_duckdb(data / "analytics.duckdb", args.devices, args.days, now)
        print(f"synthesized DuckDB ({rows:,} raw rows) in {time.perf_counter() - t:.0f} s")
    for p in base.iterdir():
        if p != data:
            shutil.rmtree(p) if p.is_dir() else p.unlink()
    passphrase = base / "passphrase"
    passphrase.write_text(PASSPHRASE)
    figures: list[tuple[str, str]] = [
        ("data directory", f"{mib(size_of(data))}: ninjait.db {mib(size_of(data / 'ninjait.db'))}, "
                           f"analytics.duckdb {mib(size_of(data / 'analytics.duckdb'))}")]

    offline = base / "offline.tar.gz.enc"
    s, _ = ninjait("backup", "--data-dir", str(data), "--passphrase-file", str(passphrase), "--out", str(offline))
    figures.append(("backup, appliance stopped, encrypted", f"{s:.1f} s, {mib(offline.stat().st_size)}"))

    app = Appliance(data, env={"NINJAIT_LOG_LEVEL": "warning"}).start(timeout=300)
    try:
        online = base / "online.tar.gz.enc"
        s, _ = ninjait("backup", "--data-dir", str(data), "--passphrase-file", str(passphrase), "--out", str(online))
        figures.append(("backup, appliance serving (control socket), encrypted",
                        f"{s:.1f} s, {mib(online.stat().st_size)}"))
        plain = base / "online.tar.gz"
        s, _ = ninjait("backup", "--data-dir", str(data), "--no-encrypt", "--out", str(plain))
        figures.append(("backup, appliance serving, not encrypted", f"{s:.1f} s, {mib(plain.stat().st_size)}"))
    finally:
        app.stop()

    s, _ = ninjait("backup", "verify", str(online), "--passphrase-file", str(passphrase), "--work-dir", str(base))
    figures.append(("backup verify (decrypt, checksums, integrity_check, DuckDB scan)", f"{s:.1f} s"))
    target = base / "restored"
    s, _ = ninjait("restore", str(online), "--passphrase-file", str(passphrase), "--data-dir", str(target))
    figures.append(("restore into a new directory (verify included)", f"{s:.1f} s, {mib(size_of(target))}"))

    print()
    print(f"| {args.devices} devices, {args.days} days of metrics | figure |")
    print("|---|---|")
    for label, value in figures:
        print(f"| {label} | {value} |")


if __name__ == "__main__":
    main()
