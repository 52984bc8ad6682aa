"""Fleet simulator: N agents enrolled through the real API, checking in over HTTPS with keep-alive.

    .venv/bin/python tests/bench/fleet_sim.py --agents 2000 --mode saturation --duration 30
    .venv/bin/python tests/bench/fleet_sim.py --agents 10000 --mode paced --interval 30 --duration 60 --ui
    .venv/bin/python tests/bench/fleet_sim.py --agents 2000 --mode burst --interval 30 --duration 60

Starts the real appliance on loopback in a throw-away data directory, enrolls the agents through
POST /agent/v1/enroll, sends each one first check-in with its inventory (a Windows workstation's:
180 programs, 220 services, about 31 KB; `--inventory minimal` for a few hundred bytes), then drives
check-ins shaped as the real agent sends them every 30 s: one sampling of the 11 scalar metrics and
9 mounts' disk use (20 metric samples: one value of one metric at one time, one DuckDB row each)
with the top 5 processes by CPU and memory (`--samples N` sends N samplings per check-in, as an
agent catching up after an outage). One in 100 also carries a command result. Worker processes
each hold `--connections` keep-alive connections:
  * paced: every agent once per `--interval` seconds (the rate is agents / interval),
  * saturation: as fast as the appliance answers,
  * burst: paced at twice the rate; afterwards the appliance is stopped and the stored rows are
    counted: every acknowledged batch's samples must be stored exactly once (and its claim kept in
    agent_batches while within the agent's last 100).
With `--baseline` the same payloads then go, in saturation, to tests/bench/bare_server.py (the same
server stack decoding the body with no storage), and the report gives our ratio of its throughput.
With `--ui` the device list page, a device page and GET /api/v1/devices are timed during the run.
Prints the figures, writes fleet_sim-<mode>.json next to this file and one summary line last.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import math
import multiprocessing as mp
import os
import platform
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import msgspec  # noqa: E402
import psutil  # noqa: E402

from tests.bench import gil_profile  # noqa: E402
from tests.bench.fleet_client import CLIENTS  # noqa: E402
from tests.support.appliance import Appliance  # noqa: E402
from tests.support.fake_agents import inventory  # noqa: E402
from tests.support.identity import Browser, seed_world  # noqa: E402
from tests.support.net import free_port  # noqa: E402

SCALAR_METRICS = 11
MOUNTS = ("/", "/boot", "/boot/efi", "/home", "/var", "/var/log", "/tmp", "/srv", "/opt")
RESULT_EVERY = 100  # one check-in in this many carries a command result


def values_per_check_in(samplings: int) -> int:
    """Metric samples (one value of one metric at one time: a DuckDB metrics_raw row) in one check-in."""
    return samplings * (SCALAR_METRICS + len(MOUNTS))


def metrics_json(t0: float, samplings: int) -> bytes:
    top = [{"pid": 1000 + i, "name": f"proc{i}.exe", "cpu_percent": 5.0 - i, "memory_mb": 300.0 - 40 * i}
           for i in range(5)]
    samples = [{"ts": t0 + i * 30.0 / samplings, "cpu_percent": float(i * 3 % 100), "load1": 0.52, "load5": 0.41,
                "load15": 0.33, "mem_percent": 41.7, "swap_percent": 0.0, "process_count": 180,
                "disk_read_bps": 1201.5, "disk_write_bps": 5400.25, "net_rx_bps": 2000.75, "net_tx_bps": 900.5,
                "disks": [{"mount": m, "used_percent": 20.0 + 7.5 * k} for k, m in enumerate(MOUNTS)],
                "top_cpu": top, "top_mem": top} for i in range(samplings)]
    return msgspec.json.encode(samples)


def workstation_inventory(hostname: str, n: int) -> dict[str, Any]:
    """What the agent reports of a Windows workstation: about 31 KB of JSON."""
    software = [{"name": f"Application {i:03d} ({('x64', 'x86')[i % 2]})", "version": f"{i % 9}.{i % 13}.{i * 37 % 1000}",
                 "publisher": f"Vendor {i % 40} Corporation"} for i in range(180)]
    services = [{"name": f"Service{i:03d}Svc", "state": ("running", "stopped")[i % 3 == 0],
                 "start_mode": ("auto", "manual", "disabled")[i % 3]} for i in range(220)]
    return {"hostname": hostname, "os_name": "Microsoft Windows 11 Pro", "os_version": "10.0.22631",
            "os_build": "22631", "kernel": "10.0.22631", "architecture": "AMD64",
            "cpu_model": "Intel(R) Core(TM) i5-1245U", "cpu_cores": 10, "cpu_threads": 12, "ram_bytes": 16 << 30,
            "boot_time": 1.7e9, "serial": f"SN{n:08d}", "manufacturer": "Dell Inc.", "model": "Latitude 5440",
            "disks": [{"device": "C:", "mount": "C:\\", "fstype": "NTFS", "total_bytes": 512 << 30,
                       "free_bytes": 200 << 30}],
            "nics": [{"name": "Ethernet", "mac": "02:00:00:00:00:01", "addresses": [f"10.0.{n // 250 % 250}.{n % 250 + 1}"]},
                     {"name": "Wi-Fi", "mac": "02:00:00:00:00:02", "addresses": []}],
            "users": ["Administrator", "jdoe", "helpdesk"], "software": software, "services": services}


def inventory_json(kind: str, hostname: str, n: int) -> bytes:
    if kind == "minimal":
        return msgspec.json.encode(inventory(hostname, software=("firefox", "git")))
    return msgspec.json.encode(workstation_inventory(hostname, n))


def body_of(seq: int, metrics: bytes, extra: bytes = b"") -> bytes:
    return (b'{"seq":%d,"sent_at":%.3f,"agent_version":"sim-1","metrics":' % (seq, time.time()) + metrics + extra + b"}")


def result_json() -> bytes:
    # A result for a command this appliance never issued: the gateway looks it up and finds nothing.
    return b',"results":[{"command_id":"%s","status":"succeeded","exit_code":0,"stdout":"ok"}]' % (
        uuid.uuid4().hex.encode())


# --- worker processes -------------------------------------------------------------------------------

def _ctx(cafile: str) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=cafile)


async def _enroll_all(job: dict[str, Any]) -> list[tuple[str, str]]:
    ctx = _ctx(job["cafile"])
    out: list[tuple[str, str]] = []
    names = iter(job["names"])

    async def one_connection() -> None:
        conn = CLIENTS["raw"]("127.0.0.1", job["port"], ctx)
        for name in names:
            token = job["tokens"][int(name.rsplit("-", 1)[1]) // 10_000]
            req = msgspec.json.encode({"token": token, "hostname": name, "platform": "linux",
                                       "agent_version": "sim-1"})
            status, data = await conn.post("/agent/v1/enroll", req, {})
            if status != 200:
                raise RuntimeError(f"enrollment failed: {status} {data[:200]!r}")
            reply = json.loads(data)
            out.append((reply["agent_id"], reply["secret"]))
        conn.close()

    await asyncio.gather(*(one_connection() for _ in range(job["connections"])))
    return out


def enroll_worker(job: dict[str, Any]) -> list[tuple[str, str]]:
    return asyncio.run(_enroll_all(job))


async def _drive(job: dict[str, Any]) -> dict[str, Any]:
    """Check in `job['agents']` over `connections` connections; return latencies and counts."""
    ctx = _ctx(job["cafile"])
    metrics = metrics_json(job["t0"], job["samplings"])
    agents: list[list[Any]] = job["agents"]  # [uid, secret, seq, hostname, number]
    conns = job["connections"]
    latencies: list[float] = []
    errors: collections.Counter[str] = collections.Counter()
    acked: list[tuple[str, int]] = []
    lag_max = 0.0
    started = time.monotonic()
    deadline = started + job["duration"] if job["duration"] else math.inf
    once = job["once"]  # the first round: every agent once, with its inventory
    rate = job["rate"] / conns if job["rate"] else 0.0  # check-ins/s per connection when paced
    path = job["path"]

    async def one_connection(mine: list[list[Any]], offset: float) -> None:
        nonlocal lag_max
        conn = CLIENTS[job["client"]]("127.0.0.1", job["port"], ctx)
        k = 0
        while mine:
            for agent in mine:
                now = time.monotonic()
                if now >= deadline:
                    conn.close()
                    return
                if rate:
                    due = started + (k + offset) / rate  # staggered: connections do not fire together
                    if due > now:
                        await asyncio.sleep(due - now)
                    else:
                        lag_max = max(lag_max, now - due)
                k += 1
                agent[2] += 1
                seq = agent[2]
                if once:
                    extra = b',"inventory":' + inventory_json(job["inventory"], agent[3], agent[4])
                elif seq % RESULT_EVERY == 0:
                    extra = result_json()
                else:
                    extra = b""
                body = body_of(seq, metrics, extra)
                t = time.perf_counter()
                try:
                    status, data = await conn.post(path, body, {"Authorization": f"Agent {agent[0]}:{agent[1]}"})
                except (OSError, asyncio.IncompleteReadError, ssl.SSLError) as exc:
                    errors[type(exc).__name__] += 1
                    conn.close()
                    continue
                latencies.append((time.perf_counter() - t) * 1000)
                if status != 200:
                    errors[f"HTTP {status}"] += 1
                elif job["track"]:
                    acked.append((agent[0], seq))
            if once:
                break
        conn.close()

    await asyncio.gather(*(one_connection(agents[i::conns], i / conns) for i in range(conns)))
    return {"latencies": latencies, "errors": dict(errors), "acked": acked, "lag_max_s": lag_max,
            "seconds": time.monotonic() - started, "agents": agents}


def drive_worker(job: dict[str, Any]) -> dict[str, Any]:
    import uvloop

    return uvloop.run(_drive(job))


# --- the run --------------------------------------------------------------------------------------

class Watch:
    """The appliance's CPU % and RSS, sampled once a second in a thread."""

    def __init__(self, pid: int) -> None:
        self.proc = psutil.Process(pid)
        self.cpu: list[float] = []
        self.rss: list[float] = []
        self._stop = threading.Event()
        self.proc.cpu_percent()
        self._t = threading.Thread(target=self._loop, daemon=True)
        self._t.start()

    def _loop(self) -> None:
        while not self._stop.wait(1.0):
            self.cpu.append(self.proc.cpu_percent())
            self.rss.append(self.proc.memory_info().rss / 2**20)

    def stop(self) -> dict[str, float]:
        self._stop.set()
        self._t.join()
        return {"cpu_percent_avg": round(sum(self.cpu) / max(1, len(self.cpu)), 1),
                "cpu_percent_max": round(max(self.cpu, default=0), 1),
                "rss_mib_avg": round(sum(self.rss) / max(1, len(self.rss)), 1),
                "rss_mib_max": round(max(self.rss, default=0), 1)}


