"""Benchmark: the device list at 10,000 devices and a 30-day chart of one device.

    .venv/bin/python tests/bench/bench_devices.py [--devices 10000] [--requests 200]

Seeds a throw-away data directory (SQLite + DuckDB, directly, in bulk), starts the real
appliance on loopback, signs in, and times over HTTPS with keep-alive:
  * GET /api/v1/devices (first page of 100, sorted by host name) and a search by software,
  * the same list filtered by a tag (a third of the devices carry it) and by a dynamic group
    (rules over OS and tag, about a ninth of the devices; membership is materialised),
  * GET /devices (the HTML page),
  * GET /api/v1/devices/{id}/metrics for 30 days of one device (5-minute tier).
Prints p50/p95/max per request kind and writes the figures as JSON next to this file.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import pyarrow as pa  # noqa: E402

from ninjait.core import runtime as rt_mod  # noqa: E402
from ninjait.devices import groups  # noqa: E402
from ninjait.devices.service import search_text  # noqa: E402
from ninjait.identity.principal import SYSTEM  # noqa: E402
from ninjait.monitoring import service as monitoring  # noqa: E402
from ninjait.monitoring.analytics import arrow_schema  # noqa: E402
from ninjait.settings import Settings  # noqa: E402
from tests.support.appliance import Appliance  # noqa: E402
from tests.support.identity import Browser, admin_principal, seed_world  # noqa: E402

SOFTWARE = ["firefox", "chromium", "libreoffice", "7zip", "vlc", "git", "python3", "openssh-server", "quickbooks",
            "teams", "zoom", "office365", "acrobat", "putty", "notepad++"]


def seed(data_dir: Path, devices: int) -> tuple[int, int, int]:
    world = seed_world(Settings(data_dir=data_dir))
    runtime = rt_mod.start(Settings(data_dir=data_dir, metrics_raw_days=31))  # keep the synthetic month
    now = int(time.time())
    rng = random.Random(7)
    rows = []
    for i in range(devices):
        inv = {"hostname": f"host-{i:05d}", "os_name": rng.choice(["Windows", "Debian GNU/Linux", "macOS"]),
               "os_version": "11", "serial": f"SN{i:08d}",
               "nics": [{"mac": f"02:00:00:{i >> 16 & 255:02x}:{i >> 8 & 255:02x}:{i & 255:02x}",
                         "addresses": [f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}"]}],
               "users": [f"user{i % 500}"], "software": [{"name": s} for s in rng.sample(SOFTWARE, 6)]}
        rows.append((world.tenants["a"], world.orgs["a" if i % 3 else "a-other"], world.sites["a"], inv["hostname"],
                     inv["os_name"], json.dumps(inv), search_text(inv), now - rng.randint(0, 600), now))
    def insert(c: Any) -> None:
        for tenant, org, site, hostname, os_name, inventory, search, seen, created in rows:
            device = c.value("INSERT INTO devices (tenant_id, organization_id, site_id, hostname, os_name, "
                             "last_seen_at, status, created_at) VALUES (?, ?, ?, ?, ?, ?, 'online', ?) RETURNING id",
                             (tenant, org, site, hostname, os_name, seen, created))
            c.execute("INSERT INTO device_inventories (device_id, tenant_id, inventory, search) VALUES (?, ?, ?, ?)",
                      (device, tenant, inventory, search))

    runtime.db.write(insert)
    device_id = runtime.db.write(lambda c: c.value("SELECT min(id) FROM devices"))
    # Tags: every device gets one of three, a third "servers"; then a dynamic group over OS and tag.
    tenant = world.tenants["a"]
    runtime.db.write(lambda c: c.executemany(
        "INSERT INTO device_tags (tenant_id, device_id, tag) VALUES (?, ?, ?)",
        [(tenant, r["id"], ("servers", "workstations", "kiosks")[r["id"] % 3])
         for r in c.all("SELECT id FROM devices WHERE tenant_id = ?", (tenant,))]))
    started = time.perf_counter()
    group = groups.create_group(runtime, admin_principal(tenant), SYSTEM, "Windows servers", "dynamic", {
        "all": [{"field": "os", "op": "is", "value": "Windows"}, {"field": "tag", "op": "is", "value": "servers"}]})
    print(f"dynamic group over {devices} devices evaluated and stored in {time.perf_counter() - started:.2f} s")
    # 30 days of 30-second samples of one metric for one device, straight into the tiers.
    start = now - 30 * 86400
    ts = [float(t) for t in range(start, now, 30)]
    table = pa.table({"tenant_id": [world.tenants["a"]] * len(ts), "device_id": [device_id] * len(ts),
                      "metric": ["cpu_percent"] * len(ts), "instance": [""] * len(ts), "ts": ts,
                      "value": [float(rng.randint(0, 100)) for _ in ts]}, schema=arrow_schema())
    monitoring.analytics(runtime).append(table, 0, time.time())
    rt_mod.stop()
    return device_id, group["id"], group["members"]


def timed(fn, n: int) -> dict[str, float]:  # type: ignore[no-untyped-def]
    samples = []
    for _ in range(n):
        t = time.perf_counter()
        response = fn()
        samples.append((time.perf_counter() - t) * 1000)
        assert response.status_code == 200, response.text[:200]
    samples.sort()
    return {"p50_ms": round(statistics.median(samples), 1), "p95_ms": round(samples[int(len(samples) * 0.95) - 1], 1),
            "max_ms": round(samples[-1], 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="ninjait-bench-"))
    data = base / "data"
    t = time.perf_counter()
    device_id, group_id, members = seed(data, args.devices)
    print(f"seeded {args.devices} devices and 30 days of samples in {time.perf_counter() - t:.1f} s "
          f"(dynamic group: {members} members)")
    app = Appliance(data).start()
    try:
        from tests.support.identity import PASSWORD, Person

        browser = Browser(app).login(Person("organizationadmin@msp-a.test", PASSWORD))
        month = {"metric": "cpu_percent", "from": time.time() - 30 * 86400}
        results = {
            "devices_api_first_page": timed(lambda: browser.get("/api/v1/devices", params={"per_page": 100}),
                                            args.requests),
            "devices_api_search_software": timed(lambda: browser.get("/api/v1/devices", params={"q": "quickbooks"}),
                                                 args.requests),
            "devices_api_tag_filter": timed(lambda: browser.get("/api/v1/devices", params={"tag": "servers",
                                                                                         "per_page": 100}),
                                            args.requests),
            "devices_api_group_filter": timed(lambda: browser.get("/api/v1/devices", params={"group_id": group_id,
                                                                                           "per_page": 100}),
                                              args.requests),
            "devices_page_html": timed(lambda: browser.get("/devices"), args.requests),
            "devices_page_html_tag_filter": timed(lambda: browser.get("/devices", params={"tag": "servers"}),
                                                  args.requests),
            "chart_30_days": timed(lambda: browser.get(f"/api/v1/devices/{device_id}/metrics", params=month),
                                   max(20, args.requests // 5)),
        }
        browser.close()
    finally:
        app.stop()
    report = {"devices": args.devices, "requests": args.requests, "results": results,
              "machine": {"cpus": __import__("os").cpu_count()}}
    (Path(__file__).parent / "bench_devices.json").write_text(json.dumps(report, indent=2))
    for name, figures in results.items():
        print(f"{name:32s} p50 {figures['p50_ms']:7.1f} ms  p95 {figures['p95_ms']:7.1f} ms  max {figures['max_ms']:7.1f} ms")


if __name__ == "__main__":
    main()
