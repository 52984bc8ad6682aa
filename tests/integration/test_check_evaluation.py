"""Server-evaluated checks: every kind passing and failing, the state machine, events, history, purge.

Samples enter through the gateway's own ingest (the function a check-in runs), then a pass of the
evaluator runs directly: no waiting on its loop.
"""

from __future__ import annotations

import time
from typing import Any

import msgspec
import pytest
from ninjait_agent import wire

from ninjait.agents import gateway, store as agents_store
from ninjait.agents.service import AgentIdentity
from ninjait.core import runtime as rt_mod
from ninjait.identity.principal import SYSTEM
from ninjait.monitoring import hot
from ninjait.monitoring.checks import evaluate, service
from ninjait.settings import Settings
from tests.support.identity import admin_principal


@pytest.fixture
def rt(settings: Settings):  # type: ignore[no-untyped-def]
    runtime = rt_mod.start(settings)
    runtime.db.write(lambda c: (
        c.execute("INSERT INTO tenants (id, name, slug, created_at) VALUES (1, 'T', 't', 0), (2, 'U', 'u', 0)"),
        c.execute("INSERT INTO organizations (id, tenant_id, name, created_at) VALUES (1, 1, 'O', 0), (2, 1, 'P', 0), "
                  "(3, 2, 'Q', 0)"),
        c.execute("INSERT INTO sites (id, tenant_id, organization_id, name, created_at) VALUES (1, 1, 1, 'S', 0), "
                  "(2, 1, 2, 'S2', 0), (3, 2, 3, 'S3', 0)")))
    events: list = []  # type: ignore[type-arg]
    runtime.bus.subscribe("check.*", events.append)
    runtime.events = events  # type: ignore[attr-defined]
    runtime.started_at = time.time() - 86400
    yield runtime
    rt_mod.stop()


class Device:
    seq = 0

    def __init__(self, rt: Any, tenant: int = 1, org: int = 1, site: int = 1, name: str = "pc") -> None:
        self.rt = rt
        self.id = rt.db.write(lambda c: c.value(
            "INSERT INTO devices (tenant_id, organization_id, site_id, hostname, created_at) VALUES (?, ?, ?, ?, 0) "
            "RETURNING id", (tenant, org, site, name)))
        agent_id = rt.db.write(lambda c: agents_store.insert_agent(c, f"uid{self.id}", tenant, self.id, "hash", "active",
                                                                   None, 0))
        self.agent = AgentIdentity(agent_id, f"uid{self.id}", tenant, self.id, "active", "hash")

    def send(self, *samples: dict[str, Any], inventory: dict[str, Any] | None = None,
             reports: list[dict[str, Any]] | None = None) -> gateway.Stored:
        Device.seq += 1
        body = {"seq": Device.seq, "sent_at": time.time(), "agent_version": "t",
                "metrics": list(samples), "check_results": reports or []}
        if inventory is not None:
            body["inventory"] = inventory
        batch = msgspec.convert(body, wire.CheckIn)
        return self.rt.db.write(lambda c: gateway.ingest(c, self.agent, batch, hot.pack_check_in(batch.metrics)))


def sample(ts: float, cpu: float = 5.0, mem: float = 40.0, disks: dict[str, float] | None = None,
           load1: float = 0.2) -> dict[str, Any]:
    return {"ts": ts, "cpu_percent": cpu, "load1": load1, "mem_percent": mem, "swap_percent": 0.0,
            "process_count": 100, "disks": [{"mount": m, "used_percent": u} for m, u in (disks or {"/": 50.0}).items()]}


def make(rt: Any, kind: str, params: dict[str, Any], *, scope: str = "tenant", scope_id: int | None = None,
         tenant: int = 1, **extra: Any) -> dict[str, Any]:
    data = {"name": f"{kind} check", "kind": kind, "scope_kind": scope, "scope_id": scope_id, "params": params,
            "severity": "critical", "interval_seconds": 60, "fail_after": 1, "recover_after": 1, **extra}
    return service.create_check(rt, admin_principal(tenant), SYSTEM, data)


def state(rt: Any, device: Device, check: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in service.device_checks(rt, admin_principal(device.agent.tenant_id), device.id)
                if c["id"] == check["id"])