def rss_mib(pid: int) -> float:
    return round(psutil.Process(pid).memory_info().rss / 2**20, 1)


def percentile(sorted_ms: list[float], p: float) -> float:
    if not sorted_ms:
        return 0.0
    return round(sorted_ms[min(len(sorted_ms) - 1, int(len(sorted_ms) * p))], 2)


def summarize(parts: list[dict[str, Any]], values: int) -> dict[str, Any]:
    lat = sorted(x for p in parts for x in p["latencies"])
    seconds = max(p["seconds"] for p in parts)
    errors: collections.Counter[str] = collections.Counter()
    for p in parts:
        errors.update(p["errors"])
    ok = len(lat) - sum(v for k, v in errors.items() if k.startswith("HTTP"))
    return {"checkins": len(lat), "seconds": round(seconds, 1), "checkins_per_s": round(ok / seconds, 1),
            "samples_per_s": round(ok * values / seconds, 1), "p50_ms": percentile(lat, 0.5),
            "p95_ms": percentile(lat, 0.95), "p99_ms": percentile(lat, 0.99), "max_ms": percentile(lat, 1.0),
            "errors": dict(errors), "schedule_lag_max_s": round(max(p["lag_max_s"] for p in parts), 2)}


def drive(pool: Any, agents: list[list[Any]], args: argparse.Namespace, port: int, cafile: str, *, rate: float,
          duration: float, once: bool = False, track: bool = False, path: str = "/agent/v1/checkin",
          client: str | None = None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    w = args.workers
    jobs = [{"agents": agents[i::w], "port": port, "cafile": cafile, "connections": args.connections,
             "rate": rate / w, "duration": duration, "once": once, "track": track, "t0": time.time() - 600,
             "path": path, "client": client or args.client, "samplings": args.samples,
             "inventory": args.inventory} for i in range(w)]
    parts = pool.map(drive_worker, jobs)
    # The workers advanced the agents' sequence numbers: carry them back.
    merged = [a for p in parts for a in p["agents"]]
    agents[:] = merged
    return summarize(parts, values_per_check_in(args.samples)), parts


class UiProbe:
    """Times the device list page, one device page and the device API, one request every `gap` seconds."""

    def __init__(self, browser: Browser, device_id: int, gap: float = 0.25) -> None:
        self.browser = browser
        self.targets = {"devices_page": ("/devices", {}), "device_detail_page": (f"/devices/{device_id}", {}),
                        "devices_api": ("/api/v1/devices", {"per_page": 100})}
        self.samples: dict[str, list[float]] = {k: [] for k in self.targets}
        self.failures: collections.Counter[str] = collections.Counter()
        self.gap = gap
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._loop, daemon=True)
        self._t.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            for name, (path, params) in self.targets.items():
                t = time.perf_counter()
                try:
                    r = self.browser.get(path, params=params)
                    ok = r.status_code == 200
                except httpx.HTTPError:
                    ok = False
                if ok:
                    self.samples[name].append((time.perf_counter() - t) * 1000)
                else:
                    self.failures[name] += 1
                if self._stop.wait(self.gap):
                    return

    def stop(self) -> dict[str, Any]:
        self._stop.set()
        self._t.join()
        out: dict[str, Any] = {}
        for name, values in self.samples.items():
            values.sort()
            out[name] = {"requests": len(values), "p50_ms": percentile(values, 0.5), "p95_ms": percentile(values, 0.95),
                         "max_ms": percentile(values, 1.0), "failures": self.failures[name]}
        return out


