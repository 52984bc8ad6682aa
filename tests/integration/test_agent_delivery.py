"""Exactly-once delivery: resent batches are stored once; an outage loses nothing."""

from __future__ import annotations

import json
import time

from ninjait.agents.store import RESEND_WINDOW
from ninjait.core.db import open_database
from ninjait.monitoring import hot
from ninjait.settings import Settings
from tests.support.agent import AgentProcess, fingerprint, wait_until
from tests.support.identity import Browser


def open_db(app):  # type: ignore[no-untyped-def]
    return open_database(Settings(data_dir=app.data_dir, database_url=app.env.get("NINJAIT_DATABASE_URL", "")))


def start_agent(app, world, tmp_path, name: str) -> tuple[AgentProcess, int]:  # type: ignore[no-untyped-def]
    admin = Browser(app).login(world.people["a-organizationadmin"])
    token = admin.post("/api/v1/enrollment-tokens", json={"site_id": world.sites["a"]}).json()["token"]
    agent = AgentProcess(tmp_path / name, f"https://127.0.0.1:{app.port}")
    assert agent.enroll(token, fingerprint(app)).returncode == 0
    device_id = max(d["id"] for d in admin.get("/api/v1/devices").json())
    admin.close()
    return agent, device_id


def test_a_resent_batch_is_stored_once(world_app, tmp_path) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    agent, device_id = start_agent(app, world, tmp_path, "replay")
    secret = (agent.state_dir / "secret").read_text()
    auth = {"Authorization": f"Agent {agent.agent_id}:{secret}"}
    body = {"seq": 77, "sent_at": time.time(), "agent_version": "test",
            "metrics": [{"ts": 1234.5, "cpu_percent": 12.5, "load1": 0.5, "mem_percent": 40.0, "swap_percent": 1.0,
                         "process_count": 99, "disks": [{"mount": "/", "used_percent": 50.0}]}]}
    with app.client() as client:
        for _ in range(3):
            r = client.post("/agent/v1/checkin", content=json.dumps(body), headers=auth)
            assert r.status_code == 200 and r.json()["ack_seq"] == 77
        bad = client.post("/agent/v1/checkin", content=json.dumps({**body, "seq": 0}), headers=auth)
        assert bad.status_code == 400 and "seq" in bad.json()["detail"]
        unknown = client.post("/agent/v1/checkin", content=json.dumps({**body, "sneaky": 1}), headers=auth)
        assert unknown.status_code == 400 and "sneaky" in unknown.json()["detail"]
        nobody = client.post("/agent/v1/checkin", content=json.dumps(body), headers={"Authorization": "Agent x:nia_y"})
        assert nobody.status_code == 401
    db = open_db(app)
    try:
        with db.read() as c:
            rows = c.all("SELECT samples FROM hot_sample_batches WHERE device_id = ? AND ts_min <= 1234.5 "
                         "AND ts_max >= 1234.5", (device_id,))
    finally:
        db.close()
    assert len(rows) == 1  # one hot row for the batch, once
    values = hot.unpack(rows[0]["samples"])
    assert len(values) == 12  # 11 scalar metrics + 1 disk
    assert [(m, i, v) for _, m, i, v in values if m in ("cpu_percent", "disk_used_percent")] == [
        ("cpu_percent", "", 12.5), ("disk_used_percent", "/", 50.0)]


def test_an_outage_loses_nothing_and_duplicates_nothing(world_app, tmp_path) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    agent, device_id = start_agent(app, world, tmp_path, "outage")
    agent.start(interval=0.5)
    try:
        wait_until(lambda: agent.status()["last_sequence"] >= 3)
        app.stop()
        wait_until(lambda: agent.status()["queued_batches"] >= 4, timeout=60)
        assert "check-in failed" in agent.log()
        app.start()
        wait_until(lambda: agent.status()["queued_batches"] == 0, timeout=90)
        last = agent.status()["last_sequence"]
    finally:
        agent.stop()
    db = open_db(app)
    try:
        with db.read() as c:
            agent_row = c.value("SELECT id FROM agents WHERE device_id = ?", (device_id,))
            seqs = [r["seq"] for r in c.all("SELECT seq FROM agent_batches WHERE agent_id = ? ORDER BY seq",
                                            (agent_row,))]
    finally:
        db.close()
    # Every batch, in order, none missing (claims older than the resend window are dropped a window at a time).
    assert seqs[0] % RESEND_WINDOW == 1
    assert seqs[:last - seqs[0] + 1] == list(range(seqs[0], last + 1))
    # Samples may already have moved to the analytics store: count them through the API, which reads both.
    admin = Browser(app).login(world.people["a-organizationadmin"])
    points = admin.get(f"/api/v1/devices/{device_id}/metrics",
                       params={"metric": "cpu_percent", "from": time.time() - 3600, "to": time.time() + 60}).json()
    admin.close()
    stamps = [p["t"] for p in points["points"]]
    assert len(stamps) == len(set(stamps))  # none twice
    assert len(stamps) >= last  # one sample per batch, none lost
