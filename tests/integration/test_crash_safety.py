"""SIGKILL the appliance during heavy check-in ingest and during backups, restart it, and count.

What must hold after a kill: the database passes its integrity check; every batch the server
acknowledged (answered 200) is stored exactly once, samples included (counted through the metrics
API, which reads DuckDB and the hot table); the agents' resend of what was not acknowledged fills
the rest; a backup cut short leaves no partial archive and the next one works.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import apsw
import pytest

from ninjait.agents.store import RESEND_WINDOW
from ninjait.core.db import open_database
from ninjait.monitoring import hot
from ninjait.settings import Settings
from tests.conftest import BACKEND
from tests.support.agent import wait_until
from tests.support.appliance import ROOT, Appliance
from tests.support.fleet import Fleet, raw_points
from tests.support.identity import Browser, start_world


def integrity_ok(data_dir: Path) -> None:
    if BACKEND != "sqlite":
        return  # PostgreSQL's own crash recovery; the counts below still apply
    con = apsw.Connection(str(data_dir / "ninjait.db"))
    try:
        assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        con.close()


def stored_batches(app: Appliance) -> dict[str, set[int]]:
    db = open_database(Settings(data_dir=app.data_dir, database_url=app.env.get("NINJAIT_DATABASE_URL", "")))
    try:
        with db.read() as c:
            rows = c.all("SELECT a.uid, b.seq FROM agent_batches b JOIN agents a ON a.id = b.agent_id")
    finally:
        db.close()
    found: dict[str, set[int]] = {}
    for r in rows:
        found.setdefault(r["uid"], set()).add(int(r["seq"]))
    return found


def restart(app: Appliance) -> Appliance:
    again = Appliance(app.data_dir, app.env.get("NINJAIT_DATABASE_URL", ""))
    return again.start()


def kill(app: Appliance) -> None:
    assert app.proc is not None
    app.proc.send_signal(signal.SIGKILL)
    app.proc.wait(30)
    app.stop()


@pytest.fixture
def loaded(tmp_path: Path, database_url: str):  # type: ignore[no-untyped-def]
    app, world = start_world(tmp_path / "data", database_url)
    admin = Browser(app).login(world.people["a-organizationadmin"])
    token = admin.post("/api/v1/enrollment-tokens", json={"site_id": world.sites["a"], "max_uses": 100}).json()
    admin.close()
    fleet = Fleet(app, token["token"], 24)
    holder = {"app": app}
    yield holder, world, fleet
    fleet.stop()
    holder["app"].stop()


def test_a_kill_during_ingest_loses_and_doubles_nothing_acknowledged(loaded) -> None:  # type: ignore[no-untyped-def]
    holder, world, fleet = loaded
    app = holder["app"]
    fleet.start(threads=6)
    # Past a minute boundary, so the mover has put samples into DuckDB before the kill.
    wait_until(lambda: "moved metric samples to the analytics store" in app.log(), timeout=150, every=1)
    time.sleep(0.5)
    kill(app)
    fleet.stop()
    assert fleet.batches_acked > 500, fleet.batches_acked
    integrity_ok(app.data_dir)

    holder["app"] = again = restart(app)
    fleet.app = again
    stored = stored_batches(again)
    root = Browser(again).login(world.people["root"])
    devices = {d["hostname"]: d["id"] for d in root.get("/api/v1/devices").json()}
    unacked = 0
    for t in fleet.agents:
        claims = stored[t.agent.agent_id]  # the agent's last 100 to 200: older claims are pruned
        assert {s for s in t.acked if s > max(claims) - RESEND_WINDOW} <= claims, t.hostname
        # Nothing acknowledged was lost and each batch's samples appear exactly once (a double would add points):
        # the acknowledged batches, and those the kill let commit before their answer went out.
        landed = t.acked | (claims & set(t.unacked))
        assert raw_points(root, devices[t.hostname]) == Fleet.points_of(t, landed), t.hostname
        unacked += len(t.unacked)

    resent = fleet.resend()
    assert resent == unacked
    for t in fleet.agents:
        assert raw_points(root, devices[t.hostname]) == Fleet.points_of(t), t.hostname  # every batch, once
    root.close()


def test_a_kill_during_a_backup_leaves_no_partial_archive(loaded, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    holder, world, fleet = loaded
    app = holder["app"]
    fleet.start(threads=3)
    time.sleep(3)
    # Enough hot rows that the copy takes a moment to kill it in.
    db = open_database(Settings(data_dir=app.data_dir, database_url=app.env.get("NINJAIT_DATABASE_URL", "")))
    with db.read() as c:
        device = c.value("SELECT min(id) FROM devices")
    # About 30 MB: 8,000 hot rows of 200 samples each.
    rows = [(1, device, 0, hot.pack((1.0e9 + b * 200 + i, "load1", "", 0.5) for i in range(200)))
            for b in range(8_000)]
    db.write(lambda c: hot.insert_many(c, rows))
    db.close()

    out = tmp_path / "cut.tar.gz"
    env = {k: v for k, v in os.environ.items() if not k.startswith("NINJAIT_")}
    env.update({k: v for k, v in app.env.items() if k in ("NINJAIT_DATA_DIR", "NINJAIT_DATABASE_URL")})
    cli = subprocess.Popen([sys.executable, "-m", "ninjait", "backup", "--no-encrypt", "--out", str(out)],
                           cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    staging = app.data_dir / "tmp"
    wait_until(lambda: staging.is_dir() and any(staging.iterdir()), timeout=30, every=0.005)
    kill(app)
    fleet.stop()
    _, err = cli.communicate(timeout=60)
    assert cli.returncode == 1 and err.strip().count("\n") == 0 and "appliance" in err, err
    assert not out.exists() and not any(p.name.endswith(".partial") for p in tmp_path.iterdir())
    integrity_ok(app.data_dir)

    holder["app"] = again = restart(app)
    assert list(staging.iterdir()) == []  # the staging copy is cleaned at start
    # A backup the appliance itself was writing (Settings → Backups) is cut the same way.
    root = Browser(again).login(world.people["root"])
    assert root.post("/api/v1/backups").status_code == 202
    folder = again.data_dir / "backups"
    wait_until(lambda: folder.is_dir() and any(p.name.endswith(".partial") for p in folder.iterdir()),
               timeout=60, every=0.005)
    root.close()
    kill(again)
    holder["app"] = third = restart(again)
    assert list(folder.iterdir()) == [] and list(staging.iterdir()) == []
    integrity_ok(third.data_dir)

    done = subprocess.run([sys.executable, "-m", "ninjait", "backup", "--no-encrypt", "--out", str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    checked = subprocess.run([sys.executable, "-m", "ninjait", "backup", "verify", str(out)], cwd=ROOT,
                             capture_output=True, text=True, timeout=300)
    assert checked.returncode == 0, checked.stderr