def count_stored(data_dir: Path, acked: list[tuple[str, int]], failed: int, values: int) -> dict[str, Any]:
    """After the appliance stopped: the acknowledged batches' values stored once, their recent claims kept.

    The gateway keeps an agent's last 100 to 200 claims (older ones are pruned), so the stored values are
    the proof: every batch the bench ever sent was acknowledged or failed, and with no failures the values in
    the stores must be exactly the acknowledged batches' (a failed check-in may or may not have been stored, so
    with failures only bounds are checked: a batch stored twice could hide among them — the report says so)."""
    import duckdb

    from ninjait.agents.store import RESEND_WINDOW
    from ninjait.core.db import open_database
    from ninjait.monitoring import hot
    from ninjait.settings import Settings

    con = duckdb.connect(str(data_dir / "analytics.duckdb"), read_only=True)
    try:
        moved = con.execute("SELECT count(*) FROM metrics_raw").fetchone()[0]
        mark = con.execute("SELECT COALESCE(max(value), 0) FROM mover_state WHERE name = 'hot_id'").fetchone()[0]
    finally:
        con.close()
    db = open_database(Settings(data_dir=data_dir))
    try:
        with db.read() as c:
            claims = {(r["uid"], int(r["seq"])) for r in
                      c.all("SELECT a.uid, b.seq FROM agent_batches b JOIN agents a ON a.id = b.agent_id")}
            hot_values = hot.count_values(c, mark)
    finally:
        db.close()
    acked_set = set(acked)
    newest: dict[str, int] = {}
    for uid, seq in acked_set:
        newest[uid] = max(seq, newest.get(uid, 0))
    recent = {(uid, seq) for uid, seq in acked_set if seq > newest[uid] - RESEND_WINDOW}
    stored = hot_values + moved
    low, high = len(acked_set) * values, (len(acked_set) + failed) * values
    return {"acked_batches": len(acked_set), "failed_checkins": failed, "recent_claims_missing": len(recent - claims),
            "claims_kept": len(claims), "sample_rows": stored, "expected_rows": low if not failed else [low, high],
            "exactly_once": not (recent - claims) and low <= stored <= high}