def names(rt: Any) -> list[tuple[str, int]]:
    return [(e.name, e.data["check_id"]) for e in rt.events if e.name in ("check.failed", "check.recovered")]


def test_cpu_above_threshold_for_minutes_fails_then_recovers(rt) -> None:  # type: ignore[no-untyped-def]
    d = Device(rt)
    check = make(rt, "cpu", {"threshold": 90, "minutes": 5})
    t = time.time() - 1000
    d.send(sample(t, cpu=95), sample(t + 60, cpu=97))
    evaluate.run_pass(rt)
    assert state(rt, d, check)["state"] == "passing"  # above, but not for 5 minutes yet
    d.send(sample(t + 240, cpu=96), sample(t + 300, cpu=99))
    evaluate.run_pass(rt)
    s = state(rt, d, check)
    assert s["state"] == "failing" and s["last_value"] == 99 and "above 90" in s["message"]
    event = rt.events[-1]
    assert event.name == "check.failed" and event.tenant_id == 1
    assert {k: event.data[k] for k in ("device_id", "organization_id", "check_id", "check_name", "kind", "severity",
                                       "state", "value")} == {
        "device_id": d.id, "organization_id": 1, "check_id": check["id"], "check_name": "cpu check", "kind": "cpu",
        "severity": "critical", "state": "failing", "value": 99}
    evaluate.run_pass(rt)  # nothing new: nothing happens
    d.send(sample(t + 360, cpu=10))
    evaluate.run_pass(rt)
    assert state(rt, d, check)["state"] == "passing"
    assert names(rt) == [("check.failed", check["id"]), ("check.recovered", check["id"])]


def test_a_dip_below_the_threshold_restarts_the_clock(rt) -> None:  # type: ignore[no-untyped-def]
    d = Device(rt)
    check = make(rt, "cpu", {"threshold": 90, "minutes": 2})
    t = time.time() - 1000
    d.send(sample(t, cpu=95), sample(t + 60, cpu=50), sample(t + 120, cpu=95), sample(t + 180, cpu=95))
    evaluate.run_pass(rt)
    assert state(rt, d, check)["state"] == "passing"
    d.send(sample(t + 240, cpu=95))
    evaluate.run_pass(rt)
    assert state(rt, d, check)["state"] == "failing"


def test_memory_and_metric_thresholds(rt) -> None:  # type: ignore[no-untyped-def]
    d = Device(rt)
    memory = make(rt, "memory", {"threshold": 80})
    load = make(rt, "metric", {"metric": "load1", "operator": "above", "threshold": 4})
    low_procs = make(rt, "metric", {"metric": "process_count", "operator": "below", "threshold": 50})
    t = time.time() - 100
    d.send(sample(t, mem=50, load1=1))
    evaluate.run_pass(rt)
    assert [state(rt, d, c)["state"] for c in (memory, load, low_procs)] == ["passing"] * 3
    d.send(sample(t + 30, mem=90, load1=8))
    evaluate.run_pass(rt)
    assert [state(rt, d, c)["state"] for c in (memory, load, low_procs)] == ["failing", "failing", "passing"]


def test_disk_free_percent_and_gb_per_mount(rt) -> None:  # type: ignore[no-untyped-def]
    d = Device(rt)
    pct = make(rt, "disk", {"mount": "/data", "min_free_percent": 20})
    gb = make(rt, "disk", {"min_free_gb": 30})
    inventory = {"hostname": "pc", "os_name": "Linux", "os_version": "1",
                 "disks": [{"device": "sda1", "mount": "/", "fstype": "ext4", "total_bytes": 100 * 10**9,
                            "free_bytes": 0},
                           {"device": "sdb1", "mount": "/data", "fstype": "ext4", "total_bytes": 1000 * 10**9,
                            "free_bytes": 0}]}
    t = time.time() - 100
    d.send(sample(t, disks={"/": 50, "/data": 50}), inventory=inventory)
    evaluate.run_pass(rt)
    assert state(rt, d, pct)["state"] == "passing" and state(rt, d, gb)["state"] == "passing"
    d.send(sample(t + 30, disks={"/": 75, "/data": 85}))
    evaluate.run_pass(rt)
    s_pct, s_gb = state(rt, d, pct), state(rt, d, gb)
    assert s_pct["state"] == "failing" and "/data 15.0 % free" in s_pct["message"]
    # / has 25 GB free of 100; /data 150 GB of 1000: only / is short of 30 GB.
    assert s_gb["state"] == "failing" and "/ 25.0 GB free" in s_gb["message"] and "/data" not in s_gb["message"]


