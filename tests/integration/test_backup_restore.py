"""The restore drill: back up while agents write, restore into a new directory, run the restored appliance."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from ninjait.agents.store import RESEND_WINDOW
from ninjait.backup import archive
from ninjait.core.db import Database, open_database
from ninjait.settings import Settings
from tests.conftest import BACKEND
from tests.support.agent import fingerprint, wait_until
from tests.support.appliance import ROOT, Appliance
from tests.support.fleet import Fleet, raw_points
from tests.support.identity import Browser, start_world

PASSPHRASE = "drill passphrase, long enough"
# Rows that nothing changes while the fleet writes: they must come back identical.
STILL_TABLES = ("tenants", "organizations", "sites", "roles", "role_assignments", "agents", "enrollment_tokens",
                "schema_migrations")


def ninjait(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("NINJAIT_")}
    full.update(env or {})
    return subprocess.run([sys.executable, "-m", "ninjait", *args], cwd=ROOT, env=full, capture_output=True,
                          text=True, timeout=timeout)


def digest(db: Database, table: str, where: str = "") -> str:
    with db.read() as c:
        rows = c.all(f"SELECT * FROM {table} {where} ORDER BY 1")
    return hashlib.sha256(json.dumps(rows, sort_keys=True, default=str).encode()).hexdigest()


def batches_by_agent(db: Database) -> dict[str, set[int]]:
    with db.read() as c:
        rows = c.all("SELECT a.uid, b.seq FROM agent_batches b JOIN agents a ON a.id = b.agent_id")
    found: dict[str, set[int]] = {}
    for r in rows:
        found.setdefault(r["uid"], set()).add(int(r["seq"]))
    return found


def manifest_of(path: Path, passphrase: str) -> dict[str, Any]:
    with path.open("rb") as fh:
        return archive.Reader(fh, passphrase).manifest


def test_a_backup_made_under_load_restores_into_a_working_appliance(tmp_path: Path, database_url: str,
                                                                     request: pytest.FixtureRequest) -> None:
    data = tmp_path / "data"
    app, world = start_world(data, database_url)
    env = {"NINJAIT_DATABASE_URL": database_url} if database_url else {}
    passphrase_file = tmp_path / "passphrase"
    passphrase_file.write_text(PASSPHRASE + "\n")
    fleet = None
    try:
        admin = Browser(app).login(world.people["a-organizationadmin"])
        token = admin.post("/api/v1/enrollment-tokens", json={"site_id": world.sites["a"], "max_uses": 50}).json()
        fleet = Fleet(app, token["token"], 12).start(threads=3)
        # Let the minute's mover put samples into DuckDB first, so the backup holds both stores.
        wait_until(lambda: "moved metric samples to the analytics store" in app.log(), timeout=150, every=1)
        acked_before = {t.agent.agent_id: set(t.acked) for t in fleet.agents}
        out = tmp_path / "drill.tar.gz.enc"
        started = time.monotonic()
        made = ninjait("backup", "--data-dir", str(data), "--passphrase-file", str(passphrase_file),
                       "--out", str(out), env=env)
        assert made.returncode == 0, made.stderr
        assert re.search(r"backup written to .*drill\.tar\.gz\.enc \(.*encrypted", made.stdout), made.stdout
        time.sleep(1)  # the writers went on during the backup and go on after it
        fleet.stop()
        assert fleet.batches_acked > 100, fleet.batches_acked
        assert time.monotonic() - started < 60
        live_fp = fingerprint(app)
    finally:
        if fleet is not None:
            fleet.stop()
        app.stop()

    checked = ninjait("backup", "verify", str(out), "--passphrase-file", str(passphrase_file))
    assert checked.returncode == 0, checked.stderr
    assert "integrity_check ok" in checked.stdout or BACKEND == "postgresql"
    manifest = manifest_of(out, PASSPHRASE)
    paths = {m["path"] for m in manifest["members"]}
    assert {"data/analytics.duckdb", "data/keys/secret.key", "data/keys/agent_signing.key", "data/tls/cert.pem",
            "data/tls/key.pem"} <= paths
    assert "data/queue.db" not in paths and not any(p.startswith("data/backups") for p in paths)

    restored = tmp_path / "restored"
    new_url = request.getfixturevalue("pg_server").new_database() if BACKEND == "postgresql" else ""
    if BACKEND == "postgresql":
        # Never over live data: the original database is not empty, so nothing happens at all.
        refused = ninjait("restore", str(out), "--passphrase-file", str(passphrase_file), "--data-dir",
                          str(restored), env={"NINJAIT_DATABASE_URL": database_url})
        assert refused.returncode != 0 and "is not empty" in refused.stderr and not restored.exists()
    done = ninjait("restore", str(out), "--passphrase-file", str(passphrase_file), "--data-dir", str(restored),
                   env={"NINJAIT_DATABASE_URL": new_url} if new_url else {})
    assert done.returncode == 0, done.stderr
    if BACKEND == "postgresql":
        assert "loaded the PostgreSQL dump" in done.stdout and not (restored / "postgresql-restore.dump").exists()
    assert (restored / "keys" / "secret.key").read_bytes() == (data / "keys" / "secret.key").read_bytes()

    original = open_database(Settings(data_dir=data, database_url=database_url))
    again = Appliance(restored, new_url).start()
    copy = open_database(Settings(data_dir=restored, database_url=new_url))
    try:
        # Same certificate: agents that pinned the old appliance trust the restored one.
        assert fingerprint(again) == live_fp
        for table in STILL_TABLES:
            assert digest(copy, table) == digest(original, table), table
        with copy.read() as c:
            last_audit = c.value("SELECT max(id) FROM audit_log")
        assert digest(copy, "audit_log", f"WHERE id <= {last_audit}") == digest(
            original, "audit_log", f"WHERE id <= {last_audit}")
        if BACKEND == "sqlite":
            with copy.read() as c:
                for table, count in manifest["tables"].items():
                    if table in ("hot_sample_batches",):
                        continue  # the restored appliance's mover may already have moved some
                    assert c.value(f"SELECT count(*) FROM {table}") == count, table

        # Every batch acknowledged before the backup began is in it, and each batch's samples are there
        # exactly once, across the hot table and DuckDB (the two stores were copied consistently).
        stored = batches_by_agent(copy)
        root = Browser(again).login(world.people["root"])  # a Super Admin: TOTP after the password
        devices = {d["hostname"]: d["id"] for d in root.get("/api/v1/devices").json()}
        assert len(devices) == 12
        for t in fleet.agents:
            claims = stored[t.agent.agent_id]  # the agent's last 100 to 200: older claims are pruned
            assert max(acked_before[t.agent.agent_id]) <= max(claims), t.hostname
            assert {s for s in acked_before[t.agent.agent_id] if s > max(claims) - RESEND_WINDOW} <= claims
            # An agent's batches are stored in order: the backup holds each one up to its newest claim, once.
            landed = {s for s in t.acked if s <= max(claims)} | (claims & set(t.unacked))
            assert raw_points(root, devices[t.hostname]) == Fleet.points_of(t, landed), t.hostname
        assert root.get("/settings/backups").status_code == 200

        # An agent carries on against the restored appliance with its old credentials.
        t = fleet.agents[0]
        with again.client() as client:
            body = {"seq": max(stored[t.agent.agent_id]) + 1, "sent_at": time.time(), "agent_version": "sim-1"}
            assert client.post("/agent/v1/checkin", json=body, headers=t.agent.auth).status_code == 200
        root.close()
    finally:
        copy.close()
        original.close()
        again.stop()
    audit = ninjait("audit", "verify", "--data-dir", str(restored),
                    env={"NINJAIT_DATABASE_URL": new_url} if new_url else {})
    assert audit.returncode == 0, audit.stdout + audit.stderr