def start_baseline(data_dir: Path, server: str) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(Path(__file__).parent / "bare_server.py"), "--port", str(port),
                             "--cert", str(data_dir / "tls/cert.pem"), "--key", str(data_dir / "tls/key.pem"),
                             "--server", server], cwd=ROOT)
    ctx = ssl.create_default_context(cafile=str(data_dir / "tls/cert.pem"))
    for _ in range(200):
        try:
            if httpx.get(f"https://localhost:{port}/healthz", verify=ctx, timeout=1).status_code == 200:
                return proc, port
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the baseline server did not start")


def machine() -> dict[str, Any]:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    return {"nproc": os.cpu_count(), "cpu_model": model, "python": platform.python_version()}


def main() -> None:  # noqa: PLR0915 - one linear run, read top to bottom
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=2000)
    parser.add_argument("--mode", choices=["paced", "saturation", "burst"], default="saturation")
    parser.add_argument("--interval", type=float, default=30.0, help="seconds between one agent's check-ins (paced)")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of the measured phase")
    parser.add_argument("--workers", type=int, default=2, help="simulator processes")
    parser.add_argument("--connections", type=int, default=16, help="keep-alive connections per process")
    parser.add_argument("--client", choices=sorted(CLIENTS), default="raw")
    parser.add_argument("--baseline", action="store_true", help="also drive the bare server stack (saturation)")
    parser.add_argument("--compare-servers", action="store_true",
                        help="with --baseline: drive the bare stack on granian and on uvicorn, one after the other")
    parser.add_argument("--appliance-server", choices=["granian", "uvicorn"], default="granian",
                        help="the appliance's setting http_server for the run")
    parser.add_argument("--ui", action="store_true", help="time the device pages and API during the run")
    parser.add_argument("--profile", action="store_true",
                        help="sample the appliance with py-spy --gil during the measured phase (gil_profile.py)")
    parser.add_argument("--samples", type=int, default=1,
                        help="samplings per check-in (the agent sends 1 every 30 s; more after an outage)")
    parser.add_argument("--inventory", choices=["workstation", "minimal"], default="workstation",
                        help="the first check-in's inventory: a Windows workstation's (31 KB) or a few hundred bytes")
    parser.add_argument("--out", help="the JSON result (default: fleet_sim-<mode>.json next to this file)")
    args = parser.parse_args()
    args.out = args.out or str(Path(__file__).parent / f"fleet_sim-{args.mode}.json")

    base = Path(tempfile.mkdtemp(prefix="ninjait-fleet-"))
    data = base / "data"
    data.mkdir()
    from ninjait.settings import Settings

    world = seed_world(Settings(data_dir=data))
    app = Appliance(data, env={"NINJAIT_HTTP_SERVER": args.appliance_server}).start()
    cafile = str(data / "tls/cert.pem")
    report: dict[str, Any] = {"machine": machine(), "args": vars(args)}
    pool = mp.get_context("spawn").Pool(args.workers)
    try:
        assert app.proc is not None
        pid = app.proc.pid
        time.sleep(2)
        report["rss_idle_mib"] = rss_mib(pid)
        admin = Browser(app).login(world.people["a-organizationadmin"])
        tokens = [admin.post("/api/v1/enrollment-tokens", json={"site_id": world.sites["a"], "max_uses": 10_000,
                                                                "name": f"fleet {i}"}).json()["token"]
                  for i in range(math.ceil(args.agents / 10_000))]
        names = [f"sim-{i:06d}" for i in range(args.agents)]

        t = time.perf_counter()
        creds = pool.map(enroll_worker, [{"names": names[i::args.workers], "tokens": tokens, "port": app.port,
                                          "cafile": cafile, "connections": 4} for i in range(args.workers)])
        enroll_s = time.perf_counter() - t
        agents = [[uid, secret, 0, f"sim-{n}", n] for n, (uid, secret) in enumerate(c for part in creds for c in part)]
        report["enroll"] = {"agents": len(agents), "seconds": round(enroll_s, 1),
                            "per_s": round(len(agents) / enroll_s, 1)}
        print(f"enrolled {len(agents)} agents in {enroll_s:.1f} s ({len(agents) / enroll_s:.0f}/s); "
              f"appliance RSS idle {report['rss_idle_mib']} MiB, now {rss_mib(pid)} MiB", flush=True)

        first, first_parts = drive(pool, agents, args, app.port, cafile, rate=0, duration=0, once=True,
                         track=args.mode == "burst")
        report["first_checkins_with_inventory"] = first
        print(f"first check-ins (with inventory): {first['checkins_per_s']}/s p95 {first['p95_ms']} ms", flush=True)

        rate = {"paced": args.agents / args.interval, "burst": 2 * args.agents / args.interval,
                "saturation": 0.0}[args.mode]
        probe = None
        if args.ui:
            device_id = admin.get("/api/v1/devices", params={"per_page": 1}).json()[0]["id"]
            probe = UiProbe(admin, device_id)
        watch = Watch(pid)
        profiled: list[Any] = []
        profiler = threading.Thread(target=lambda: (time.sleep(2), profiled.append(
            gil_profile.record(pid, max(args.duration - 4, 1))))) if args.profile else None
        if profiler is not None:
            profiler.start()
        run, parts = drive(pool, agents, args, app.port, cafile, rate=rate, duration=args.duration,
                           track=args.mode == "burst")
        report["appliance"] = watch.stop()
        if profiler is not None:
            profiler.join()
            report["gil_profile"] = gil_profile.summarize(profiled[0])
            gil_profile.print_summary(report["gil_profile"])
        report["appliance"]["rss_mib_after"] = rss_mib(pid)
        run["target_checkins_per_s"] = round(rate, 1) or None
        report["run"] = run
        if probe is not None:
            report["ui_under_load"] = probe.stop()
        admin.close()
    except BaseException:
        pool.terminate()
        app.stop()
        raise
    app.stop()

    if args.mode == "burst":
        acked = [a for p in first_parts + parts for a in p["acked"]]
        failed = sum(sum(p["errors"].values()) for p in first_parts + parts)
        report["burst_check"] = count_stored(data, acked, failed, values_per_check_in(args.samples))

    if args.baseline:
        for server in ("granian", "uvicorn") if args.compare_servers else (args.appliance_server,):
            proc, port = start_baseline(data, server)
            try:
                watch = Watch(proc.pid)
                bare, _ = drive(pool, agents, args, port, cafile, rate=0, duration=min(args.duration, 20))
                bare["server"] = watch.stop()
            finally:
                proc.terminate()
                proc.wait(10)
            report.setdefault("baselines", {})[server] = bare
        bare = report["baselines"][args.appliance_server]  # the ratio is to the appliance's own server
        report["baseline"] = bare
        report["ratio_to_baseline"] = round(run["checkins_per_s"] / bare["checkins_per_s"], 2) \
            if args.mode == "saturation" else None
    pool.close()
    pool.join()
    shutil.rmtree(base, ignore_errors=True)  # 10,000 agents leave about a gigabyte of metrics

    Path(args.out).write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    line = (f"fleet_sim {args.mode} agents={args.agents} checkins/s={run['checkins_per_s']} "
            f"samples/s={run['samples_per_s']} p50={run['p50_ms']}ms p95={run['p95_ms']}ms p99={run['p99_ms']}ms "
            f"max={run['max_ms']}ms errors={sum(run['errors'].values())} cpu={report['appliance']['cpu_percent_avg']}% "
            f"rss={report['appliance']['rss_mib_max']}MiB")
    if "ratio_to_baseline" in report:
        line += f" baseline={report['baseline']['checkins_per_s']}/s ratio={report['ratio_to_baseline']}"
    if args.compare_servers:
        line += "".join(f" {name}_baseline={b['checkins_per_s']}/s" for name, b in report["baselines"].items())
    if "burst_check" in report:
        line += f" exactly_once={report['burst_check']['exactly_once']}"
    print(line)


if __name__ == "__main__":
    main()