def test_disk_gb_without_an_inventory_is_unknown(rt) -> None:  # type: ignore[no-untyped-def]
    d = Device(rt)
    gb = make(rt, "disk", {"min_free_gb": 30})
    d.send(sample(time.time()))
    evaluate.run_pass(rt)
    s = state(rt, d, gb)
    assert s["state"] == "unknown" and "no inventory" in s["message"]


def test_fail_after_and_recover_after_count_consecutive_observations(rt) -> None:  # type: ignore[no-untyped-def]
    d = Device(rt)
    check = make(rt, "cpu", {"threshold": 90}, fail_after=3, recover_after=2)
    t = time.time() - 1000
    for i, cpu in enumerate([95, 95, 10, 95, 95]):
        d.send(sample(t + i * 30, cpu=cpu))
        evaluate.run_pass(rt)
    assert state(rt, d, check)["state"] == "passing"
    d.send(sample(t + 200, cpu=95))
    evaluate.run_pass(rt)
    assert state(rt, d, check)["state"] == "failing"
    d.send(sample(t + 230, cpu=10))
    evaluate.run_pass(rt)
    assert state(rt, d, check)["state"] == "failing"
    d.send(sample(t + 260, cpu=10))
    evaluate.run_pass(rt)
    assert state(rt, d, check)["state"] == "passing"
    assert names(rt) == [("check.failed", check["id"]), ("check.recovered", check["id"])]


def test_scopes_exclusions_and_tenants(rt) -> None:  # type: ignore[no-untyped-def]
    a1, a2 = Device(rt, org=1, site=1), Device(rt, org=2, site=2)
    other_tenant = Device(rt, tenant=2, org=3, site=3)
    tenant_wide = make(rt, "cpu", {"threshold": 90}, exclude_device_ids=[a2.id])
    org2 = make(rt, "cpu", {"threshold": 50}, scope="organization", scope_id=2)
    site1 = make(rt, "memory", {"threshold": 50}, scope="site", scope_id=1)
    one = make(rt, "metric", {"metric": "load1", "operator": "above", "threshold": 1}, scope="device", scope_id=a1.id)
    p = admin_principal(1)
    assert {c["id"] for c in service.device_checks(rt, p, a1.id)} == {tenant_wide["id"], site1["id"], one["id"]}
    assert {c["id"] for c in service.device_checks(rt, p, a2.id)} == {org2["id"]}
    assert service.device_checks(rt, admin_principal(2), other_tenant.id) == []
    for d in (a1, a2, other_tenant):
        d.send(sample(time.time(), cpu=99, mem=99, load1=9))
    evaluate.run_pass(rt)
    failed = {(e.data["check_id"], e.data["device_id"]) for e in rt.events if e.name == "check.failed"}
    assert failed == {(tenant_wide["id"], a1.id), (site1["id"], a1.id), (one["id"], a1.id), (org2["id"], a2.id)}
    assert all(e.tenant_id == 1 for e in rt.events if e.name == "check.failed")


def test_agent_offline_from_the_server_clock(rt) -> None:  # type: ignore[no-untyped-def]
    d = Device(rt)
    check = make(rt, "agent_offline", {"minutes": 10})
    now = time.time()
    rt.db.write(lambda c: c.execute("UPDATE devices SET last_seen_at = ? WHERE id = ?", (int(now - 120), d.id)))
    evaluate.offline_pass(rt, now)
    assert state(rt, d, check)["state"] == "passing"
    evaluate.offline_pass(rt, now + 601)
    s = state(rt, d, check)
    assert s["state"] == "failing" and "no check-in for 12 min" in s["message"]
    d.send(sample(time.time()))  # back: a check-in (dated as if it came ten minutes on, like the passes)
    rt.db.write(lambda c: c.execute("UPDATE devices SET last_seen_at = ? WHERE id = ?", (int(now + 650), d.id)))
    evaluate.offline_pass(rt, now + 700)
    assert state(rt, d, check)["state"] == "passing"
    assert names(rt) == [("check.failed", check["id"]), ("check.recovered", check["id"])]


