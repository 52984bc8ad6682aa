"""Benchmark: alert evaluation throughput and the time from an alert to its notification leaving.

    .venv/bin/python tests/bench/bench_alerts.py [--devices 2000]

In a throw-away data directory (SQLite), in this process, with the real services and bus:
  * raises: new alerts per second (one device going offline after another, each its own alert: each
    raise is one transaction with dedup, flapping, maintenance and incident lookups, then routing);
  * repeats: the same conditions again (occurrence counting), per second;
  * notify: from the event that raises an alert to the webhook arriving at a receiver on loopback
    (routing into the outbox, then one delivery attempt as the task queue makes it), p50/p95.
  * end to end, on the real appliance (started on loopback): a check-in carrying a CPU sample past a check's
    threshold → the evaluator (every check_evaluate_seconds) fails the check → the alert → its webhook at a
    receiver; then a good sample resolves it; repeated --rounds times, p50/p95/max.
Prints the figures.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from ninjait.alerts import channels, service  # noqa: E402
from ninjait.core import runtime as rt_mod  # noqa: E402
from ninjait.identity.principal import Actor  # noqa: E402
from ninjait.settings import Settings  # noqa: E402
from tests.support import alert_world  # noqa: E402
from tests.support.receiver import Receiver  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices", type=int, default=2000)
    parser.add_argument("--notify", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp()) / "data"
    data.mkdir()
    rt = alert_world.start(Settings(data_dir=data, notify_private_networks=True))
    try:
        # One organization per device would defeat incidents; spread devices over sites of two organizations,
        # and give each a rule of its own so every raise is a new alert.
        ids = [alert_world.device(rt, f"pc-{i}", site=1 + i % 2) for i in range(args.devices)]

        def raise_all() -> float:
            started = time.perf_counter()
            for i, device_id in enumerate(ids):
                service.trigger(rt, service.Condition(
                    tenant_id=1, rule=f"bench:{i}", subject=f"device:{device_id}", source="event",
                    severity="warning", title=f"pc-{i} bench", organization_id=1 + i % 2, device_id=device_id))
            return time.perf_counter() - started

        first = raise_all()
        again = raise_all()
        print(f"raises:  {args.devices / first:8.0f} new alerts/s   ({args.devices} in {first:.2f} s)")
        print(f"repeats: {args.devices / again:8.0f} occurrences/s  ({args.devices} in {again:.2f} s)")

        with Receiver() as receiver:
            channels.create_channel(rt, alert_world.admin(), Actor(user_id=None, email="bench"), {
                "name": "bench", "kind": "webhook", "min_severity": "info",
                "settings": {"url": f"{receiver.url}/hook", "secret": "bench-secret-key"}})
            timings = []
            for i in range(args.notify):
                started = time.perf_counter()
                alert, _ = service.trigger(rt, service.Condition(
                    tenant_id=1, rule=f"notify:{i}", subject=f"device:{ids[0]}", source="event", severity="critical",
                    title="bench", organization_id=1, device_id=ids[0]))
                # The routing subscriber queued the delivery; send it as the task queue would.
                for delivery_id in channels.due(rt):
                    channels.deliver(rt, delivery_id)
                assert len(receiver.received) == i + 1
                timings.append((time.perf_counter() - started) * 1000)
            timings.sort()
            print(f"notify:  p50 {statistics.median(timings):6.1f} ms  p95 {timings[int(len(timings) * 0.95) - 1]:6.1f} ms"
                  f"  (alert raised -> webhook received, {args.notify} alerts)")
    finally:
        rt_mod.stop()
    end_to_end(args.rounds)


def end_to_end(rounds: int) -> None:
    from tests.support.agent import wait_until
    from tests.support.appliance import Appliance
    from tests.support.fake_agents import enroll, sample
    from tests.support.identity import Browser, seed_world

    data = Path(tempfile.mkdtemp()) / "data"
    data.mkdir()
    world = seed_world(Settings(data_dir=data))
    app = Appliance(data, env={"NINJAIT_NOTIFY_PRIVATE_NETWORKS": "true"}).start()
    try:
        admin = Browser(app).login(world.people["a-organizationadmin"])
        with Receiver() as receiver:
            admin.post("/api/v1/notification-channels", json={
                "name": "bench", "kind": "webhook", "min_severity": "info", "notify_flapping": True,
                "settings": {"url": f"{receiver.url}/hook", "secret": "bench-secret-key"}})
            admin.post("/api/v1/checks", json={"name": "CPU", "kind": "cpu", "scope_kind": "tenant",
                                               "params": {"threshold": 90, "minutes": 0}})
            token = admin.post("/api/v1/enrollment-tokens", json={"site_id": world.sites["a"]}).json()["token"]
            timings = []
            with app.client() as client:
                agent = enroll(client, token, "bench-pc")
                for i in range(rounds):
                    started = time.perf_counter()
                    agent.check_in(client, metrics=[sample(time.time(), 99.0)])
                    wait_until(lambda n=2 * i + 1: len(receiver.received) >= n, timeout=60, every=0.01)
                    timings.append((time.perf_counter() - started) * 1000)
                    agent.check_in(client, metrics=[sample(time.time(), 5.0)])
                    wait_until(lambda n=2 * i + 2: len(receiver.received) >= n, timeout=60, every=0.01)
            timings.sort()
            print(f"end to end: p50 {statistics.median(timings):6.0f} ms  p95 {timings[int(len(timings) * 0.95) - 1]:6.0f} ms"
                  f"  max {timings[-1]:6.0f} ms  (bad sample sent -> webhook received, {rounds} rounds)")
        admin.close()
    finally:
        app.stop()


if __name__ == "__main__":
    main()
