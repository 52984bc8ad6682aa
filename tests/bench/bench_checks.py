"""Benchmark: check evaluation throughput and the delay from a sample to `check.failed`.

    .venv/bin/python tests/bench/bench_checks.py [--devices 5000] [--rounds 5] [--database-url postgresql://...]

Seeds a throw-away data directory with N devices and five tenant-wide server-evaluated checks
(CPU, memory, disk free %, disk free GB, load), then:
  * throughput: each round, every device checks in once through the gateway's ingest (one sample,
    22 metric rows, committed in groups as concurrent check-ins would be), then one evaluator pass
    runs over all of them; prints device-checks evaluated per second (passing, no state change),
    and once more for a round where every device starts failing (state changes, events, audit);
  * delay: with the evaluator's own loop running (check_evaluate_seconds, default 2), one device
    at a time, at a random moment between two passes, sends a bad sample; the time from the ingest's commit to `check.failed` on the bus.
Prints the figures and writes them as JSON next to this file.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import msgspec  # noqa: E402
from ninjait_agent import wire  # noqa: E402

from ninjait.agents import gateway, store as agents_store  # noqa: E402
from ninjait.agents.service import AgentIdentity  # noqa: E402
from ninjait.core import runtime as rt_mod  # noqa: E402
from ninjait.identity.principal import SYSTEM  # noqa: E402
from ninjait.monitoring import hot  # noqa: E402
from ninjait.monitoring.checks import evaluate, service  # noqa: E402
from ninjait.settings import Settings  # noqa: E402
from ninjait.wiring import connect_subscribers  # noqa: E402
from tests.support.identity import admin_principal  # noqa: E402

CHECKS = [("cpu", {"threshold": 90, "minutes": 0}), ("memory", {"threshold": 95}),
          ("disk", {"min_free_percent": 10}), ("disk", {"min_free_gb": 5}),
          ("metric", {"metric": "load1", "operator": "above", "threshold": 16})]


def seed(rt: Any, devices: int) -> list[AgentIdentity]:
    now = int(time.time())
    inventory = json.dumps({"disks": [{"mount": "/", "total_bytes": 500 * 10**9}, {"mount": "/data",
                                                                                   "total_bytes": 2000 * 10**9}]})
    rt.db.write(lambda c: (
        c.execute("INSERT INTO tenants (id, name, slug, created_at) VALUES (1, 'T', 't', 0)"),
        c.execute("INSERT INTO organizations (id, tenant_id, name, created_at) VALUES (1, 1, 'O', 0)"),
        c.execute("INSERT INTO sites (id, tenant_id, organization_id, name, created_at) VALUES (1, 1, 1, 'S', 0)"),
        c.executemany("INSERT INTO devices (tenant_id, organization_id, site_id, hostname, inventory_hash, "
                      "created_at, last_seen_at, status) VALUES (1, 1, 1, ?, 'h', ?, ?, 'online')",
                      [(f"host-{i:05d}", now, now) for i in range(devices)]),
        c.execute("INSERT INTO device_inventories (device_id, tenant_id, inventory) SELECT id, 1, ? FROM devices",
                  (inventory,))))
    with rt.db.read() as c:
        ids = [r["id"] for r in c.all("SELECT id FROM devices ORDER BY id")]
    for kind, params in CHECKS:
        service.create_check(rt, admin_principal(1), SYSTEM, {
            "name": kind, "kind": kind, "scope_kind": "tenant", "params": params, "severity": "warning",
            "interval_seconds": 60, "fail_after": 1, "recover_after": 1})
    agent_ids = rt.db.write(lambda c: [agents_store.insert_agent(c, f"u{i}", 1, i, "hash", "active", None, 0)
                                       for i in ids])
    return [AgentIdentity(a, f"u{i}", 1, i, "active", "hash") for a, i in zip(agent_ids, ids, strict=True)]


def sample(ts: float, cpu: float) -> dict[str, Any]:
    return {"ts": ts, "cpu_percent": cpu, "load1": 0.5, "mem_percent": 40.0, "swap_percent": 0.0,
            "process_count": 150, "disks": [{"mount": "/", "used_percent": 60.0}, {"mount": "/data",
                                                                                 "used_percent": 40.0}]}


SEQ = [0]


def check_in(rt: Any, agents: list[AgentIdentity], cpu: float, group: int = 64) -> None:
    """One check-in per agent through the gateway's ingest, `group` per commit (as the writer groups them)."""
    ts = time.time()
    for start in range(0, len(agents), group):
        chunk = agents[start:start + group]

        def write(c: Any, chunk: list[AgentIdentity] = chunk) -> None:
            for agent in chunk:
                SEQ[0] += 1
                batch = msgspec.convert({"seq": SEQ[0], "sent_at": ts, "agent_version": "b",
                                         "metrics": [sample(ts, cpu)]}, wire.CheckIn)
                gateway.ingest(c, agent, batch, hot.pack_check_in(batch.metrics))

        rt.db.write(write)