def test_agent_offline_waits_after_an_appliance_restart(rt) -> None:  # type: ignore[no-untyped-def]
    d = Device(rt)
    check = make(rt, "agent_offline", {"minutes": 10})
    now = time.time()
    rt.started_at = now - 60
    rt.db.write(lambda c: c.execute("UPDATE devices SET last_seen_at = ? WHERE id = ?", (int(now - 3600), d.id)))
    evaluate.offline_pass(rt, now)
    assert state(rt, d, check)["state"] == "unknown"
    evaluate.offline_pass(rt, now + 600)
    assert state(rt, d, check)["state"] == "failing"


def test_agent_reports_apply_only_to_checks_that_apply(rt) -> None:  # type: ignore[no-untyped-def]
    d, other = Device(rt), Device(rt, tenant=2, org=3, site=3)
    proc = make(rt, "process", {"name": "nginx"})
    theirs = make(rt, "process", {"name": "nginx"}, tenant=2)
    d.send(reports=[{"check_id": proc["id"], "ts": time.time(), "status": "fail", "message": "nginx: 0 running"},
                    {"check_id": theirs["id"], "ts": time.time(), "status": "fail", "message": "forged"}])
    evaluate.run_pass(rt)
    assert state(rt, d, proc)["state"] == "failing"
    # Another tenant's check id in a report changes nothing there.
    assert all(c["state"] == "unknown" for c in service.device_checks(rt, admin_principal(2), other.id))
    history = service.results(rt, admin_principal(1), proc["id"], d.id)
    assert [(r["status"], r["state"], r["message"]) for r in history] == [("fail", "failing", "nginx: 0 running")]
    with rt.db.read() as c:
        assert c.value("SELECT count(*) FROM check_reports") == 0


def test_script_warn_codes_give_warning_then_failing_is_a_new_failure(rt) -> None:  # type: ignore[no-untyped-def]
    d = Device(rt)
    check = make(rt, "script", {"script": "exit 0", "warn_codes": [1]})
    t = time.time()
    for i, status in enumerate(["pass", "warn", "fail", "pass"]):
        d.send(reports=[{"check_id": check["id"], "ts": t + i, "status": status}])
        evaluate.run_pass(rt)
    assert [(e.name, e.data["state"]) for e in rt.events if e.name.startswith("check.") and "state" in e.data] == [
        ("check.failed", "warning"), ("check.failed", "failing"), ("check.recovered", "passing")]


def test_history_is_bounded_by_interval_and_purged(rt) -> None:  # type: ignore[no-untyped-def]
    d = Device(rt)
    check = make(rt, "cpu", {"threshold": 90})
    t = time.time()
    for i in range(5):  # five passes within one interval, no state change: one result
        d.send(sample(t + i, cpu=10))
        evaluate.run_pass(rt, now=t + i)
    assert len(service.results(rt, admin_principal(1), check["id"])) == 1
    assert evaluate.purge(rt, now=t + 31 * 86400) == 1
    assert service.results(rt, admin_principal(1), check["id"]) == []


def test_reading_the_same_samples_twice_changes_nothing(rt) -> None:  # type: ignore[no-untyped-def]
    d = Device(rt)
    check = make(rt, "cpu", {"threshold": 90}, fail_after=2)
    d.send(sample(time.time(), cpu=99))
    evaluate.run_pass(rt)
    evaluate.evaluator(rt).mark = 0  # as after a restart, or PostgreSQL's overlap
    evaluate.run_pass(rt)
    assert state(rt, d, check)["state"] == "unknown"  # one failure observed, not two


# --- probes from the appliance, against servers this test starts on 127.0.0.1 ---------------------

@pytest.fixture
def web():  # type: ignore[no-untyped-def]
    import http.server
    import threading

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            code = 200 if self.path.startswith("/ok") else 503
            body = b"all systems nominal" if code == 200 else b"down for maintenance"
            self.send_response(code)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()


def closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_appliance_probes_pass_and_fail(rt, web) -> None:  # type: ignore[no-untyped-def]
    from ninjait.monitoring.checks import probes

    d = Device(rt)
    base = f"http://127.0.0.1:{web}"
    checks = {
        "tcp ok": make(rt, "tcp", {"host": "127.0.0.1", "port": web}),
        "tcp closed": make(rt, "tcp", {"host": "127.0.0.1", "port": closed_port(), "timeout": 2}),
        "http ok": make(rt, "http", {"url": base + "/ok", "contains": "nominal"}),
        "http status": make(rt, "http", {"url": base + "/down"}),
        "http body": make(rt, "http", {"url": base + "/ok", "contains": "banana"}),
        "ping ok": make(rt, "ping", {"host": "127.0.0.1", "timeout": 2}),
        # .invalid never resolves (RFC 6761): the probe fails without leaving the machine.
        "ping unknown": make(rt, "ping", {"host": "no-such-host.invalid", "timeout": 2}),
    }
    result = probes.probe_pass(rt)
    assert result.evaluated == len(checks)
    states = {name: state(rt, d, c) for name, c in checks.items()}
    assert {n: s["state"] for n, s in states.items()} == {
        "tcp ok": "passing", "tcp closed": "failing", "http ok": "passing", "http status": "failing",
        "http body": "failing", "ping ok": "passing", "ping unknown": "failing"}
    assert "answered 503, expected 200" in states["http status"]["message"]
    assert "without “banana”" in states["http body"]["message"]
    assert probes.probe_pass(rt).evaluated == 0  # not due again before the interval


def test_a_sample_from_a_clock_in_the_future_does_not_hold_back_later_ones(rt) -> None:  # type: ignore[no-untyped-def]
    d = Device(rt)
    check = make(rt, "cpu", {"threshold": 90})
    now = time.time()
    d.send(sample(now + 86400, cpu=10))  # the endpoint's clock is a day ahead
    evaluate.run_pass(rt, now=now)
    assert state(rt, d, check)["state"] == "passing"
    d.send(sample(now + 200, cpu=99))  # put right, and received three minutes later: this one counts
    rt.db.write(lambda c: c.execute("UPDATE hot_sample_batches SET received_at = received_at + 180 WHERE ts_min = ?",
                                    (now + 200,)))
    evaluate.run_pass(rt, now=now + 180)
    assert state(rt, d, check)["state"] == "failing"


def test_states_of_devices_a_check_no_longer_covers_are_pruned(rt) -> None:  # type: ignore[no-untyped-def]
    d = Device(rt)
    check = make(rt, "cpu", {"threshold": 90}, scope="site", scope_id=1)
    d.send(sample(time.time(), cpu=99))
    evaluate.run_pass(rt)
    assert service.list_checks(rt, admin_principal(1))[0]["states"] == {"failing": 1}
    rt.db.write(lambda c: c.execute("UPDATE devices SET organization_id = 2, site_id = 2 WHERE id = ?", (d.id,)))
    evaluate.purge(rt)
    assert service.list_checks(rt, admin_principal(1))[0]["states"] == {}
    assert check["id"] not in {c["id"] for c in service.device_checks(rt, admin_principal(1), d.id)}


def test_a_group_scope_follows_dynamic_membership(rt) -> None:  # type: ignore[no-untyped-def]
    from ninjait.core.errors import NotFound
    from ninjait.devices import groups

    web, db = Device(rt, name="web-01"), Device(rt, name="db-01")
    other = Device(rt, tenant=2, org=3, site=3, name="web-99")
    p = admin_principal(1)
    group = groups.create_group(rt, p, SYSTEM, "Web servers", "dynamic",
                                {"all": [{"field": "hostname", "op": "contains", "value": "web"}]})
    check = make(rt, "cpu", {"threshold": 90}, scope="group", scope_id=group["id"])
    assert [c["id"] for c in service.device_checks(rt, p, web.id)] == [check["id"]]
    assert service.device_checks(rt, p, db.id) == []
    for d in (web, db, other):
        d.send(sample(time.time(), cpu=99))
    evaluate.run_pass(rt)
    assert {e.data["device_id"] for e in rt.events if e.name == "check.failed"} == {web.id}
    with pytest.raises(NotFound):  # another tenant's group
        make(rt, "cpu", {"threshold": 90}, scope="group", scope_id=group["id"], tenant=2)
