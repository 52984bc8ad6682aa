"""The audit log: what it records, filters, CSV export, and tamper evidence."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys

from tests.support.appliance import ROOT
from tests.support.identity import Browser


def test_actions_and_failures_are_recorded_with_who_where_and_request_id(world_app) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    admin = Browser(app).login(world.people["a-organizationadmin"])
    try:
        with app.client() as client:
            client.post("/login", data={"email": world.people["a-technician"].email, "password": "nope nope nope"})
        r = admin.post("/api/v1/organizations", json={"name": "=HYPERLINK(\"http://x\")"},
                       headers={"X-Request-ID": "audit-trace-1"})
        assert r.status_code == 201
        entries = admin.get("/api/v1/audit", params={"limit": 50}).json()
        created = next(e for e in entries if e["action"] == "organization.created")
        assert created["actor"] == world.people["a-organizationadmin"].email
        assert created["ip"] == "127.0.0.1" and created["request_id"] == "audit-trace-1"
        assert created["object_type"] == "organization" and created["object_id"] == str(r.json()["id"])
        assert created["summary"] == {"name": "=HYPERLINK(\"http://x\")"}
        failed = next(e for e in entries if e["action"] == "auth.login_failed")
        assert failed["actor"] == world.people["a-technician"].email
        assert {"auth.login", "auth.login_failed", "organization.created"} <= {e["action"] for e in entries}

        only_auth = admin.get("/api/v1/audit", params={"action": "auth.*"}).json()
        assert only_auth and all(e["action"].startswith("auth.") for e in only_auth)
        by_user = admin.get("/api/v1/audit", params={"user": world.people["a-organizationadmin"].email}).json()
        assert by_user and all(e["actor"] == world.people["a-organizationadmin"].email for e in by_user)
        bad_date = admin.get("/api/v1/audit", params={"since": "yesterday"})
        assert bad_date.status_code == 400 and "since" in bad_date.json()["detail"]

        export = admin.get("/api/v1/audit/export", params={"action": "organization.created"})
        assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
        assert "attachment" in export.headers["content-disposition"]
        rows = list(csv.reader(io.StringIO(export.text)))
        assert rows[0][:5] == ["id", "time", "actor", "ip", "action"]
        assert all(row[4] == "organization.created" for row in rows[1:])
        # Spreadsheet formulas are neutralised, not executed.
        assert not any(cell.startswith("=") for row in rows for cell in row)

        page = admin.get("/settings/audit?action=organization.created")
        assert page.status_code == 200 and "organization.created" in page.text
    finally:
        admin.close()


def test_another_tenant_sees_none_of_it(world_app) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    b = Browser(app).login(world.people["b-organizationadmin"])
    try:
        entries = b.get("/api/v1/audit", params={"limit": 1000}).json()
        a_emails = {p.email for k, p in world.people.items() if k.startswith("a-") or k == "root"}
        assert entries and not any(e["actor"] in a_emails for e in entries)
    finally:
        b.close()


def test_only_auditors_read_it(world_app) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    tech = Browser(app).login(world.people["a-technician"])
    try:
        assert tech.get("/api/v1/audit").status_code == 403
        assert tech.get("/settings/audit").status_code == 403
    finally:
        tech.close()


def verify(app) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    env = {k: v for k, v in os.environ.items() if not k.startswith("NINJAIT_")}
    env.update({k: v for k, v in app.env.items() if k in ("NINJAIT_DATABASE_URL",)})
    return subprocess.run([sys.executable, "-m", "ninjait", "audit", "verify", "--data-dir", str(app.data_dir)],
                          cwd=ROOT, env=env, capture_output=True, text=True)


def test_verify_passes_and_then_catches_tampering(world_app) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    ok = verify(app)
    assert ok.returncode == 0 and ok.stdout.startswith("ok: ") and "every hash chain intact" in ok.stdout

    from ninjait.core.db import open_database
    from ninjait.settings import Settings

    db = open_database(Settings(data_dir=app.data_dir, database_url=app.env.get("NINJAIT_DATABASE_URL", "")))
    try:
        target = db.write(lambda c: c.value("SELECT min(id) FROM audit_log WHERE action = 'auth.login'"))
        original = db.write(lambda c: c.value("SELECT actor FROM audit_log WHERE id = ?", (target,)))
        db.write(lambda c: c.execute("UPDATE audit_log SET actor = 'someone-else@x.test' WHERE id = ?", (target,)))
        bad = verify(app)
        assert bad.returncode == 1
        assert f"entry {target}: content was changed" in bad.stdout and "TAMPERED" in bad.stdout
        db.write(lambda c: c.execute("UPDATE audit_log SET actor = ? WHERE id = ?", (original, target)))
        assert verify(app).returncode == 0

        tenant_a = world.tenants["a"]
        ids = db.write(lambda c: [r["id"] for r in c.all(
            "SELECT id FROM audit_log WHERE tenant_id = ? ORDER BY id", (tenant_a,))])
        middle, newest = ids[1], ids[-1]
        for victim, expected in ((middle, "removed or reordered"), (newest, "newest entries of this chain are missing")):
            saved = db.write(lambda c, v=victim: c.one("SELECT * FROM audit_log WHERE id = ?", (v,)))
            db.write(lambda c, v=victim: c.execute("DELETE FROM audit_log WHERE id = ?", (v,)))
            gone = verify(app)
            assert gone.returncode == 1 and expected in gone.stdout, gone.stdout
            cols = list(saved)
            db.write(lambda c, s=saved: c.execute(
                f"INSERT INTO audit_log ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                [s[k] for k in cols]))
            assert verify(app).returncode == 0

        # Recomputing the chain with a plain hash does not help a forger: the key is not in the database.
        import hashlib
        row = db.write(lambda c: c.one("SELECT id, prev_hash FROM audit_log WHERE id = ?", (target,)))
        forged = hashlib.sha256((row["prev_hash"] + "forged").encode()).hexdigest()
        db.write(lambda c: c.execute("UPDATE audit_log SET hash = ? WHERE id = ?", (forged, target)))
        assert verify(app).returncode == 1
    finally:
        db.close()