def throughput(rt: Any, agents: list[AgentIdentity], rounds: int) -> dict[str, Any]:
    check_in(rt, agents, 10)
    evaluate.run_pass(rt)  # warm-up: every state created
    rates = []
    for _ in range(rounds):
        check_in(rt, agents, 10 + len(rates))
        started = time.perf_counter()
        result = evaluate.run_pass(rt)
        rates.append(result.evaluated / (time.perf_counter() - started))
    check_in(rt, agents, 99)
    started = time.perf_counter()
    result = evaluate.run_pass(rt)
    failing_seconds = time.perf_counter() - started
    check_in(rt, agents, 10)
    evaluate.run_pass(rt)  # recover, for the delay runs
    return {"device_checks_per_pass": result.evaluated, "passing_per_second_median": round(statistics.median(rates)),
            "passing_per_second_min": round(min(rates)), "all_failing_pass_seconds": round(failing_seconds, 2),
            "all_failing_state_changes": result.changes}


def delay(rt: Any, agents: list[AgentIdentity], trials: int) -> dict[str, Any]:
    got: dict[int, float] = {}
    done = threading.Event()

    def on_failed(event: Any) -> None:
        if event.data["kind"] == "cpu":
            got[event.data["device_id"]] = time.perf_counter()
            done.set()

    rt.bus.subscribe("check.failed", on_failed)
    ticker = evaluate.Ticker(rt).start()
    delays = []
    try:
        rng = random.Random(3)
        for agent in agents[:trials]:
            time.sleep(rng.uniform(0, rt.settings.check_evaluate_seconds))  # arrive anywhere between two passes
            done.clear()
            check_in(rt, [agent], 99)
            sent = time.perf_counter()
            if done.wait(60):
                delays.append(got[agent.device_id] - sent)
    finally:
        ticker.stop()
    return {"trials": len(delays), "evaluate_every_seconds": rt.settings.check_evaluate_seconds,
            "delay_median_seconds": round(statistics.median(delays), 2), "delay_max_seconds": round(max(delays), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--devices", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--delay-trials", type=int, default=10)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="bench-checks-")) / "data"
    data_dir.mkdir(parents=True)
    rt = rt_mod.start(Settings(data_dir=data_dir, database_url=args.database_url))
    rt.started_at = time.time() - 86400
    connect_subscribers(rt)  # events are audited, as in the appliance: part of a failing pass's cost
    try:
        agents = seed(rt, args.devices)
        figures = {"backend": rt.db.backend, "devices": args.devices, "checks_per_device": len(CHECKS),
                   **throughput(rt, agents, args.rounds), **delay(rt, agents, args.delay_trials)}
    finally:
        rt_mod.stop()
    for key, value in figures.items():
        print(f"{key:32} {value}")
    (Path(__file__).with_suffix(".json")).write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
